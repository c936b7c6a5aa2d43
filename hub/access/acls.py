"""The ACLs the broker should hold: a pure function of the catalog.

Input: the register of principals, the agreements, the topics the feature views read, and the
day (validity). Output: a set of ``Binding``s, each with the reason a person can read. Prefixed
patterns where a principal owns a namespace (a department's ``<prefix>.``, a subscriber's
groups ``<subscriber>.``), literal names where access is granted one by one (a delivery topic
under an agreement, a source topic the router reads). Strimzi's ``KafkaUser`` rules are the
model; the broker denies everything else (``allow.everyone.if.no.acl.found=false``).

No principal but ``hub-router`` and the publishing department itself ever reads a raw topic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from hub.access.principals import Principals

TOPIC, GROUP, TXN, CLUSTER = "topic", "group", "transactional-id", "cluster"
LITERAL, PREFIXED = "literal", "prefixed"
READ, WRITE, DESCRIBE, CREATE, DESCRIBE_CONFIGS = (
    "read",
    "write",
    "describe",
    "create",
    "describe-configs",
)
OPERATIONS = (READ, WRITE, DESCRIBE, CREATE, DESCRIBE_CONFIGS)
RESOURCE_TYPES = (TOPIC, GROUP, TXN, CLUSTER)


@dataclass(frozen=True, order=True)
class Binding:
    """One ACL: ``principal`` may ``operation`` on ``resource_type`` ``name`` (``pattern``).

    Only allow bindings: the broker denies by default, so a deny would only say it twice.
    ``reason`` says why, for people; it is not part of the binding's identity.
    """

    principal: str
    resource_type: str
    pattern: str
    name: str
    operation: str
    host: str = "*"
    reason: str = field(default="", compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.resource_type not in RESOURCE_TYPES:
            raise ValueError(f"unknown resource type {self.resource_type!r}")
        if self.pattern not in (LITERAL, PREFIXED):
            raise ValueError(f"unknown pattern type {self.pattern!r}")
        if self.operation not in OPERATIONS:
            raise ValueError(f"unknown operation {self.operation!r}")

    @property
    def key(self) -> str:
        """A stable one-line identity, as stored in the ledger and printed by ``plan``."""
        return (
            f"User:{self.principal} {self.operation} {self.resource_type}:"
            f"{self.name}{'*' if self.pattern == PREFIXED else ''} host={self.host}"
        )

    @classmethod
    def from_key(cls, key: str) -> Binding:
        user, operation, resource, host = key.split(" ")
        resource_type, _, name = resource.partition(":")
        pattern = PREFIXED if name.endswith("*") else LITERAL
        return cls(
            user.removeprefix("User:"),
            resource_type,
            pattern,
            name.removesuffix("*"),
            operation,
            host.removeprefix("host="),
        )


@dataclass(frozen=True)
class Grant:
    """What an agreement contributes to the ACLs (the facts of it that matter for access)."""

    agreement_id: str
    subscriber: str
    source: str
    delivery_topic: str
    purpose: str
    valid_from: dt.date | None
    valid_until: dt.date

    def valid_on(self, day: dt.date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and day <= self.valid_until


@dataclass(frozen=True)
class HubTopics:
    """Names of the hub's own topics and groups (settings; the defaults are the shipped ones)."""

    dlq: str = "hub.dlq"
    audit: str = "hub.audit"
    receipts: str = "hub.receipts"
    agreements: str = "hub.agreements"
    quality: str = "hub.quality"
    registry: str = "_schemas"
    router_group: str = "hub-router"
    features_group: str = "hub-features"
    features_prefix: str = "hub.features."
    connect_progress: str = "hub.connect.progress"
    access_ledger: str = "hub.access"
    webhooks_group: str = "hub-webhooks"
    webhooks_dlq: str = "hub.webhooks.dlq"
    gateway_idempotency: str = "hub.gateway.idempotency"
    rights: str = "hub.rights"
    rights_confirmations: str = "hub.rights.confirmations."
    rights_transactions: str = "hub-rights"

    def progress_topic(self, department: str) -> str:
        """Each department's connectors keep their progress in a topic of their own."""
        return f"{self.connect_progress}.{department}"


