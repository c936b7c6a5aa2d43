"""ACLs in words a data-protection officer reads: ``hub access show PRINCIPAL``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from hub.access.acls import GROUP, LITERAL, TOPIC, TXN, Binding, reads_raw
from hub.access.principals import Principals

_VERBS = {
    "read": "read",
    "write": "write to",
    "describe": "see",
    "create": "create",
    "describe-configs": "read the settings of",
}
_ORDER = list(_VERBS)


def _resource(resource_type: str, pattern: str, name: str) -> str:
    if resource_type == TOPIC:
        return f"the topic {name}" if pattern == LITERAL else f"every topic beginning with {name}"
    if resource_type == GROUP:
        return (
            f"the consumer group {name}"
            if pattern == LITERAL
            else f"consumer groups beginning with {name}"
        )
    if resource_type == TXN:
        return (
            f"the transactional id {name}"
            if pattern == LITERAL
            else f"transactional ids beginning with {name}"
        )
    return "the cluster"


def _verbs(operations: Iterable[str]) -> str:
    words = [_VERBS[o] for o in sorted(set(operations), key=_ORDER.index)]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def describe(principal: str, bindings: Iterable[Binding], principals: Principals) -> list[str]:
    """What ``principal`` may do, one sentence a resource, and what it may not."""
    mine = [b for b in bindings if b.principal == principal]
    lines = [f"{principal}: {principals.role(principal)}"]
    contact = principals.contact(principal)
    if contact:
        lines.append(f"  contact: {contact}")
    if principal == "hub-admin":
        lines.append("  May do everything: super user of the broker and the registry.")
        return lines
    grouped: dict[tuple[str, str, str], list[Binding]] = defaultdict(list)
    for b in mine:
        grouped[(b.resource_type, b.pattern, b.name)].append(b)
    if not grouped:
        lines.append("  May do nothing: no ACL names this principal (deny by default).")
        return lines
    lines.append("  May:")
    for (rtype, pattern, name), items in sorted(grouped.items()):
        reasons = sorted({b.reason for b in items if b.reason})
        why = f" ({'; '.join(reasons)})" if reasons else ""
        lines.append(
            f"  - {_verbs(b.operation for b in items)} {_resource(rtype, pattern, name)}{why}"
        )
    raw = sorted({d for b in mine if (d := reads_raw(b, principals))})
    if raw:
        lines.append(f"  Reads raw (unanonymized) data of: {', '.join(raw)}.")
    else:
        lines.append("  Reads no raw (unanonymized) topic of any department.")
    lines.append("  Everything else is denied.")
    return lines
