"""A small, isolated hub for router tests: its own department name (so its own raw and
delivery topics), its own agreements folder, DLQ, audit topic and consumer group; confluent-kafka
as the independent producer and consumer."""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from committed import read_committed
from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from identity import confluent_security, registry_config

from consumers.router.audit import AUDIT_SCHEMA
from consumers.router.service import RouterConfig
from hub.access.acls import HubTopics
from hub.access.broker import BrokerAccess
from hub.access.service import plan_access
from hub.credentials import CredentialStore
from hub.kafka import KafkaSecurity
from hub.quality.summary import SUMMARY_SCHEMA
from hub.receipts import RECEIPT_SCHEMA
from hub.schemas.catalog import standalone_schema
from hub.serde import RegistryClient

REPO = Path(__file__).resolve().parents[2]
SOURCE_SCHEMA = REPO / "schemas" / "buergeramt" / "resident.moved" / "v1.avsc"
SECRET = b"test-master-secret-0123456789abcdef"

# Planted personal data: none of it may appear in a delivery unless an agreement keeps it.
CANARY = {
    "resident_id": "CANARY-ID-4711",
    "street": "Kanarienvogelweg",
    # Not a substring a base64 pseudonym could happen to contain: "½" and a space are no base64.
    "house_number": "99 ½",
    "old_street": "Altkanarienstrasse",
    "phone": "+49-2381-CANARY",
}

ORDNUNGSAMT = """\
id: {dept}-ordnungsamt
subscriber: ordnungsamt
source: {source}
purpose: Zustellung von Bescheiden an die aktuelle Anschrift
legal_basis: "§ 34 Abs. 1 BMG"
valid_until: 2099-12-31
where: {{new_address.city: {{eq: Hamm}}}}
fields:
  resident_id: pseudonymize
  birth_date: {{generalize: year}}
  new_address.postcode: keep
  new_address.city: keep
  moved_at: {{truncate: day}}
"""

STATISTIK = """\
id: {dept}-statistik
subscriber: statistik
source: {source}
purpose: Wanderungsstatistik nach Stadtbezirken
legal_basis: "§ 4 Abs. 1 StatG NRW"
valid_until: 2099-12-31
fields:
  resident_id: pseudonymize
  birth_date: {{age_band: 10}}
  new_address.postcode: {{postcode_prefix: 3}}
  residence_type: keep
"""


def resident(i: int, *, city: str = "Hamm", **extra: Any) -> dict[str, Any]:
    record = {
        "resident_id": f"{CANARY['resident_id']}-{i}",
        "occurred_at": datetime.now(UTC),
        "moved_at": datetime(2026, 11, 2, 10, 30, tzinfo=UTC),
        "birth_date": date(1980 + i % 30, 5, 17),
        "old_address": {
            "street": CANARY["old_street"],
            "house_number": "1",
            "postcode": "59063",
            "city": "Hamm",
        },
        "new_address": {
            "street": CANARY["street"],
            "house_number": CANARY["house_number"],
            "postcode": "59077",
            "city": city,
        },
        "residence_type": "MAIN",
    }
    record.update(extra)
    return record