def _grants(
    principal: str,
    resource_type: str,
    pattern: str,
    name: str,
    operations: Iterable[str],
    reason: str,
) -> list[Binding]:
    return [
        Binding(principal, resource_type, pattern, name, op, reason=reason) for op in operations
    ]


def desired_bindings(
    principals: Principals,
    grants: Iterable[Grant],
    feature_topics: Iterable[str] = (),
    *,
    today: dt.date,
    topics: HubTopics | None = None,
    webhook_agreements: Iterable[str] = (),
    feature_views: Iterable[str] = (),
) -> set[Binding]:
    """Every ACL the catalog implies on ``today``. ``webhook_agreements``: the agreements that
    webhook subscriptions push; subscribers with pull tokens are read by the pull API.
    ``feature_views``: the names of the feature views, whose published (k-anonymous) windows
    the portal shows staff."""
    topics = topics or HubTopics()
    grants = sorted(grants, key=lambda g: g.agreement_id)
    out: list[Binding] = []

    for dept in principals.departments.values():
        p, name = dept.topic_prefix + ".", dept.name
        out += _grants(
            name, TOPIC, PREFIXED, p, (WRITE, DESCRIBE, CREATE), "publish its own events"
        )
        out += _grants(name, TOPIC, PREFIXED, p, (READ,), "read back its own raw topics")
        own = name + "."  # groups and transactional ids go by the principal's name
        out += _grants(name, GROUP, PREFIXED, own, (READ,), "consumer groups of its own")
        out += _grants(
            name, TXN, PREFIXED, own, (WRITE, DESCRIBE), "transactions of its connectors"
        )
        out += _grants(
            name,
            TOPIC,
            LITERAL,
            topics.progress_topic(name),
            (READ, WRITE, DESCRIBE, CREATE),
            "progress of its connectors",
        )
        if dept.gateway:
            out += _grants(
                "hub-gateway",
                TOPIC,
                PREFIXED,
                p,
                (WRITE, DESCRIBE),
                f"publish for {name} what it sends over HTTP",
            )

    for g in grants:
        if g.valid_on(today):
            out += _grants(
                g.subscriber,
                TOPIC,
                LITERAL,
                g.delivery_topic,
                (READ, DESCRIBE),
                f"receive under agreement {g.agreement_id} (valid until {g.valid_until})",
            )
        # The router keeps its access to expired agreements' topics: it still reads the source
        # and may deliver events of the agreement's time; the subscriber's read is what ends.
        out += _grants(
            "hub-router",
            TOPIC,
            LITERAL,
            g.source,
            (READ, DESCRIBE),
            f"route {g.source} under agreement {g.agreement_id}",
        )
        out += _grants(
            "hub-router",
            TOPIC,
            LITERAL,
            g.delivery_topic,
            (WRITE, DESCRIBE, CREATE),
            f"deliver to {g.subscriber} under agreement {g.agreement_id}",
        )
    for g in {g.subscriber for g in grants if g.valid_on(today)}:
        out += _grants(g, GROUP, PREFIXED, f"{g}.", (READ,), "consumer groups of its own")

    out += _grants(
        "hub-router",
        TOPIC,
        LITERAL,
        topics.dlq,
        (WRITE, READ, DESCRIBE, CREATE),
        "dead letters and their replay",
    )
    out += _grants(
        "hub-router", TOPIC, LITERAL, topics.audit, (WRITE, DESCRIBE, CREATE), "the audit trail"
    )
    out += _grants(
        "hub-router",
        TOPIC,
        LITERAL,
        topics.receipts,
        (WRITE, DESCRIBE, CREATE),
        "receipts of deliveries (data-subject rights)",
    )
    out += _grants(
        "hub-router",
        TOPIC,
        LITERAL,
        topics.agreements,
        (WRITE, DESCRIBE, CREATE),
        "the agreement versions it applies",
    )
    out += _grants(
        "hub-router",
        TOPIC,
        LITERAL,
        topics.quality,
        (WRITE, READ, DESCRIBE, CREATE),
        "daily quality summaries (read back at start)",
    )
    out += _grants(
        "hub-router", GROUP, PREFIXED, topics.router_group, (READ,), "its consumer group"
    )
    out += _grants(
        "hub-router", TXN, PREFIXED, topics.router_group, (WRITE, DESCRIBE), "exactly-once batches"
    )

    for topic in sorted(set(feature_topics)):
        out += _grants(
            "hub-features", TOPIC, LITERAL, topic, (READ, DESCRIBE), "aggregate into feature views"
        )
    out += _grants(
        "hub-features",
        TOPIC,
        PREFIXED,
        topics.features_prefix,
        (READ, WRITE, DESCRIBE, CREATE),
        "its feature views and their changelog",
    )
    out += _grants("hub-features", TOPIC, LITERAL, topics.dlq, (WRITE, DESCRIBE), "dead letters")
    out += _grants(
        "hub-features", GROUP, PREFIXED, topics.features_group, (READ,), "its consumer group"
    )
    out += _grants(
        "hub-features",
        TXN,
        PREFIXED,
        topics.features_group,
        (WRITE, DESCRIBE),
        "exactly-once windows",
    )

    out += _grants(
        "hub-registry",
        TOPIC,
        LITERAL,
        topics.registry,
        (READ, WRITE, DESCRIBE, CREATE, DESCRIBE_CONFIGS),
        "the registry's state",
    )
    out += _grants(
        "hub-gateway",
        TOPIC,
        LITERAL,
        topics.gateway_idempotency,
        (READ, WRITE, DESCRIBE, CREATE),
        "remember Idempotency-Keys for 24 h, shared by every gateway instance",
    )
    out += _grants(
        "hub-connect",
        TOPIC,
        PREFIXED,
        topics.connect_progress + ".",
        (READ, DESCRIBE),
        "watch the connectors' progress",
    )
    out += _grants(
        "hub-audit", TOPIC, LITERAL, topics.audit, (READ, DESCRIBE), "read the audit trail"
    )
    out += _grants(
        "hub-audit",
        TOPIC,
        LITERAL,
        topics.quality,
        (READ, DESCRIBE),
        "read the daily quality summaries (hub quality report)",
    )
    out += portal_bindings(principals, topics, feature_views)

    # The two HTTP ways in read on a subscriber's behalf, only what the subscriber may read.
    pushed = set(webhook_agreements)
    for g in grants:
        if not g.valid_on(today):
            continue
        if g.agreement_id in pushed:
            out += _grants(
                "hub-webhooks",
                TOPIC,
                LITERAL,
                g.delivery_topic,
                (READ, DESCRIBE),
                f"push to {g.subscriber}'s endpoint under agreement {g.agreement_id}",
            )
        if principals.pull_tokens(g.subscriber):
            out += _grants(
                "hub-deliveries",
                TOPIC,
                LITERAL,
                g.delivery_topic,
                (READ, DESCRIBE),
                f"serve {g.subscriber}'s pulls under agreement {g.agreement_id}",
            )
    out += _grants(
        "hub-webhooks", GROUP, PREFIXED, topics.webhooks_group, (READ,), "its consumer groups"
    )
    out += _grants(
        "hub-webhooks",
        TOPIC,
        LITERAL,
        topics.webhooks_dlq,
        (READ, WRITE, DESCRIBE, CREATE),
        "given-up webhook deliveries and their replay",
    )
    out += rights_bindings(grants, topics)
    return set(out)


