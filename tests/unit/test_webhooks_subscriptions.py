"""Webhook subscription files: the sample, and every way to get one wrong (each error names the
file and the key, never a secret)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from consumers.webhooks.signing import generate_secret
from consumers.webhooks.subscriptions import (
    SubscriptionError,
    is_loopback,
    load_agreements_for,
    load_subscription,
    load_subscriptions,
    parse_subscription,
    resolve_topics,
)

REPO = Path(__file__).resolve().parents[2]
GOOD = {
    "id": "bussgeldstelle-fachverfahren",
    "subscriber": "bussgeldstelle",
    "agreements": ["bussgeldstelle-parking-violation"],
    "endpoint": "https://owi.bussgeldstelle.hamm.local/hub/events",
    "secret": "env:HUB_WEBHOOK_SECRET_BUSSGELDSTELLE",
}


def problems(raw, file="subs/x.yaml") -> list[str]:
    with pytest.raises(SubscriptionError) as info:
        parse_subscription(raw, file)
    return info.value.problems


def test_the_sample_subscription_is_valid_and_resolves():
    [sub] = load_subscriptions(REPO / "catalog" / "subscriptions")
    assert sub.id == "bussgeldstelle-fachverfahren"
    assert sub.timeout == 10.0 and sub.concurrency == 16 and not sub.allow_insecure_http
    assert sub.group == "hub-webhooks.bussgeldstelle-fachverfahren"
    agreements = load_agreements_for(REPO / "catalog" / "agreements")
    routes, found = resolve_topics(sub, agreements, dt.date(2026, 11, 2))
    assert found == []
    assert [r.topic for r in routes] == [
        "deliver.bussgeldstelle.ordnungsamt.parking-violation.recorded"
    ]
    secret = generate_secret()
    assert len(sub.signing_keys({"HUB_WEBHOOK_SECRET_BUSSGELDSTELLE": secret})) == 1


def test_the_endpoint_is_logged_without_its_query():
    sub = parse_subscription({**GOOD, "endpoint": "https://v.hamm.local/in?token=s3cr3t"}, "f")
    assert sub.endpoint_for_logs == "https://v.hamm.local/in?…"
    assert parse_subscription(GOOD, "f").endpoint_for_logs == GOOD["endpoint"]


def test_defaults_and_durations():
    sub = parse_subscription({**GOOD, "timeout": "500ms"}, "f.yaml")
    assert sub.timeout == 0.5
    assert parse_subscription({**GOOD, "timeout": "2m"}, "f.yaml").timeout == 120
    assert parse_subscription({**GOOD, "timeout": 3}, "f.yaml").timeout == 3
    assert parse_subscription(GOOD, "f.yaml").previous_secrets == []


@pytest.mark.parametrize(
    "change, key, message",
    [
        ({"id": "Bussgeld Stelle"}, "id", "lowercase"),
        ({"id": 7}, "id", "string"),
        ({"subscriber": ""}, "subscriber", "lowercase"),
        ({"agreements": []}, "agreements", "at least 1"),
        ({"agreements": "bussgeldstelle-parking-violation"}, "agreements", "list"),
        ({"agreements": ["a", "a"]}, "agreements", "named twice"),
        ({"agreements": ["Not An Id"]}, "agreements", "not an agreement id"),
        ({"endpoint": "ftp://owi.hamm.local/x"}, "endpoint", "https://"),
        ({"endpoint": "owi.hamm.local/x"}, "endpoint", "https://"),
        ({"endpoint": "https://user:pw@owi.hamm.local/x"}, "endpoint", "user or password"),
        ({"endpoint": "https://owi.hamm.local/x#frag"}, "endpoint", "fragment"),
        ({"endpoint": "https://owi.hamm.local:99999/x"}, "endpoint", "port"),
        ({"endpoint": "http://owi.hamm.local/x"}, "endpoint", "loopback"),
        ({"endpoint": "http://10.0.0.5:8080/x"}, "endpoint", "allow_insecure_http"),
        ({"secret": "whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}, "secret", "holds a secret itself"),
        ({"secret": "HUB_WEBHOOK_SECRET"}, "secret", "env:NAME or file:/path"),
        ({"secret": "vault:kv/hub"}, "secret", "env:NAME or file:/path"),
        ({"secret": "env:"}, "secret", "env:NAME or file:/path"),
        ({"secret": "env:NOT-A-NAME"}, "secret", "environment variable name"),
        ({"secret": 42}, "secret", "a reference"),
        ({"previous_secrets": ["nope"]}, "previous_secrets.0", "env:NAME"),
        ({"timeout": "10 sec"}, "timeout", "duration"),
        ({"timeout": "0s"}, "timeout", "more than 0"),
        ({"timeout": "10m"}, "timeout", "at most 300s"),
        ({"timeout": True}, "timeout", "duration"),
        ({"concurrency": 0}, "concurrency", "greater than or equal to 1"),
        ({"concurrency": 5000}, "concurrency", "less than or equal"),
        ({"concurrency": "16"}, "concurrency", "integer"),
        ({"allow_insecure_http": "yes"}, "allow_insecure_http", "boolean"),
        ({"retries": 3}, "retries", "Extra inputs"),
    ],
)
def test_bad_subscriptions_name_file_and_key(change, key, message):
    found = problems({**GOOD, **change})
    assert any(p.startswith(f"subs/x.yaml: {key}: ") and message in p for p in found), found


@pytest.mark.parametrize("missing", ["id", "subscriber", "agreements", "endpoint", "secret"])
def test_required_keys(missing):
    raw = {k: v for k, v in GOOD.items() if k != missing}
    assert any(p.startswith(f"subs/x.yaml: {missing}: ") for p in problems(raw))


def test_a_secret_in_the_file_is_never_echoed():
    secret = generate_secret()
    text = "\n".join(problems({**GOOD, "secret": secret}))
    assert secret not in text and secret[6:20] not in text


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://[::1]:9000/",
        "http://127.8.0.1/",
    ],
)
def test_http_is_fine_on_loopback(endpoint):
    assert parse_subscription({**GOOD, "endpoint": endpoint}, "f.yaml").endpoint == endpoint


def test_http_elsewhere_needs_the_explicit_allowance():
    raw = {**GOOD, "endpoint": "http://owi.hamm.local/x", "allow_insecure_http": True}
    assert parse_subscription(raw, "f.yaml").allow_insecure_http


def test_is_loopback_does_not_resolve_names():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("LOCALHOST")
    assert not is_loopback("localhost.hamm.de") and not is_loopback("10.1.1.1")


def test_not_a_mapping_and_bad_yaml(tmp_path):
    assert problems(["a"]) == ["subs/x.yaml: a subscription must be a YAML mapping"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: [unclosed\n")
    with pytest.raises(SubscriptionError, match=r"bad.yaml: invalid YAML"):
        load_subscription(bad)


def test_a_folder_reports_every_file_and_duplicate_ids(tmp_path):
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(GOOD))
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(GOOD))
    (tmp_path / "c.yml").write_text(yaml.safe_dump({**GOOD, "id": "c", "timeout": "x"}))
    with pytest.raises(SubscriptionError) as info:
        load_subscriptions(tmp_path)
    text = str(info.value)
    assert "c.yml: timeout:" in text
    assert "b.yaml: id: 'bussgeldstelle-fachverfahren' is also the id in" in text
    with pytest.raises(SubscriptionError, match="no such directory"):
        load_subscriptions(tmp_path / "missing")


def test_secrets_from_env_and_file(tmp_path):
    current, old = generate_secret(), generate_secret()
    (tmp_path / "old.secret").write_text(old + "\n")
    path = tmp_path / "s.yaml"
    path.write_text(
        yaml.safe_dump({**GOOD, "secret": "env:WH_NOW", "previous_secrets": ["file:old.secret"]})
    )
    sub = load_subscription(path)
    keys = sub.signing_keys({"WH_NOW": current})
    assert len(keys) == 2  # the current one first, then the old one (relative to the file)
    with pytest.raises(SubscriptionError) as info:
        sub.signing_keys({})
    assert info.value.problems == [
        f"{path}: secret: env:WH_NOW: the environment variable WH_NOW is not set"
    ]
    (tmp_path / "old.secret").write_text("not-a-secret")
    with pytest.raises(SubscriptionError) as info:
        sub.signing_keys({"WH_NOW": current})
    [line] = info.value.problems
    assert line.startswith(f"{path}: previous_secrets.0: file:old.secret: ")
    assert "whsec_" in line and "not-a-secret" not in line
    (tmp_path / "old.secret").unlink()
    with pytest.raises(SubscriptionError, match="cannot read"):
        sub.signing_keys({"WH_NOW": current})


def test_agreements_must_exist_be_the_subscribers_and_be_in_force():
    agreements = load_agreements_for(REPO / "catalog" / "agreements")
    sub = parse_subscription(
        {
            **GOOD,
            "agreements": [
                "bussgeldstelle-parking-violation",
                "ordnungsamt-resident-moved",
                "no-such-agreement",
            ],
        },
        "f.yaml",
    )
    routes, found = resolve_topics(sub, agreements, dt.date(2026, 11, 2))
    assert found == [
        "f.yaml: agreements: 'ordnungsamt-resident-moved' is ordnungsamt's, not bussgeldstelle's",
        "f.yaml: agreements: 'no-such-agreement' is not an agreement",
    ]
    assert len(routes) == 1
    # after valid_until (2027-12-31) the agreement opens nothing: its topic is left out
    later, found = resolve_topics(
        parse_subscription(GOOD, "f.yaml"), agreements, dt.date(2028, 1, 1)
    )
    assert later == [] and found == []
