"""Publishing the schema catalog: every version in order, levels set, idempotent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hub.registry.api import create_app
from hub.registry.memory_log import MemoryLog
from hub.registry.publish import PublishError, publish_catalog, type_order
from hub.registry.service import Registry
from hub.schemas.catalog import SchemaFile, Subject, default_schemas_dir, load_catalog
from hub.serde import RegistryClient


@pytest.fixture
def log() -> MemoryLog:
    return MemoryLog()


@pytest.fixture
def client(log: MemoryLog) -> RegistryClient:
    return RegistryClient("http://testserver", client=TestClient(create_app(Registry(log))))


def test_publish_registers_every_version_then_changes_nothing(
    client: RegistryClient, log: MemoryLog
) -> None:
    catalog = load_catalog(default_schemas_dir())
    subjects = [*catalog.types.values(), *catalog.values()]
    versions = sum(len(s.versions) for s in subjects)
    lines = publish_catalog(catalog, "http://testserver", client=client)
    assert sum(": registered, id" in line for line in lines) == versions
    assert lines[-1].startswith(f"{versions + len(subjects) + 1} change(s) published")
    for subject in subjects:
        assert client.versions(subject.subject) == [f.version for f in subject.versions]
        assert client.subject_compatibility(subject.subject) == subject.compatibility.upper()
    written = len(log.records)

    again = publish_catalog(catalog, "http://testserver", client=client)
    assert again[-1].startswith("nothing changed")
    assert sum("already registered" in line for line in again) == versions
    assert sum("(unchanged)" in line for line in again) == len(subjects) + 1  # and the global level
    assert len(log.records) == written


def test_the_shared_types_go_first_and_schemas_carry_their_references(
    client: RegistryClient,
) -> None:
    catalog = load_catalog(default_schemas_dir())
    lines = publish_catalog(catalog, "http://testserver", client=client)
    first_event = next(i for i, line in enumerate(lines) if "-value" in line)
    assert {line.split(":")[0] for line in lines[:first_event]} >= {
        "de.hamm.types.Address",
        "de.hamm.types.GeoPoint",
        "de.hamm.types.infrastructure.GeoPoint",
    }
    assert any(
        line.startswith("buergeramt.resident.moved-value v2")
        and line.endswith("references de.hamm.types.Address v1")
        for line in lines
    )
    moved = catalog["buergeramt.resident.moved"].latest
    registered = client.latest(moved.subject)
    assert registered.references == moved.references
    assert json.loads(registered.raw_schema) == moved.raw  # stored as written
    assert json.loads(registered.schema) == moved.schema  # read back standalone
    assert client.version("de.hamm.types.Address", 1).references == ()


def _subject(*schemas: dict, compatibility: str = "BACKWARD") -> Subject:
    files = tuple(
        SchemaFile(Path(f"schemas/test/thing.happened/v{n}.avsc"), "test", "thing.happened", n, s)
        for n, s in enumerate(schemas, start=1)
    )
    return Subject("test.thing.happened", "test.thing.happened-value", compatibility, files)


def test_refused_version_names_the_file(client: RegistryClient) -> None:
    v1 = {"type": "record", "name": "T", "fields": [{"name": "a", "type": "string"}]}
    v2 = {"type": "record", "name": "T", "fields": [{"name": "b", "type": "string"}]}
    with pytest.raises(PublishError, match=r"v2 \(schemas/test/thing.happened/v2.avsc\)"):
        publish_catalog({"t": _subject(v1, v2)}, "http://testserver", client=client)


def test_subject_level_decides_before_registration(client: RegistryClient) -> None:
    v1 = {"type": "record", "name": "T", "fields": [{"name": "a", "type": "string"}]}
    v2 = {"type": "record", "name": "T", "fields": [{"name": "b", "type": "string"}]}
    lines = publish_catalog(
        {"t": _subject(v1, v2, compatibility="NONE")}, "http://testserver", client=client
    )
    assert lines[0] == "global: compatibility BACKWARD -> BACKWARD_TRANSITIVE"
    assert lines[1] == "test.thing.happened-value: compatibility unset -> NONE"
    assert client.versions("test.thing.happened-value") == [1, 2]


# --- shared types -----------------------------------------------------------------------------


def _type(name: str, *fields: dict, **extra: object) -> dict:
    return {"type": "record", "name": name, "doc": f"{name}.", "fields": list(fields), **extra}


def _field(name: str, avro_type: object, **extra: object) -> dict:
    return {"name": name, "type": avro_type, "doc": f"{name}.", "x-pii": "none", **extra}


def _tree(root: Path) -> Path:
    """Address v1 and v2, GeoPoint, Place (Address v2 and GeoPoint), Area (Place), and an
    event using Area and Address v1."""
    files = {
        "_types/de.hamm.types.Address/v1.avsc": _type(
            "de.hamm.types.Address", _field("street", "string")
        ),
        "_types/de.hamm.types.Address/v2.avsc": _type(
            "de.hamm.types.Address",
            _field("street", "string"),
            _field("city", "string", default="Hamm"),
        ),
        "_types/de.hamm.types.GeoPoint/v1.avsc": _type(
            "de.hamm.types.GeoPoint", _field("lat", "double"), _field("lon", "double")
        ),
        "_types/de.hamm.types.Place/v1.avsc": _type(
            "de.hamm.types.Place",
            _field("address", "de.hamm.types.Address"),
            _field("point", "de.hamm.types.GeoPoint"),
            **{"x-type-versions": {"de.hamm.types.Address": 2}},
        ),
        "_types/de.hamm.types.Area/v1.avsc": _type(
            "de.hamm.types.Area", _field("centre", "de.hamm.types.Place")
        ),
        "test/thing.happened/v1.avsc": _type(
            "de.hamm.test.ThingHappened",
            _field("id", "string"),
            _field("area", "de.hamm.types.Area"),
        ),
    }
    for relative, schema in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(schema), encoding="utf-8")
    return root


def test_type_order_puts_dependencies_and_earlier_versions_first(tmp_path: Path) -> None:
    catalog = load_catalog(_tree(tmp_path))
    order = [(f.name.rpartition(".")[2], f.version) for f in type_order(catalog.types)]
    assert sorted(order) == sorted(
        [("Address", 1), ("Address", 2), ("GeoPoint", 1), ("Place", 1), ("Area", 1)]
    )
    position = {item: index for index, item in enumerate(order)}
    assert position[("Address", 1)] < position[("Address", 2)] < position[("Place", 1)]
    assert position[("GeoPoint", 1)] < position[("Place", 1)] < position[("Area", 1)]


def test_publish_registers_types_with_their_references_and_reads_back_standalone(
    tmp_path: Path, client: RegistryClient
) -> None:
    catalog = load_catalog(_tree(tmp_path))
    lines = publish_catalog(catalog, "http://testserver", client=client)
    assert lines[-1].startswith("12 change(s)")  # global, 5 type versions, 1 event, 5 levels
    assert any(
        line.startswith("de.hamm.types.Place v1 (")
        and line.endswith("references de.hamm.types.Address v2, de.hamm.types.GeoPoint v1")
        for line in lines
    )
    assert client.versions("de.hamm.types.Address") == [1, 2]
    thing = catalog["test.thing.happened"].latest
    registered = client.latest("test.thing.happened-value")
    assert registered.references == thing.references
    assert [r.name for r in registered.references] == ["de.hamm.types.Area"]
    assert json.loads(registered.schema) == thing.schema
    fresh = RegistryClient("http://testserver", client=client._http)
    assert json.loads(fresh.schema_by_id(registered.id)) == thing.schema
    area = catalog.types["de.hamm.types.Area"].latest
    assert json.loads(fresh.latest("de.hamm.types.Area").schema) == area.schema
    assert publish_catalog(catalog, "http://testserver", client=client)[-1].startswith(
        "nothing changed"
    )


def test_a_refused_type_version_names_its_file(tmp_path: Path, client: RegistryClient) -> None:
    root = _tree(tmp_path)
    breaking = _type("de.hamm.types.Address", _field("street", "string"), _field("n", "int"))
    (root / "_types/de.hamm.types.Address/v2.avsc").write_text(json.dumps(breaking))
    with pytest.raises(
        PublishError, match=r"de\.hamm\.types\.Address v2 \(.*_types/de\.hamm\.types\.Address/v2"
    ):
        publish_catalog(load_catalog(root), "http://testserver", client=client)


def _as_before_the_shared_types(node):
    """A standalone schema spelled as the catalog was before schemas/_types: each shared type
    written out in the department's namespace, with a doc of its own."""
    if isinstance(node, list):
        return [_as_before_the_shared_types(n) for n in node]
    if isinstance(node, str):
        return node.rpartition(".")[2] if node.startswith("de.hamm.types.") else node
    if not isinstance(node, dict):
        return node
    out = dict(node)
    if node.get("type") == "record" and str(node.get("name", "")).startswith("de.hamm.types."):
        out["name"] = node["name"].rpartition(".")[2]
        out["doc"] = "Anschrift, wie sie jede Abteilung selbst beschrieb."
    for key in ("type", "items", "values"):
        if key in node:
            out[key] = _as_before_the_shared_types(node[key])
    if isinstance(node.get("fields"), list):
        out["fields"] = [
            {**f, "type": _as_before_the_shared_types(f["type"])} for f in node["fields"]
        ]
    return out


def test_versions_registered_before_the_shared_types_are_left_as_they_are(
    client: RegistryClient, log: MemoryLog
) -> None:
    catalog = load_catalog(default_schemas_dir())
    subject = catalog["buergeramt.resident.moved"]
    for schema_file in subject.versions:  # what an older checkout published
        client.set_compatibility("NONE", subject.subject)
        client.register(subject.subject, _as_before_the_shared_types(schema_file.schema))
    before = client.versions(subject.subject)
    lines = publish_catalog(catalog, "http://testserver", client=client)
    assert client.versions(subject.subject) == before
    assert any("written as before the shared types" in line for line in lines)
    # A version whose fields differ is no other spelling: it would be registered anew.
    again = publish_catalog(catalog, "http://testserver", client=client)
    assert again[-1].startswith("nothing changed")
