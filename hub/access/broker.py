"""The broker side of access: read and change ACLs and SCRAM users with the Admin API, and keep
the ledger of what the hub created in the compacted topic ``hub.access``.

Blocking (confluent-kafka's admin client); async callers run it in a thread. Always as a super
user (``hub-admin``): nobody else may change ACLs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

import orjson
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

from hub.access.acls import CLUSTER, GROUP, LITERAL, PREFIXED, TOPIC, TXN, Binding
from hub.access.plan import Ledger, Plan
from hub.credentials import Credentials, CredentialStore, new_password
from hub.kafka import KafkaSecurity
from hub.logs import RDKAFKA

log = logging.getLogger("hub.access")

SCRAM_ITERATIONS = 8192
LEDGER_KEY = b"ledger"
TIMEOUT = 30.0

_RESOURCE = {
    TOPIC: ResourceType.TOPIC,
    GROUP: ResourceType.GROUP,
    TXN: ResourceType.TRANSACTIONAL_ID,
    CLUSTER: ResourceType.BROKER,
}
_RESOURCE_BACK = {v: k for k, v in _RESOURCE.items()}
_PATTERN = {LITERAL: ResourcePatternType.LITERAL, PREFIXED: ResourcePatternType.PREFIXED}
_PATTERN_BACK = {v: k for k, v in _PATTERN.items()}


def _operation(name: str) -> AclOperation:
    return AclOperation[name.upper().replace("-", "_")]


class AccessError(RuntimeError):
    """The broker refused or failed an access change; the message says which."""


def to_acl(binding: Binding) -> AclBinding:
    return AclBinding(
        _RESOURCE[binding.resource_type],
        binding.name,
        _PATTERN[binding.pattern],
        f"User:{binding.principal}",
        binding.host,
        _operation(binding.operation),
        AclPermissionType.ALLOW,
    )


def from_acl(acl: AclBinding) -> Binding | None:
    """The binding of an ACL the hub can express (allow, a User principal); else None."""
    if acl.permission_type != AclPermissionType.ALLOW or not acl.principal.startswith("User:"):
        return None
    resource = _RESOURCE_BACK.get(acl.restype)
    pattern = _PATTERN_BACK.get(acl.resource_pattern_type)
    operation = acl.operation.name.lower().replace("_", "-")
    if resource is None or pattern is None:
        return None
    try:
        return Binding(
            acl.principal.removeprefix("User:"), resource, pattern, acl.name, operation, acl.host
        )
    except ValueError:  # an operation the hub never grants (e.g. ALTER): still not ours
        return None


@dataclass
class BrokerAccess:
    """``with BrokerAccess(bootstrap, admin_security) as access: access.apply(plan, store)``."""

    bootstrap: str
    security: KafkaSecurity
    ledger_topic: str = "hub.access"

    def __post_init__(self) -> None:
        self._config: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap,
            **self.security.confluent(),
            # librdkafka's reconnect errors through logging (its burst filter), not to stderr
            "logger": RDKAFKA,
        }
        self._admin = AdminClient(self._config)

    def __enter__(self) -> BrokerAccess:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    # -- reading --------------------------------------------------------------------------------
    def acls(self) -> list[tuple[Binding | None, AclBinding]]:
        """Every ACL on the broker (with its binding where the hub can express it)."""
        flt = AclBindingFilter(
            ResourceType.ANY,
            None,
            ResourcePatternType.ANY,
            None,
            None,
            AclOperation.ANY,
            AclPermissionType.ANY,
        )
        try:
            found = self._admin.describe_acls(flt, request_timeout=TIMEOUT).result(timeout=TIMEOUT)
        except KafkaException as exc:
            raise AccessError(f"cannot list the broker's ACLs: {_reason(exc)}") from None
        return [(from_acl(a), a) for a in found]

    def bindings(self) -> list[Binding]:
        return [b for b, _ in self.acls() if b is not None]

    def users(self) -> list[str]:
        try:
            described = self._admin.describe_user_scram_credentials(request_timeout=TIMEOUT).result(
                timeout=TIMEOUT
            )
        except KafkaException as exc:
            raise AccessError(f"cannot list the broker's SCRAM users: {_reason(exc)}") from None
        return sorted(described)

    def ledger(self) -> Ledger:
        """The last ledger written to ``hub.access`` (empty when the topic does not exist)."""
        consumer = Consumer(
            {
                **self._config,
                "group.id": "hub-admin.access",  # never committed: assign() reads without a group
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
            }
        )
        try:
            metadata = consumer.list_topics(self.ledger_topic, timeout=TIMEOUT)
            topic = metadata.topics.get(self.ledger_topic)
            if topic is None or topic.error is not None or not topic.partitions:
                return Ledger()
            low, high = _watermarks(consumer, TopicPartition(self.ledger_topic, 0))
            if high <= low:
                return Ledger()
            consumer.assign([TopicPartition(self.ledger_topic, 0, low)])
            last = None
            deadline = time.monotonic() + TIMEOUT
            while time.monotonic() < deadline:
                message = consumer.poll(1.0)
                if message is None or message.error():
                    continue
                if message.key() == LEDGER_KEY:
                    last = message.value()
                if message.offset() >= high - 1:
                    break
            else:
                raise AccessError(f"cannot read the ledger {self.ledger_topic} within {TIMEOUT} s")
            return Ledger.from_json(orjson.loads(last)) if last else Ledger()
        finally:
            consumer.close()

    # -- changing -------------------------------------------------------------------------------
    def _ensure_ledger_topic(self) -> None:
        topic = NewTopic(self.ledger_topic, 1, 1, config={"cleanup.policy": "compact"})
        for future in self._admin.create_topics([topic], request_timeout=TIMEOUT).values():
            try:
                future.result(timeout=TIMEOUT)
            except KafkaException as exc:
                if exc.args[0].name() != "TOPIC_ALREADY_EXISTS":
                    raise AccessError(
                        f"cannot create {self.ledger_topic}: {_reason(exc)}"
                    ) from None

    def write_ledger(self, ledger: Ledger) -> None:
        self._ensure_ledger_topic()
        producer = Producer({**self._config, "acks": "all", "enable.idempotence": True})
        errors: list[str] = []
        producer.produce(
            self.ledger_topic,
            key=LEDGER_KEY,
            value=orjson.dumps(ledger.to_json()),
            on_delivery=lambda err, _msg: errors.append(str(err)) if err else None,
        )
        if producer.flush(TIMEOUT) or errors:
            raise AccessError(f"cannot write the ledger {self.ledger_topic}: {errors or 'timeout'}")

    def upsert_users(self, credentials: Iterable[Credentials]) -> None:
        upserts = [
            UserScramCredentialUpsertion(
                c.username,
                ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS),
                c.password.encode(),
            )
            for c in credentials
        ]
        if upserts:
            self._wait(self._admin.alter_user_scram_credentials(upserts), "set the credential of")

    def delete_users(self, users: Iterable[str]) -> None:
        deletions = [UserScramCredentialDeletion(u, ScramMechanism.SCRAM_SHA_512) for u in users]
        if deletions:
            self._wait(self._admin.alter_user_scram_credentials(deletions), "delete the user")

    def create_acls(self, bindings: Iterable[Binding]) -> None:
        bindings = list(bindings)
        acls = [to_acl(b) for b in bindings]
        if acls:
            self._wait(self._admin.create_acls(acls, request_timeout=TIMEOUT), "create the ACL")
            self._settle(present={b.key for b in bindings})

    def delete_acls(self, bindings: Iterable[Binding]) -> None:
        bindings = list(bindings)
        # An exact filter per binding: deletes that ACL and nothing else.
        filters = [
            AclBindingFilter(
                a.restype,
                a.name,
                a.resource_pattern_type,
                a.principal,
                a.host,
                a.operation,
                a.permission_type,
            )
            for a in (to_acl(b) for b in bindings)
        ]
        if filters:
            self._wait(self._admin.delete_acls(filters, request_timeout=TIMEOUT), "delete the ACL")
            self._settle(absent={b.key for b in bindings})

    def _settle(
        self, present: AbstractSet[str] = frozenset(), absent: AbstractSet[str] = frozenset()
    ) -> None:
        """Wait until the broker's authorizer shows what the controller committed.

        KRaft brokers apply ACL changes from the metadata log asynchronously, so a listing
        right after CreateAcls may not show them yet; reading our own writes keeps
        ``apply`` followed by ``show`` (or ``plan``) consistent."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            keys = {b.key for b in self.bindings()}
            if present <= keys and not (absent & keys):
                return
            if time.monotonic() > deadline:
                missing = sorted(present - keys) + sorted(absent & keys)
                raise AccessError(
                    f"the broker did not show the ACL change within {TIMEOUT} s: {missing[:3]}"
                )
            time.sleep(0.1)

    @staticmethod
    def _wait(futures: dict, what: str) -> None:
        failures = []
        for item, future in futures.items():
            try:
                future.result(timeout=TIMEOUT)
            except KafkaException as exc:
                failures.append(f"cannot {what} {item}: {_reason(exc)}")
        if failures:
            raise AccessError("; ".join(failures))

    def apply(self, plan: Plan, store: CredentialStore) -> list[str]:
        """Make the plan so; new users get a generated password in ``store`` (or keep the one
        the store already has, so a re-created broker keeps its principals' credentials).
        Returns the principals whose credential was created."""
        created: list[str] = []
        credentials = []
        for user in plan.add_users:
            if store.exists(user):
                credentials.append(store.read(user))
            else:
                credential = Credentials(user, new_password())
                store.write(credential, security_protocol=self.security.protocol)
                credentials.append(credential)
                created.append(user)
        self.upsert_users(credentials)
        self.create_acls(plan.add)
        self.delete_acls(plan.remove)
        self.delete_users(plan.remove_users)
        self.write_ledger(plan.ledger)
        log.info(
            "access applied",
            extra={
                "acls_added": len(plan.add),
                "acls_removed": len(plan.remove),
                "users_added": list(plan.add_users),
                "users_removed": list(plan.remove_users),
            },
        )
        return created

    def set_password(self, credentials: Credentials) -> None:
        self.upsert_users([credentials])


def _reason(exc: KafkaException) -> str:
    error = exc.args[0] if exc.args else exc
    return getattr(error, "str", lambda: str(error))()


def _watermarks(consumer: Consumer, partition: TopicPartition) -> tuple[int, int]:
    """The partition's offsets; a broker that has just started may not have elected its leader
    yet (NOT_LEADER_FOR_PARTITION, retriable): asked again for a while, not failed at once."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            return consumer.get_watermark_offsets(partition, timeout=TIMEOUT)
        except KafkaException as error:
            code = error.args[0].code() if error.args else None
            if code not in _NOT_YET or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


_NOT_YET = {
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError._TIMED_OUT,
    KafkaError._TRANSPORT,
}
