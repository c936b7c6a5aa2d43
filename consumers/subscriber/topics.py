"""Which delivery topics a subscription reads: pure choices over what the broker and the
registry told the SDK.

A subscriber's SDK has no catalog. It asks the broker which topics its principal may see (the
ACLs show it exactly the delivery topics of its valid agreements) and, to find the topic of a
named agreement, the registry which agreement a delivery topic's schema belongs to
(``x-agreement``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from consumers.subscriber.errors import NoDeliveryTopicsError, TopicAccessError

# Kafka error codes in a metadata answer
TOPIC_AUTHORIZATION_FAILED = 29
UNKNOWN_TOPIC_OR_PARTITION = 3


def delivery_prefix(subscriber: str) -> str:
    return f"deliver.{subscriber}."


def own_delivery_topics(visible: Iterable[str], subscriber: str) -> list[str]:
    """The visible topics named ``deliver.<subscriber>.*``, sorted. A subscriber that is also a
    publishing department sees its own raw topics too; those are not deliveries."""
    prefix = delivery_prefix(subscriber)
    return sorted({t for t in visible if t.startswith(prefix)})


def check_topic_access(
    requested: Sequence[str], errors: Mapping[str, int], principal: str | None
) -> None:
    """Raise TopicAccessError for every requested topic the broker refused or does not know
    (``errors``: topic → Kafka error code of a metadata request naming the topics)."""
    who = principal or "(no principal)"
    refused = sorted(t for t in requested if errors.get(t) == TOPIC_AUTHORIZATION_FAILED)
    unknown = sorted(t for t in requested if errors.get(t) == UNKNOWN_TOPIC_OR_PARTITION)
    other = sorted(
        t
        for t in requested
        if errors.get(t) not in (0, None, TOPIC_AUTHORIZATION_FAILED, UNKNOWN_TOPIC_OR_PARTITION)
    )
    problems = []
    if refused:
        problems.append(
            f"the principal {who!r} may not read {', '.join(refused)}: a subscriber reads only "
            "the delivery topics of its own valid agreements"
        )
    if unknown:
        problems.append(f"no such topic: {', '.join(unknown)}")
    if other:
        problems.append(
            "metadata errors: " + ", ".join(f"{t} (Kafka error {errors[t]})" for t in other)
        )
    if problems:
        raise TopicAccessError("; ".join(problems))


def topics_of_agreements(
    agreement_of: Mapping[str, str | None], wanted: Sequence[str], subscriber: str
) -> list[str]:
    """The topics whose delivery schema belongs to one of ``wanted`` (``agreement_of``: topic →
    the ``x-agreement`` of its latest schema, None when it has none); every wanted agreement must
    have one, or NoDeliveryTopicsError names those that have none."""
    chosen = sorted(t for t, a in agreement_of.items() if a is not None and a in wanted)
    found = {agreement_of[t] for t in chosen}
    missing = [a for a in wanted if a not in found]
    if missing:
        raise NoDeliveryTopicsError(
            f"{subscriber}: no delivery topic of agreement {', '.join(missing)} is visible: the "
            "agreement is not this subscriber's, not (or no longer) valid, or nothing was "
            "delivered under it yet"
        )
    return chosen