@dataclass
class World:
    bootstrap: str
    registry_url: str
    root: Path
    dept: str = field(default_factory=lambda: "t" + uuid.uuid4().hex[:10])
    router: KafkaSecurity | None = None  # governed: the router runs as hub-router, under ACLs

    def __post_init__(self) -> None:
        self.schemas_dir = self.root / "schemas"
        self.agreements_dir = self.root / "catalog" / "agreements"
        self.agreements_dir.mkdir(parents=True)
        subject_dir = self.schemas_dir / self.dept / "resident.moved"
        subject_dir.mkdir(parents=True)
        # Standalone (the shared types it names written out): this tree has no _types/, and
        # the Confluent serializer below takes the schema text as it is.
        (subject_dir / "v1.avsc").write_text(json.dumps(standalone_schema(SOURCE_SCHEMA)))
        self.source = f"{self.dept}.resident.moved"
        self.dlq = f"{self.dept}.dlq"
        self.audit = f"{self.dept}.audit"
        self.receipts = f"{self.dept}.receipts"
        self.quality = f"{self.dept}.quality"
        self.agreements = f"{self.dept}.agreements"
        self.group = f"{self.dept}-router"
        # The world's feature views publish (and the portal reads) under a prefix of its own.
        self.features_prefix = f"hub.features.{self.dept}."
        self._registry = SchemaRegistryClient(registry_config(self.registry_url))
        self._producer = Producer(
            {
                "bootstrap.servers": self.bootstrap,
                **confluent_security(),
                "enable.idempotence": True,
            }
        )

    def close(self) -> None:
        """Let go of the world's producer while the broker still runs (a module's fixture value
        lives as long as the session: its producer would call a stopped broker)."""
        del self._producer

    # -- access -------------------------------------------------------------------------------
    def govern(self, admin: KafkaSecurity, router: KafkaSecurity, *, apply: bool = True) -> World:
        """Run this world's router as ``hub-router`` under the ACLs its catalog implies (the
        world's department, its subscribers, its agreements), applied with a ledger of its own;
        every later ``agree`` applies them again, as an operator's `hub access apply` would.
        ``apply=False``: nobody applies them but the router itself (``hub router run``)."""
        (self.agreements_dir.parent / "departments.yaml").write_text(
            f"departments:\n  {self.dept}: {{contact: it@hamm.de}}\n"
            "subscribers:\n  ordnungsamt: {contact: oa@hamm.de}\n"
            "  statistik: {contact: statistik@hamm.de}\n"
        )
        self._admin = admin
        self.router = router
        self._auto_apply = apply
        self.access_topic = f"hub.access.{self.dept}"
        self._access = BrokerAccess(self.bootstrap, admin, ledger_topic=self.access_topic)
        self._store = CredentialStore(self.root / "credentials")
        assert router.credentials is not None
        self.router_credentials = self._store.write(router.credentials)
        # The audit subject of a test department is nobody's but the admin's in the registry's
        # principal register: the admin registers it, the router then only looks it up.
        with RegistryClient(self.registry_url, auth=admin.credentials) as client:
            client.register(f"{self.audit}-value", AUDIT_SCHEMA)
            client.register(f"{self.receipts}-value", RECEIPT_SCHEMA)
            client.register(f"{self.quality}-value", SUMMARY_SCHEMA)
        if apply:
            self.apply_access()
        return self

    def apply_access(self) -> None:
        topics = HubTopics(
            dlq=self.dlq,
            audit=self.audit,
            receipts=self.receipts,
            quality=self.quality,
            agreements=self.agreements,
            router_group=self.group,
            features_prefix=self.features_prefix,
        )
        plan = plan_access(self.agreements_dir.parent, self._access, topics=topics).plan
        self._access.apply(plan, self._store)

    # -- catalog ------------------------------------------------------------------------------
    def schema(self, version: int = 1) -> dict[str, Any]:
        path = self.schemas_dir / self.dept / "resident.moved" / f"v{version}.avsc"
        return json.loads(path.read_text())

    def add_v2_with_phone(self) -> None:
        """v2 adds a direct identifier no agreement names (deny by default must hold)."""
        v2 = copy.deepcopy(self.schema(1))
        v2["fields"].append(
            {
                "name": "phone",
                "type": ["null", "string"],
                "default": None,
                "doc": "Telefonnummer.",
                "x-pii": "direct",
            }
        )
        (self.schemas_dir / self.dept / "resident.moved" / "v2.avsc").write_text(json.dumps(v2))

    def agree(self, name: str, template: str, **replace: str) -> Path:
        text = template.format(dept=self.dept, source=self.source)
        for old, new in replace.items():
            text = text.replace(old, new)
        path = self.agreements_dir / f"{name}.yaml"
        path.write_text(text)
        if self.router is not None and self._auto_apply:
            self.apply_access()
        return path

    def delivery_topic(self, subscriber: str) -> str:
        return f"deliver.{subscriber}.{self.source}"

    def config(self, **overrides: Any) -> RouterConfig:
        values: dict[str, Any] = {
            "bootstrap": self.bootstrap,
            "registry_url": self.registry_url,
            "agreements_dir": self.agreements_dir,
            "schemas_dir": self.schemas_dir,
            "group": self.group,
            "dlq_topic": self.dlq,
            "audit_topic": self.audit,
            "receipts_topic": self.receipts,
            "quality_topic": self.quality,
            "agreements_topic": self.agreements,
            "watch_interval": 0.5,
        }
        if self.router is not None:
            values["security"] = self.router
        values.update(overrides)
        return RouterConfig(**values)

    def env(self) -> dict[str, str]:
        """The same world for `hub router run` in a subprocess."""
        return {
            "HUB_BOOTSTRAP_SERVERS": self.bootstrap,
            "HUB_REGISTRY_URL": self.registry_url,
            "HUB_CATALOG_DIR": str(self.agreements_dir.parent),
            "HUB_SCHEMAS_DIR": str(self.schemas_dir),
            "HUB_ROUTER_GROUP": self.group,
            "HUB_DLQ_TOPIC": self.dlq,
            "HUB_AUDIT_TOPIC": self.audit,
            "HUB_RECEIPTS_TOPIC": self.receipts,
            "HUB_QUALITY_TOPIC": self.quality,
            "HUB_AGREEMENTS_TOPIC": self.agreements,
            "HUB_ROUTER_METRICS_PORT": "0",
            "HUB_ROUTER_WORKERS": "0",  # tests that want routing processes say so
            **(
                {
                    "HUB_KAFKA_USERNAME": "hub-router",
                    "HUB_KAFKA_CREDENTIALS_FILE": str(self.router_credentials),
                }
                if self.router is not None
                else {}
            ),
        }

    # -- producing ----------------------------------------------------------------------------
    def produce(
        self,
        records: list[dict[str, Any]],
        version: int = 1,
        headers: list[dict[str, bytes]] | None = None,
    ) -> None:
        """Encode with Confluent's own serializer (registering under <topic>-value).
        ``headers``: per record, headers to set or replace (a planted ce_id, flags)."""
        serializer = AvroSerializer(self._registry, json.dumps(self.schema(version)))
        ctx = SerializationContext(self.source, MessageField.VALUE)
        for n, record in enumerate(records):
            extra = headers[n] if headers else {}
            self._producer.produce(
                self.source,
                serializer(record, ctx),
                key=record["resident_id"].encode(),
                headers=[
                    ("ce_specversion", b"1.0"),
                    ("ce_id", extra.get("ce_id") or uuid.uuid4().hex.encode()),
                    ("ce_source", b"/hamm/buergeramt/test"),
                    ("ce_type", b"de.hamm.buergeramt.resident.moved"),
                    ("ce_subject", record["resident_id"].encode()),  # personal: must not pass
                    ("x-internal-user", b"sachbearbeiter-7"),
                    *[(k, v) for k, v in extra.items() if k != "ce_id"],
                ],
            )
        assert self._producer.flush(30) == 0

    def produce_raw(self, value: bytes | None, key: bytes = b"raw-key") -> None:
        self._producer.produce(self.source, value, key=key)
        assert self._producer.flush(30) == 0

    # -- reading ------------------------------------------------------------------------------
    def read(self, topic: str, expected: int, timeout: float = 60.0, settle: float = 1.0) -> list:
        """Committed records of ``topic`` (see ``committed.read_committed``)."""
        return read_committed(self.bootstrap, topic, expected, timeout=timeout, settle=settle)
