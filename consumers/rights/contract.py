"""The contracts of data-subject rights: what ``hub rights`` writes and what recipients answer.

- ``hub.rights`` (append-only, audit retention): one ``RightsRequestRecorded`` per access
  lookup and per erasure, naming who asked, when, for which case, and about whom only by the
  receipts' keyed hashes (never an identifier in clear). Subject ``hub.rights-value``.
- An erasure request (Art. 17 DSGVO, notified under Art. 19) goes to a recipient on its own
  delivery topic as an event of type ``de.hamm.hub.erasure-requested``: an
  ``ErasureRequested`` under the subject ``de.hamm.hub.ErasureRequested`` (Confluent's
  RecordNameStrategy), so it never collides with the delivery schema under
  ``deliver....-value``. It carries the person only as the pseudonyms that recipient already
  holds (its agreement's key space), so it learns nothing it did not know and cannot link
  across recipients.
- A recipient confirms with an ``ErasureConfirmed`` (subject ``de.hamm.hub.ErasureConfirmed``)
  on ``hub.rights.confirmations.<subscriber>``, the one topic it may write: Kafka does not tell
  a reader who wrote a record, the topic's ACL does, so nobody can confirm for another.

Every field has a ``doc`` and an ``x-pii`` class, as every contract of the hub.
"""

from __future__ import annotations

from typing import Any

RIGHTS_TOPIC = "hub.rights"
CONFIRMATIONS_PREFIX = "hub.rights.confirmations."
ERASURE_TYPE = "de.hamm.hub.erasure-requested"
CONFIRMATION_TYPE = "de.hamm.hub.erasure-confirmed"
RIGHTS_SOURCE = "/hamm/hub/rights"
CONTENT_TYPE = "application/avro"
ERASURE_SUBJECT = "de.hamm.hub.ErasureRequested"
CONFIRMATION_SUBJECT = "de.hamm.hub.ErasureConfirmed"
LEGAL_GROUND = "Art. 17 DSGVO (Recht auf Löschung); Mitteilung an die Empfänger nach Art. 19 DSGVO"
ACCESS, ERASURE = "ACCESS", "ERASURE"


def confirmations_topic(subscriber: str, prefix: str = CONFIRMATIONS_PREFIX) -> str:
    """The one topic ``subscriber`` may write its confirmations to."""
    return f"{prefix}{subscriber}"


def subscriber_of_confirmations(topic: str, prefix: str = CONFIRMATIONS_PREFIX) -> str | None:
    """Whose confirmations a topic holds (by its name: what its ACL lets write it)."""
    if topic.startswith(prefix) and len(topic) > len(prefix):
        return topic[len(prefix) :]
    return None


def _field(name: str, type_: Any, doc: str, pii: str = "none", **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, "doc": doc, "x-pii": pii, **extra}


_MILLIS = {"type": "long", "logicalType": "timestamp-millis"}
_STRINGS = {"type": "array", "items": "string"}

RIGHTS_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "RightsRequestRecorded",
    "namespace": "de.hamm.hub",
    "doc": "A data-subject request the hub answered: who asked about whom (keyed hashes only), "
    "when, for which case, and whom the answer named or notified.",
    "fields": [
        _field("request_id", "string", "Id of this request (a UUID)."),
        _field(
            "kind",
            {"type": "enum", "name": "RightsRequestKind", "symbols": [ACCESS, ERASURE]},
            "ACCESS (Art. 15 DSGVO) or ERASURE (Art. 17 DSGVO).",
        ),
        _field("case", "string", "The data-protection officer's case number."),
        _field("requested_by", "string", "The person who asked (login or OS user)."),
        _field("principal", "string", "The Kafka principal the tool ran as."),
        _field("tool", "string", "Where it was asked: cli or portal."),
        _field(
            "person",
            {
                "type": "array",
                "items": {
                    "type": "record",
                    "name": "PersonReference",
                    "fields": [
                        _field("name", "string", "Identifier name, e.g. resident_id."),
                        _field(
                            "hash",
                            "string",
                            "Hex of the identifier's keyed hash (the receipts key).",
                            "quasi",
                        ),
                    ],
                },
            },
            "The person, only by the keyed hashes of the identifiers asked for.",
            "quasi",
        ),
        _field(
            "since",
            ["null", _MILLIS],
            "Deliveries from this time only (null: all kept).",
            default=None,
        ),
        _field("recipients", _STRINGS, "Recipients the answer named or the erasure notified."),
        _field("deliveries", "long", "Deliveries about the person that were found."),
        _field(
            "requests",
            {
                "type": "array",
                "items": {
                    "type": "record",
                    "name": "ErasureNotice",
                    "fields": [
                        _field("subscriber", "string", "Recipient notified."),
                        _field("agreement_id", "string", "Agreement concerned."),
                        _field("delivery_topic", "string", "Where the request went."),
                        _field("request_id", "string", "ce_id of the erasure request."),
                    ],
                },
            },
            "The erasure requests sent (empty for an access request).",
        ),
        _field("recorded_at", _MILLIS, "When it was answered."),
    ],
}

