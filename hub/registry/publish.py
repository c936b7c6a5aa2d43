"""Publish the schema catalog (``schemas/``) to a registry: the shared types first (each a
subject named by its full name, with its compatibility level), then every event schema with
its ``references``, every version in order. Idempotent: what is already there (looked up with
its references) is left alone and said so.

It authenticates like every registry client (``auth``, else HUB_REGISTRY_BASIC_AUTH_USER_INFO
or this process's Kafka principal). Setting compatibility levels is ``hub-admin``'s right, so
publishing the whole catalog is the admin's job: without HUB_KAFKA_USERNAME it publishes as
``hub-admin`` (its local credential file).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from hub.credentials import Credentials
from hub.registry.canonical import identity
from hub.schemas.naming import DEFAULT_COMPATIBILITY
from hub.schemas.references import Reference, order_dependencies
from hub.serde.client import DEFAULT_AUTH, RegistryClient, RegistryError

HUB_DEFAULT_COMPATIBILITY = DEFAULT_COMPATIBILITY  # BACKWARD_TRANSITIVE, as in schemas/
PUBLISHER = "hub-admin"  # sets every subject's compatibility level, which only the admin may

if TYPE_CHECKING:
    from hub.schemas.catalog import Subject
    from hub.schemas.shared_types import SharedType, TypeFile


class PublishError(RuntimeError):
    """A schema file could not be published; the message names the file and the reason."""


def publish_catalog(
    catalog: Mapping[str, Subject],
    registry_url: str,
    *,
    client: RegistryClient | None = None,
    auth: Credentials | None = DEFAULT_AUTH,
) -> list[str]:
    """Register ``catalog`` at ``registry_url``; one line per subject setting and version.

    The shared types (``catalog.types`` of ``load_catalog``) go first, each version after the
    types it references, so every reference names a version the registry already holds.
    Raises PublishError naming the schema file (or subject) when the registry refuses a
    version or a setting (401/403 included: the message names the principal).
    """
    lines: list[str] = []
    changes = 0
    own = client is None
    client = client or RegistryClient(registry_url, auth=auth, principal=PUBLISHER)
    types: Mapping[str, SharedType] = getattr(catalog, "types", {})
    try:
        changes += _publish_global_level(client, lines)
        levels_set: set[str] = set()
        for type_file in type_order(types):
            shared = types[type_file.name]
            if shared.subject not in levels_set:
                levels_set.add(shared.subject)
                changes += _publish_level(client, shared.subject, shared.compatibility, lines)
            changes += _publish_version(client, type_file.subject, type_file, lines)
        for topic in sorted(catalog):
            subject = catalog[topic]
            changes += _publish_level(client, subject.subject, subject.compatibility, lines)
            for schema_file in subject.versions:
                changes += _publish_version(client, subject.subject, schema_file, lines)
    finally:
        if own:
            client.close()
    lines.append(
        f"{changes} change(s) published to {registry_url}"
        if changes
        else f"nothing changed: {registry_url} already holds the catalog"
    )
    return lines


def type_order(types: Mapping[str, SharedType]) -> list[TypeFile]:
    """Every version of every shared type, each after the versions it references and after
    its own predecessor (so the registry numbers them as the catalog does)."""
    files = {v.reference: v for t in types.values() for v in t.versions}
    needs: dict[Reference, Sequence[Reference]] = {}
    for ref, type_file in files.items():
        before = [Reference(ref.name, ref.subject, ref.version - 1)] if ref.version > 1 else []
        needs[ref] = [*before, *type_file.references]
    return [files[ref] for ref in order_dependencies(sorted(files), needs) if ref in files]


def _publish_global_level(client: RegistryClient, lines: list[str]) -> int:
    """The hub's own default for subjects without a level of their own (the router's
    delivery subjects, the feature views): stricter than the registry's Confluent default."""
    try:
        current = client.compatibility()
        if current == HUB_DEFAULT_COMPATIBILITY:
            lines.append(f"global: compatibility {current} (unchanged)")
            return 0
        client.set_compatibility(HUB_DEFAULT_COMPATIBILITY)
    except RegistryError as exc:
        raise PublishError(f"global compatibility: {exc}") from exc
    lines.append(f"global: compatibility {current} -> {HUB_DEFAULT_COMPATIBILITY}")
    return 1


