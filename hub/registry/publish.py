"""Publish the schema catalog (``schemas/``) to a registry: every version in order, and each
subject's compatibility level. Idempotent: what is already there is left alone and said so.

It authenticates like every registry client (``auth``, else HUB_REGISTRY_BASIC_AUTH_USER_INFO
or this process's Kafka principal). Setting compatibility levels is ``hub-admin``'s right, so
publishing the whole catalog is the admin's job: without HUB_KAFKA_USERNAME it publishes as
``hub-admin`` (its local credential file).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.credentials import Credentials
from hub.serde.client import DEFAULT_AUTH, RegistryClient, RegistryError

PUBLISHER = "hub-admin"  # sets every subject's compatibility level, which only the admin may

if TYPE_CHECKING:
    from hub.schemas.catalog import Subject


class PublishError(RuntimeError):
    """A schema file could not be published; the message names the file and the reason."""


def publish_catalog(
    catalog: dict[str, Subject],
    registry_url: str,
    *,
    client: RegistryClient | None = None,
    auth: Credentials | None = DEFAULT_AUTH,
) -> list[str]:
    """Register ``catalog`` at ``registry_url``; one line per subject setting and version.

    Raises PublishError naming the schema file (or subject) when the registry refuses a
    version or a setting (401/403 included: the message names the principal).
    """
    lines: list[str] = []
    changes = 0
    own = client is None
    client = client or RegistryClient(registry_url, auth=auth, principal=PUBLISHER)
    try:
        for topic in sorted(catalog):
            changes += _publish_subject(client, catalog[topic], lines)
    finally:
        if own:
            client.close()
    lines.append(
        f"{changes} change(s) published to {registry_url}"
        if changes
        else f"nothing changed: {registry_url} already holds the catalog"
    )
    return lines


def _publish_subject(client: RegistryClient, subject: Subject, lines: list[str]) -> int:
    name, wanted = subject.subject, subject.compatibility.upper()
    changes = 0
    # The level first: registering v2 must be judged by the subject's level, not the global one.
    try:
        current = client.subject_compatibility(name)
    except RegistryError as exc:
        raise PublishError(f"{name}: reading its compatibility failed: {exc}") from exc
    if current == wanted:
        lines.append(f"{name}: compatibility {wanted} (unchanged)")
    else:
        try:
            client.set_compatibility(wanted, name)
        except RegistryError as exc:
            raise PublishError(f"{name}: setting compatibility {wanted} failed: {exc}") from exc
        lines.append(f"{name}: compatibility {current or 'unset'} -> {wanted}")
        changes += 1
    for schema_file in subject.versions:
        where = f"{name} v{schema_file.version} ({schema_file.path})"
        try:
            found = client.lookup(name, schema_file.schema)
            lines.append(f"{where}: already registered, id {found.id}, version {found.version}")
            continue
        except RegistryError as exc:
            if exc.error_code not in (40401, 40403):
                raise PublishError(f"{where}: lookup failed: {exc}") from exc
        try:
            schema_id = client.register(name, schema_file.schema)
        except RegistryError as exc:
            raise PublishError(f"{where}: registration refused: {exc}") from exc
        lines.append(f"{where}: registered, id {schema_id}")
        changes += 1
    return changes