ERASURE_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "ErasureRequested",
    "namespace": "de.hamm.hub",
    "doc": "A request to a recipient to erase what it received about one person (Art. 17 "
    "DSGVO), the person named only in the recipient's own pseudonyms.",
    "fields": [
        _field("request_id", "string", "Id of this request (also its ce_id)."),
        _field("case", "string", "The data-protection officer's case number; quote it."),
        _field("subscriber", "string", "The recipient asked to erase."),
        _field(
            "agreements",
            {
                "type": "array",
                "items": {
                    "type": "record",
                    "name": "ErasureScope",
                    "fields": [
                        _field("agreement_id", "string", "Agreement the data came under."),
                        _field(
                            "agreement_version",
                            "string",
                            "Content hash of the agreement version that applied.",
                        ),
                        _field("delivery_topic", "string", "Where the data was delivered."),
                        _field(
                            "pseudonyms",
                            {
                                "type": "array",
                                "items": {
                                    "type": "record",
                                    "name": "FieldPseudonym",
                                    "fields": [
                                        _field("field", "string", "Delivered field path."),
                                        _field(
                                            "pseudonym",
                                            "string",
                                            "The person's value as the agreement delivered it.",
                                            "quasi",
                                        ),
                                    ],
                                },
                            },
                            "Each identifier the agreement pseudonymizes, in the recipient's "
                            "key space.",
                            "quasi",
                        ),
                        _field(
                            "key_pseudonyms",
                            _STRINGS,
                            "The delivered message keys concerned, when the agreement "
                            "pseudonymizes the key (empty otherwise).",
                            "quasi",
                        ),
                        _field(
                            "delivery_ids",
                            _STRINGS,
                            "The deliveries concerned (ce_hubdelivery).",
                        ),
                        _field("first_delivered", _MILLIS, "Earliest event time concerned."),
                        _field("last_delivered", _MILLIS, "Latest event time concerned."),
                    ],
                },
            },
            "What to erase, per agreement.",
            "quasi",
        ),
        _field("legal_ground", "string", "Why: Art. 17 DSGVO, notified under Art. 19 DSGVO."),
        _field("confirm_topic", "string", "Where to confirm (hub rights confirm, or the SDK)."),
        _field("requested_at", _MILLIS, "When the request was sent."),
    ],
}

CONFIRMATION_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "ErasureConfirmed",
    "namespace": "de.hamm.hub",
    "doc": "A recipient confirms that it erased what a case's erasure request named.",
    "fields": [
        _field("case", "string", "The case number of the erasure request."),
        _field(
            "subscriber",
            "string",
            "Who confirms (informative: the topic, which only it may write, is what counts).",
        ),
        _field("request_ids", _STRINGS, "The requests confirmed (empty: all of the case)."),
        _field(
            "note", ["null", "string"], "Free text, e.g. the recipient's file number.", default=None
        ),
        _field("confirmed_at", _MILLIS, "When it was confirmed."),
    ],
}
