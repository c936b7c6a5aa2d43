"""Publishing the schema catalog: every version in order, levels set, idempotent."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hub.registry.api import create_app
from hub.registry.memory_log import MemoryLog
from hub.registry.publish import PublishError, publish_catalog
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
    lines = publish_catalog(catalog, "http://testserver", client=client)
    versions = sum(len(s.versions) for s in catalog.values())
    assert sum(": registered, id" in line for line in lines) == versions
    assert lines[-1].startswith(f"{versions + len(catalog)} change(s) published")
    for subject in catalog.values():
        assert client.versions(subject.subject) == [f.version for f in subject.versions]
        assert client.subject_compatibility(subject.subject) == subject.compatibility.upper()
    written = len(log.records)

    again = publish_catalog(catalog, "http://testserver", client=client)
    assert again[-1].startswith("nothing changed")
    assert sum("already registered" in line for line in again) == versions
    assert sum("(unchanged)" in line for line in again) == len(catalog)
    assert len(log.records) == written


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
    assert lines[0] == "test.thing.happened-value: compatibility unset -> NONE"
    assert client.versions("test.thing.happened-value") == [1, 2]
