"""Naming conventions of the schema tree: path → department, topic, subject, record name.

Layout: ``<department>/<entity>.<event>/v<N>.avsc``. Entity and event are lowercase words
joined by hyphens (``noise-complaint.filed``): Kafka warns when a topic mixes ``.`` and ``_``
because both map to ``_`` in metric names, so the tree never uses underscores in names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

NAMESPACE_PREFIX = "de.hamm"
DEFAULT_COMPATIBILITY = "BACKWARD_TRANSITIVE"

_WORD = r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*"
DEPARTMENT_RE = re.compile(r"^[a-z][a-z0-9]*$")
ENTITY_EVENT_RE = re.compile(rf"^(?P<entity>{_WORD})\.(?P<event>{_WORD})$")
VERSION_FILE_RE = re.compile(r"^v(?P<version>[1-9][0-9]*)\.avsc$")
APPROVAL_FILE_RE = re.compile(r"^v(?P<version>[1-9][0-9]*)\.approval\.yaml$")


@dataclass(frozen=True)
class SchemaLocation:
    """Where a version file sits, decoded from its path relative to the schema root."""

    department: str
    entity_event: str
    version: int


def parse_location(relative: Path) -> SchemaLocation:
    """Decode ``<department>/<entity>.<event>/v<N>.avsc``; ValueError says what is wrong."""
    parts = relative.parts
    if len(parts) != 3:
        raise ValueError(
            f"expected <department>/<entity>.<event>/v<N>.avsc, got {relative.as_posix()}"
        )
    department, entity_event, filename = parts
    if not DEPARTMENT_RE.match(department):
        raise ValueError(f"department {department!r} is not lowercase ASCII letters and digits")
    if not ENTITY_EVENT_RE.match(entity_event):
        raise ValueError(
            f"folder {entity_event!r} is not <entity>.<event> "
            "(lowercase words joined by hyphens, e.g. noise-complaint.filed)"
        )
    match = VERSION_FILE_RE.match(filename)
    if not match:
        raise ValueError(f"file name {filename!r} is not v<N>.avsc with N >= 1 and no leading 0")
    return SchemaLocation(department, entity_event, int(match["version"]))


def topic_name(department: str, entity_event: str) -> str:
    return f"{department}.{entity_event}"


def subject_name(topic: str) -> str:
    """Confluent's TopicNameStrategy for record values."""
    return f"{topic}-value"


def namespace_for(department: str) -> str:
    return f"{NAMESPACE_PREFIX}.{department}"


def record_name_for(entity_event: str) -> str:
    """``noise-complaint.filed`` → ``NoiseComplaintFiled``."""
    words = re.split(r"[.\-]", entity_event)
    return "".join(word[:1].upper() + word[1:] for word in words)
