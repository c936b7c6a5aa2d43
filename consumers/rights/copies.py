"""The hub's own copies of a person's data, and what an erasure does with each. Pure.

Kafka cannot delete one record from a log; it forgets a key of a compacted topic when a
tombstone (a record with that key and no value) is compacted. So the question for each of the
hub's topics is: is it keyed by a person? None is: the compacted ones are keyed by schema,
ACL, agreement version, data set and day, feature view and area, or a client's retry key, and
the logs with personal data (raw and delivery topics) expire by their retention. ``hub rights
erase`` reports this list instead of writing tombstones nobody would need.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hub.access.acls import HubTopics


@dataclass(frozen=True)
class Copy:
    topic: str
    holds: str
    erasure: str  # what happens to the person's data there

    def as_json(self) -> dict[str, str]:
        return {"topic": self.topic, "holds": self.holds, "erasure": self.erasure}


def hub_copies(
    topics: HubTopics,
    *,
    receipts_retention_days: int,
    sources: Iterable[str] = (),
    deliveries: Iterable[str] = (),
) -> list[Copy]:
    """``sources``/``deliveries``: the raw and delivery topics that carried the person."""
    out = [
        Copy(
            source,
            "the publishing department's events (raw topic)",
            "expires with the topic's retention; the department erases the record in its own "
            "system (the hub cannot delete one record of a log)",
        )
        for source in sorted(set(sources))
    ]
    out += [
        Copy(
            topic,
            "what the recipient received (delivery topic)",
            "expires with the topic's retention; the recipient got an erasure request for its "
            "own copy",
        )
        for topic in sorted(set(deliveries))
    ]
    out += [
        Copy(
            topics.receipts,
            "keyed hashes of identifiers per delivery, no identifier in clear",
            f"kept {receipts_retention_days} days as the proof of the deliveries (Art. 5 Abs. 2 "
            "DSGVO); without the receipts key it says nothing about a person",
        ),
        Copy(
            topics.audit,
            "counts of deliveries per batch and agreement, no personal data",
            "nothing to erase",
        ),
        Copy(
            topics.dlq,
            "events the router could not route, as they came",
            "expires with the topic's retention (30 days); a dead letter about the person is "
            "replayed or expires like the raw event",
        ),
    ]
    # The compacted topics: a tombstone would erase a key; none of them is keyed by a person.
    compacted = [
        (topics.registry, "schemas"),
        (topics.access_ledger, "the ACLs and users the hub created"),
        (topics.agreements, "agreement versions by content hash"),
        (topics.quality, "quality summaries per data set and day"),
        (
            "hub.features.state",
            "feature windows per view, area (postcode, station, H3 cell) and start; an open "
            "window counts up to k contributor pseudonyms, its record is tombstoned when it "
            "closes",
        ),
        (topics.gateway_idempotency, "Idempotency-Keys of the departments' systems, 24 hours"),
        (topics.connect_progress + ".<department>", "the connectors' read positions"),
    ]
    out += [
        Copy(name, f"compacted: {what}", "not keyed by a person: no tombstone to write")
        for name, what in compacted
    ]
    out.append(
        Copy(
            topics.features_prefix + "<view>",
            "the feature store's published aggregates (k-anonymous, at least k people each)",
            "anonymous: nothing about one person to erase",
        )
    )
    return out