def _publish_level(client: RegistryClient, name: str, wanted: str, lines: list[str]) -> int:
    # The level first: registering v2 must be judged by the subject's level, not the global one.
    wanted = wanted.upper()
    try:
        current = client.subject_compatibility(name)
    except RegistryError as exc:
        raise PublishError(f"{name}: reading its compatibility failed: {exc}") from exc
    if current == wanted:
        lines.append(f"{name}: compatibility {wanted} (unchanged)")
        return 0
    try:
        client.set_compatibility(wanted, name)
    except RegistryError as exc:
        raise PublishError(f"{name}: setting compatibility {wanted} failed: {exc}") from exc
    lines.append(f"{name}: compatibility {current or 'unset'} -> {wanted}")
    return 1


def _unqualified(node: Any) -> Any:
    """``node`` without docs, every type named by its unqualified name: the shared types moved
    records such as ``de.hamm.buergeramt.Address`` to ``de.hamm.types.Address``, which Avro's
    schema resolution (matching records by unqualified name) treats as the same record."""
    if isinstance(node, list):
        return [_unqualified(item) for item in node]
    if isinstance(node, str):
        return node.rpartition(".")[2]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in ("namespace", "doc"):
            continue
        if key == "name" and node.get("type") in ("record", "error", "enum", "fixed"):
            out[key] = str(value).rpartition(".")[2]
        elif key in ("type", "items", "values"):
            out[key] = _unqualified(value)
        elif key == "fields" and isinstance(value, list):
            out[key] = [
                {k: _unqualified(v) if k == "type" else v for k, v in f.items() if k != "doc"}
                if isinstance(f, dict)
                else f
                for f in value
            ]
        else:
            out[key] = value
    return out


def _held_in_other_words(
    client: RegistryClient, name: str, number: int, standalone: Any
) -> Any | None:
    """Version ``number`` of ``name`` if the registry holds it as the same schema as
    ``standalone`` in other words: registered before the shared types existed, with the types
    written out in the department's namespace and their own docs. Registering the catalog's
    spelling again would append it as a new version after the later ones (and fail their
    compatibility), so the version that is there stays."""
    try:
        held = client.version(name, number)
    except RegistryError:
        return None
    same = identity(_unqualified(orjson.loads(held.schema)))
    return held if same == identity(_unqualified(standalone)) else None


def _publish_version(client: RegistryClient, name: str, version: Any, lines: list[str]) -> int:
    """Register one version (a SchemaFile or a TypeFile: ``path``, ``version``, ``raw``,
    ``references``) unless the registry holds it already."""
    path: Path = version.path
    where = f"{name} v{version.version} ({path})"
    references = tuple(version.references)
    named = ", ".join(f"{r.name} v{r.version}" for r in references)
    naming = f", references {named}" if named else ""
    try:
        found = client.lookup(name, version.raw, references=references)
        lines.append(f"{where}: already registered, id {found.id}, version {found.version}{naming}")
        return 0
    except RegistryError as exc:
        if exc.error_code not in (40401, 40403):
            raise PublishError(f"{where}: lookup failed: {exc}") from exc
        if exc.error_code == 40403:
            held = _held_in_other_words(client, name, version.version, version.schema)
            if held is not None:
                lines.append(
                    f"{where}: already registered as version {held.version}, id {held.id}, "
                    "written as before the shared types (other namespaces and docs, the same "
                    "fields): left as it is"
                )
                return 0
    try:
        schema_id = client.register(name, version.raw, references=references)
    except RegistryError as exc:
        raise PublishError(f"{where}: registration refused: {exc}") from exc
    lines.append(f"{where}: registered, id {schema_id}{naming}")
    return 1
