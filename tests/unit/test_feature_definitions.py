"""Feature view definitions: the model, loading, and binding to ki-featurestore agreements."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from consumers.features.binding import SUBSCRIBER, bind_definitions, load_feature_catalog
from consumers.features.definition import (
    FeatureDefinitionError,
    LoadedDefinition,
    load_definitions,
    parse_definition,
)
from consumers.features.durations import format_duration_ms, parse_duration_ms
from hub.agreements.model import parse_agreement
from hub.schemas.catalog import load_catalog

REPO = Path(__file__).resolve().parents[2]

NOISE = {
    "name": "noise_hourly",
    "agreement": "ki-featurestore-noise-complaints",
    "entity": {"name": "postcode", "field": "postcode"},
    "event_time": "occurred_at",
    "window": {"type": "tumbling", "size": "1h"},
    "allowed_lateness": "15m",
    "contributor": "complainant_name",
    "aggregations": [
        {"name": "complaints", "fn": "count"},
        {"name": "night_share", "fn": "mean", "field": "night_time"},
    ],
}


def errors(raw: dict, file: str = "f.yaml") -> str:
    with pytest.raises(FeatureDefinitionError) as exc:
        parse_definition(raw, file)
    return str(exc.value)


def with_(**changes) -> dict:
    raw = copy.deepcopy(NOISE)
    raw.update(changes)
    return raw


# -- durations ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("90s", 90_000),
        ("15m", 900_000),
        ("1h", 3_600_000),
        ("7d", 604_800_000),
        (30, 30_000),
        ("250ms", 250),
    ],
)
def test_durations(text, ms):
    assert parse_duration_ms(text) == ms


@pytest.mark.parametrize("bad", ["1w", "h", "-1h", 1.5, True, -3, ""])
def test_bad_durations(bad):
    with pytest.raises(ValueError, match="duration"):
        parse_duration_ms(bad)


def test_duration_format_round_trips():
    for ms in (250, 90_000, 3_600_000, 604_800_000):
        assert parse_duration_ms(format_duration_ms(ms)) == ms


# -- the model ----------------------------------------------------------------------------------
def test_valid_definition_defaults():
    d = parse_definition(NOISE, "f.yaml")
    assert d.k == 5 and d.window.step == d.window.size == 3_600_000
    assert d.allowed_lateness == 900_000 and d.ttl_ms == 2 * 3_600_000


def test_hopping_window():
    d = parse_definition(with_(window={"type": "hopping", "size": "7d", "slide": "1d"}), "f")
    assert d.window.step == 86_400_000


@pytest.mark.parametrize(
    ("window", "message"),
    [
        ({"type": "hopping", "size": "7d"}, "needs slide"),
        ({"type": "hopping", "size": "7d", "slide": "2d"}, "divide size"),
        ({"type": "hopping", "size": "1d", "slide": "2d"}, "at most size"),
        ({"type": "tumbling", "size": "1h", "slide": "30m"}, "no slide"),
        ({"type": "tumbling", "size": "0s"}, "positive"),
        ({"type": "session", "size": "1h"}, "window.type"),
    ],
)
def test_bad_windows(window, message):
    text = errors(with_(window=window))
    assert "f.yaml" in text and message in text


def test_errors_name_file_and_field():
    text = errors(with_(aggregations=[{"name": "x", "fn": "sum"}]), "catalog/features/x.yaml")
    assert text.startswith("catalog/features/x.yaml: aggregations.0") and "needs a field" in text


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"source": "deliver.x.y.z.w"}, "exactly one of agreement"),
        ({"agreement": None}, "exactly one of agreement"),
        ({"name": "Noise"}, "view name"),
        ({"name": "state"}, "not 'state'"),
        ({"k": 0}, "k"),
        ({"aggregations": []}, "aggregations"),
        ({"aggregations": [{"name": "a", "fn": "median", "field": "x"}]}, "aggregations.0.fn"),
        ({"aggregations": [{"name": "a", "fn": "count"}, {"name": "a", "fn": "count"}]}, "unique"),
        ({"aggregations": [{"name": "postcode", "fn": "count"}]}, "unique"),
        ({"aggregations": [{"name": "window_end", "fn": "count"}]}, "reserved"),
        ({"contributor": "not a path"}, "dotted field path"),
        ({"event_time": "$key"}, "not $key"),
        ({"entity": {"name": "postcode"}}, "entity.field"),
        ({"extra": 1}, "extra"),
        ({"allowed_lateness": "soon"}, "allowed_lateness"),
        ({"person_keyed": "yes"}, "person_keyed"),
    ],
)
def test_bad_definitions(changes, message):
    assert message in errors(with_(**changes))


def test_not_a_mapping():
    assert "must be a mapping" in errors([1, 2])  # type: ignore[arg-type]


def test_load_collects_problems_of_every_file(tmp_path):
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(NOISE))
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(NOISE))  # duplicate view name
    (tmp_path / "c.yaml").write_text("name: [unclosed")
    (tmp_path / "d.yaml").write_text(yaml.safe_dump(with_(name="other", k=-1)))
    with pytest.raises(FeatureDefinitionError) as exc:
        load_definitions(tmp_path)
    text = str(exc.value)
    assert "b.yaml: name: duplicate view 'noise_hourly'" in text
    assert "c.yaml: invalid YAML" in text
    assert "d.yaml: k" in text


def test_missing_directory():
    with pytest.raises(FeatureDefinitionError, match="no such directory"):
        load_definitions(Path("/nonexistent/features"))


# -- binding to agreements ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def schemas():
    return {t: s.latest.schema for t, s in load_catalog(REPO / "schemas").items()}


@pytest.fixture(scope="module")
def agreements():
    from hub.agreements import load_agreements

    return load_agreements(REPO / "catalog" / "agreements")


def bind(raw: dict, agreements, schemas, extra=()):
    loaded = [LoadedDefinition(parse_definition(raw, "v.yaml"), Path("v.yaml"))]
    return bind_definitions(loaded, [*agreements, *extra], schemas)


def bind_error(raw, agreements, schemas, extra=()) -> str:
    with pytest.raises(FeatureDefinitionError) as exc:
        bind(raw, agreements, schemas, extra)
    return str(exc.value)


def test_the_shipped_catalog_binds_and_reads_only_ki_featurestore_deliveries():
    cat = load_feature_catalog(
        REPO / "catalog" / "features", REPO / "catalog" / "agreements", REPO / "schemas"
    )
    assert len(cat.views) >= 4
    assert {v.definition.entity.name for v in cat.views} >= {"postcode", "h3_cell", "station"}
    assert cat.topics and all(t.startswith(f"deliver.{SUBSCRIBER}.") for t in cat.topics)
    assert all(v.agreement.subscriber == SUBSCRIBER for v in cat.views)


def test_binding_by_source_topic(agreements, schemas):
    raw = with_(agreement=None, source="deliver.ki-featurestore.ordnungsamt.noise-complaint.filed")
    (view,) = bind(raw, agreements, schemas).views
    assert view.agreement.id == "ki-featurestore-noise-complaints"


def test_a_raw_topic_is_refused(agreements, schemas):
    raw = with_(agreement=None, source="ordnungsamt.noise-complaint.filed")
    text = bind_error(raw, agreements, schemas)
    assert "v.yaml: source" in text and "not the delivery topic" in text


def test_another_subscribers_agreement_is_refused(agreements, schemas):
    other = parse_agreement(
        {
            "id": "ordnungsamt-noise",
            "subscriber": "ordnungsamt",
            "source": "ordnungsamt.noise-complaint.filed",
            "purpose": "x",
            "legal_basis": "y",
            "valid_until": "2099-12-31",
            "fields": {"postcode": "keep", "occurred_at": "keep"},
        },
        "o.yaml",
    )
    text = bind_error(with_(agreement="ordnungsamt-noise"), agreements, schemas, [other])
    assert "not to 'ki-featurestore'" in text


def test_unknown_agreement(agreements, schemas):
    assert "no agreement with id 'nope'" in bind_error(with_(agreement="nope"), agreements, schemas)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"entity": {"name": "postcode", "field": "complainant_phone"}},
            "entity.field: 'complainant_phone' is not delivered",
        ),
        ({"event_time": "postcode"}, "event_time: postcode is string, not a timestamp"),
        ({"contributor": "$key"}, "drops the message key"),
        ({"aggregations": [{"name": "s", "fn": "sum", "field": "postcode"}]}, "sum needs a number"),
        ({"k": 1}, "k=1 is below 5"),
    ],
)
def test_view_problems_name_the_field(changes, message, agreements, schemas):
    assert message in bind_error(with_(**changes), agreements, schemas)


def test_a_view_keyed_by_a_pseudonym_is_refused(agreements, schemas):
    raw = with_(entity={"name": "person", "field": "complainant_name"})
    assert "pseudonymous person id" in bind_error(raw, agreements, schemas)


def test_a_view_keyed_by_a_persons_key_is_refused(agreements, schemas):
    raw = with_(
        agreement="ki-featurestore-resident-moved",
        entity={"name": "resident", "field": "$key"},
        contributor="$key",
        aggregations=[{"name": "moves", "fn": "count"}],
    )
    text = bind_error(raw, agreements, schemas)
    assert "$key is a pseudonymous person id" in text
    text = bind_error({**raw, "person_keyed": True}, agreements, schemas)
    assert "does not allow identifying data" in text


def test_person_keyed_view_needs_both_flags(schemas):
    allowing = parse_agreement(
        {
            "id": "ki-featurestore-person",
            "subscriber": "ki-featurestore",
            "source": "buergeramt.resident.moved",
            "delivery_topic": "deliver.ki-featurestore.person-test",
            "purpose": "Forschung mit Einwilligung",
            "legal_basis": "Art. 6 Abs. 1 lit. a DSGVO",
            "valid_until": "2099-12-31",
            "allows_identifying": True,
            "fields": {"occurred_at": "keep", "new_address.postcode": "keep"},
        },
        "p.yaml",
    )
    raw = with_(
        agreement="ki-featurestore-person",
        entity={"name": "resident", "field": "$key"},
        contributor="$key",
        aggregations=[{"name": "moves", "fn": "count"}],
    )
    assert "person_keyed: true" in bind_error(raw, [], schemas, [allowing])
    (view,) = bind({**raw, "person_keyed": True}, [], schemas, [allowing]).views
    assert view.topic == "deliver.ki-featurestore.person-test"


def test_low_k_is_allowed_without_personal_data(agreements, schemas):
    raw = {
        "name": "air",
        "agreement": "ki-featurestore-air-quality",
        "entity": {"name": "station", "field": "station_id"},
        "window": {"type": "tumbling", "size": "1h"},
        "k": 1,
        "contributor": "station_id",
        "aggregations": [{"name": "no2", "fn": "mean", "field": "no2_ug_m3"}],
    }
    assert bind(raw, agreements, schemas).views[0].definition.k == 1


def test_shipped_ki_featurestore_agreements_deliver_no_direct_identifier(agreements, schemas):
    from hub.agreements import compile_agreement
    from hub.schemas.fields import iter_fields

    ours = [a for a in agreements if a.subscriber == SUBSCRIBER]
    assert len(ours) >= 4
    for a in ours:
        assert a.id.startswith("ki-featurestore-") and not a.allows_identifying
        assert "Art. 6 Abs. 1 lit. e DSGVO" in a.legal_basis
        output = compile_agreement(a, schemas[a.source], b"k" * 32).output_schema
        assert all(f.pii != "direct" for f in iter_fields(output)), a.id