def portal_bindings(
    principals: Principals, topics: HubTopics, feature_views: Iterable[str] = ()
) -> list[Binding]:
    """``hub-portal`` folds the audit trail, the dead letters (their headers: origin and
    reason), the quality summaries and the feature views' published windows, and shows how
    long the topics keep data; it reads no raw topic, no delivery and not the feature store's
    state changelog (which holds contributor pseudonyms): each view's topic by name."""
    out = _grants(
        "hub-portal",
        TOPIC,
        LITERAL,
        topics.audit,
        (READ, DESCRIBE, DESCRIBE_CONFIGS),
        "count the deliveries for the transparency portal",
    )
    out += _grants(
        "hub-portal",
        TOPIC,
        LITERAL,
        topics.dlq,
        (READ, DESCRIBE, DESCRIBE_CONFIGS),
        "show dead letters by reason and origin to staff",
    )
    out += _grants(
        "hub-portal",
        GROUP,
        LITERAL,
        f"{topics.router_group}-dlq-replay",
        (DESCRIBE,),
        "show which dead letters wait for a replay",
    )
    out += _grants(
        "hub-portal",
        TOPIC,
        LITERAL,
        topics.quality,
        (READ, DESCRIBE),
        "show each data set's quality figures (counts, no content)",
    )
    for view in sorted(set(feature_views)):
        out += _grants(
            "hub-portal",
            TOPIC,
            LITERAL,
            f"{topics.features_prefix}{view}",
            (READ, DESCRIBE),
            f"show staff the k-anonymous trend of {view} (Lagebild)",
        )
    for dept in sorted(principals.departments.values(), key=lambda d: d.name):
        out += _grants(
            "hub-portal",
            TOPIC,
            PREFIXED,
            dept.topic_prefix + ".",
            (DESCRIBE_CONFIGS,),
            f"retention of {dept.name}'s data sets for the record of processing",
        )
    out += _grants(
        "hub-portal",
        TOPIC,
        PREFIXED,
        "deliver.",
        (DESCRIBE_CONFIGS,),
        "retention of the deliveries for the record of processing",
    )
    return out


