"""Who may do what in the registry: a pure function of the principal, the request's action and
subject, and the register of principals (``catalog/departments.yaml``). No HTTP here.

Karapace's ``registry_authfile`` permissions are the model, but nothing is configured by hand:
the rights follow from who owns which topic, as the Kafka ACLs do.

- reads (GET anything, lookups, compatibility checks): every authenticated principal;
- register and delete under ``<topic>-value``/``<topic>-key``: the topic's writer, which is the
  owning department for a raw topic ``<prefix>.<entity>.<event>``, ``hub-router`` for
  ``deliver.*``, ``hub.audit``, ``hub.dlq``, ``hub.receipts`` and ``hub.quality``, ``hub-features``
  for ``hub.features.*``,
  ``hub-rights`` for ``hub.rights`` and the erasure subjects ``de.hamm.hub.Erasure*``;
- configuration and mode (PUT/DELETE /config, /mode): ``hub-admin`` only;
- ``hub-admin`` may do everything; anything not named here is the admin's (deny by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hub.access.principals import Principals

ADMIN = "hub-admin"
ROUTER = "hub-router"
FEATURES = "hub-features"
RIGHTS = "hub-rights"
SUBJECT_SUFFIXES = ("-value", "-key")  # TopicNameStrategy, what every hub client uses

# Topics of the hub itself and their only writer: by prefix, then by name.
HUB_PREFIX_WRITERS = {"deliver.": ROUTER, "hub.features.": FEATURES}
HUB_TOPIC_WRITERS = {
    "hub.audit": ROUTER,
    "hub.dlq": ROUTER,
    "hub.receipts": ROUTER,
    "hub.quality": ROUTER,
    "hub.rights": RIGHTS,
}
# Subjects named after a record (RecordNameStrategy), not a topic: the erasure requests a
# recipient finds on its delivery topic, and the confirmations it sends back.
HUB_SUBJECT_WRITERS = {
    "de.hamm.hub.ErasureRequested": RIGHTS,
    "de.hamm.hub.ErasureConfirmed": RIGHTS,
}


class Action(StrEnum):
    OPEN = "open"  # /metrics, /healthz, /openapi.json: no credential needed (Prometheus, probes)
    READ = "read"
    REGISTER = "register"
    DELETE = "delete"
    CONFIG = "config"


OPEN_ROUTES = frozenset({"/metrics", "/healthz", "/openapi.json"})
_WRITES = {
    ("POST", "/subjects/{subject}/versions"): Action.REGISTER,
    ("DELETE", "/subjects/{subject}"): Action.DELETE,
    ("DELETE", "/subjects/{subject}/versions/{version}"): Action.DELETE,
}
_READING_POSTS = ("/subjects/{subject}", "/compatibility/")


def action_of(method: str, route: str) -> Action:
    """The action of a request to the route template ``route`` (``/subjects/{subject}``)."""
    method = method.upper()
    if route in OPEN_ROUTES and method in ("GET", "HEAD"):
        return Action.OPEN
    write = _WRITES.get((method, route))
    if write is not None:
        return write
    if method in ("GET", "HEAD"):
        return Action.READ
    if method == "POST" and (route == _READING_POSTS[0] or route.startswith(_READING_POSTS[1])):
        return Action.READ  # a lookup or a compatibility test changes nothing
    return Action.CONFIG  # every other change (config, mode, routes added later): the admin's


def subject_topic(subject: str) -> str | None:
    """The topic a subject is named after (``<topic>-value``), or None for other names."""
    for suffix in SUBJECT_SUFFIXES:
        if subject.endswith(suffix) and len(subject) > len(suffix):
            return subject.removesuffix(suffix)
    return None


@dataclass(frozen=True)
class Writer:
    """Who may write a subject (None: only the admin) and why, in words."""

    principal: str | None
    reason: str


def writer_of(subject: str, principals: Principals) -> Writer:
    """The one principal (besides ``hub-admin``) that may register and delete under ``subject``."""
    named = HUB_SUBJECT_WRITERS.get(subject)
    if named is not None:
        return Writer(named, f"the subject {subject} is written by {named} only")
    topic = subject_topic(subject)
    if topic is None:
        return Writer(
            None, "the subject names no topic (<topic>-value or <topic>-key): only hub-admin"
        )
    for prefix, writer in HUB_PREFIX_WRITERS.items():
        if topic.startswith(prefix):
            return Writer(writer, f"subjects of {prefix}* topics are written by {writer} only")
    if topic in HUB_TOPIC_WRITERS:
        writer = HUB_TOPIC_WRITERS[topic]
        return Writer(writer, f"the subjects of {topic} are written by {writer} only")
    owner = principals.owner_of(topic)
    if owner is None:
        return Writer(
            None,
            f"the topic {topic} belongs to no department of the principal register: only hub-admin",
        )
    return Writer(owner.name, f"the topic {topic} belongs to the department {owner.name}")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str


_VERBS = {
    Action.REGISTER: "register under",
    Action.DELETE: "delete under",
    Action.CONFIG: "change the compatibility or mode of",
}


def authorize(
    principal: str, action: Action, subject: str | None, principals: Principals
) -> Decision:
    """May ``principal`` (authenticated) do ``action`` on ``subject`` (None: the registry)?"""
    if action in (Action.OPEN, Action.READ):
        return Decision(True, "reads are open to every authenticated principal")
    if principal == ADMIN:
        return Decision(True, f"{ADMIN} may do everything")
    target = f"subject {subject}" if subject is not None else "the registry"
    if action is Action.CONFIG or subject is None:
        return Decision(
            False,
            f"principal {principal} may not {_VERBS[action]} {target}: only {ADMIN} may "
            "change configuration and mode",
        )
    writer = writer_of(subject, principals)
    if writer.principal == principal:
        return Decision(True, writer.reason)
    return Decision(
        False, f"principal {principal} may not {_VERBS[action]} {target}: {writer.reason}"
    )
