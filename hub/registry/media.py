"""Content negotiation as Confluent Schema Registry does it (its REST layer is Jersey).

Responses: ``application/vnd.schemaregistry.v1+json`` (preferred), ``application/vnd.
schemaregistry+json`` and ``application/json``, chosen by the request's ``Accept`` with its
q-values and wildcards; nothing acceptable is 406. Request bodies: those three and
``application/octet-stream`` (what a client sends without a type); anything else is 415. A
missing header means anything. Pure functions: the HTTP layer applies them.
"""

from __future__ import annotations

from dataclasses import dataclass

V1 = "application/vnd.schemaregistry.v1+json"
REGISTRY = "application/vnd.schemaregistry+json"
JSON = "application/json"
OCTET_STREAM = "application/octet-stream"

# What the registry produces, with Jersey's server-side quality (qs) of each.
PRODUCES: tuple[tuple[str, float], ...] = ((V1, 1.0), (REGISTRY, 0.9), (JSON, 0.5))
CONSUMES = frozenset({V1, REGISTRY, JSON, OCTET_STREAM})


@dataclass(frozen=True)
class MediaRange:
    type: str
    subtype: str
    q: float

    def matches(self, media_type: str) -> int:
        """How specifically this range matches ``media_type``: 2 exact, 1 ``type/*``, 0
        ``*/*``; -1 no match."""
        kind, _, sub = media_type.partition("/")
        if self.type == "*":
            return 0
        if self.type != kind:
            return -1
        if self.subtype == "*":
            return 1
        return 2 if self.subtype == sub else -1


def _essence(value: str) -> str:
    """``type/subtype`` of a header value, lower case, without parameters."""
    return value.split(";", 1)[0].strip().lower()


def parse_accept(header: str) -> list[MediaRange]:
    """The media ranges of an Accept header; malformed entries are skipped (as browsers'
    odd headers should not fail a request), a malformed q counts as 0."""
    ranges = []
    for part in header.split(","):
        essence = _essence(part)
        if not essence:
            continue
        kind, slash, sub = essence.partition("/")
        if not slash:
            if essence == "*":  # some clients send a bare "*"
                kind, sub = "*", "*"
            else:
                continue
        q = 1.0
        for param in part.split(";")[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        ranges.append(MediaRange(kind, sub or "*", q))
    return ranges


def choose_response_type(accept: str | None) -> str | None:
    """The content type to answer with, None when nothing the registry produces is
    acceptable (406)."""
    if accept is None or not accept.strip():
        return V1
    ranges = parse_accept(accept)
    if not ranges:
        return V1
    best: tuple[float, str] | None = None
    for media_type, server_q in PRODUCES:
        # The most specific range that matches decides the client's q for this type.
        matching = [(r.matches(media_type), r.q) for r in ranges if r.matches(media_type) >= 0]
        if not matching:
            continue
        _, client_q = max(matching)
        score = client_q * server_q
        if score > 0 and (best is None or score > best[0]):
            best = (score, media_type)
    return None if best is None else best[1]


def acceptable_body(content_type: str | None) -> bool:
    """Whether a request body of ``content_type`` is read (else 415)."""
    if content_type is None or not content_type.strip():
        return True
    return _essence(content_type) in CONSUMES