def reads_raw(binding: Binding, principals: Principals) -> str | None:
    """The department whose raw topics ``binding`` lets its principal read, or None."""
    if binding.resource_type != TOPIC or binding.operation != READ:
        return None
    for dept in principals.departments.values():
        owned = dept.topic_prefix + "."
        if binding.pattern == LITERAL and binding.name.startswith(owned):
            return dept.name
        # a prefix reads the department's topics if either prefix contains the other
        if binding.pattern == PREFIXED and (
            binding.name.startswith(owned) or owned.startswith(binding.name)
        ):
            return dept.name
    return None


def rights_bindings(grants: Iterable[Grant], topics: HubTopics) -> list[Binding]:
    """``hub-rights``, the data-protection officer's tool for data-subject requests: it reads
    the receipts and the agreement versions (whom did what reach), the deliveries (what the
    recipient received, still kept), writes the trail ``hub.rights`` and an erasure request to
    each recipient's delivery topic, and reads the confirmations. Kafka's ACLs are per topic, so
    Write on a delivery topic is Write of any record: that it only ever writes erasure requests
    there is the tool's code, audited in ``hub.rights``, not the broker's doing. It does not
    read ``hub.audit``: the receipts and the agreement versions say more, per delivery.

    Every recipient of an agreement, also of an expired one (it may still hold what it got),
    may write its own confirmations topic and no other: Kafka does not tell a reader who wrote
    a record, the topic's ACL does."""
    rights = "hub-rights"
    out = _grants(
        rights,
        TOPIC,
        LITERAL,
        topics.receipts,
        (READ, DESCRIBE),
        "find a person's deliveries by keyed hash",
    )
    out += _grants(
        rights,
        TOPIC,
        LITERAL,
        topics.agreements,
        (READ, DESCRIBE),
        "the agreement version in force at each delivery",
    )
    out += _grants(
        rights,
        TOPIC,
        LITERAL,
        topics.rights,
        (READ, WRITE, DESCRIBE, CREATE),
        "the trail of data-subject requests",
    )
    out += _grants(
        rights,
        TOPIC,
        PREFIXED,
        topics.rights_confirmations,
        (READ, DESCRIBE, CREATE),
        "read the recipients' confirmations of erasures (and create their topics)",
    )
    out += _grants(
        rights,
        TXN,
        PREFIXED,
        topics.rights_transactions,
        (WRITE, DESCRIBE),
        "erasure requests and their trail record in one transaction",
    )
    grants = sorted(grants, key=lambda g: g.agreement_id)
    for g in grants:
        out += _grants(
            rights,
            TOPIC,
            LITERAL,
            g.delivery_topic,
            (READ, WRITE, DESCRIBE),
            f"show what {g.subscriber} received under {g.agreement_id}, send it erasure requests",
        )
    for subscriber in sorted({g.subscriber for g in grants}):
        out += _grants(
            subscriber,
            TOPIC,
            LITERAL,
            topics.rights_confirmations + subscriber,
            (WRITE, DESCRIBE),
            "confirm erasure requests (its own confirmations topic only)",
        )
    return out
