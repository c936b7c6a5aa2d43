"""Who may pull what: pull tokens, own agreements only, valid today; and the limit parameter."""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consumers.deliveries.catalog import (
    CatalogError,
    CatalogSource,
    PullCatalog,
    Refusal,
    load_pull_catalog,
)
from consumers.deliveries.params import DEFAULT_LIMIT, MAX_LIMIT, ParameterError, parse_limit
from hub.access.principals import parse_principals
from hub.access.tokens import hash_token, new_token
from hub.agreements.model import parse_agreement

TOKEN = new_token()
OTHER_TOKEN = new_token()
TODAY = dt.date(2026, 11, 25)


def agreement(id_: str, subscriber: str, **extra: object):
    return parse_agreement(
        {
            "id": id_,
            "subscriber": subscriber,
            "source": "buergeramt.resident.moved",
            "purpose": "Statistik",
            "legal_basis": "§ 4 StatG NRW",
            "valid_until": "2027-12-31",
            "fields": {"resident_id": "pseudonymize"},
            **extra,
        },
        f"{id_}.yaml",
    )


def catalog() -> PullCatalog:
    principals = parse_principals(
        {
            "departments": {"buergeramt": {}},
            "subscribers": {
                "statistikstelle": {"pull_tokens": [hash_token(TOKEN)]},
                "bussgeldstelle": {"pull_tokens": [hash_token(OTHER_TOKEN)]},
                "stadtplanung": {},  # no pull tokens: does not pull
            },
        }
    )
    return PullCatalog.of(
        principals,
        [
            agreement("statistik", "statistikstelle"),
            agreement("statistik-old", "statistikstelle", valid_until="2026-11-24"),
            agreement("statistik-next", "statistikstelle", valid_from="2026-11-26"),
            agreement("bussgeld", "bussgeldstelle"),
            agreement("planung", "stadtplanung"),
        ],
    )


def test_a_pull_token_names_its_subscriber():
    pulls = catalog()
    assert pulls.authenticate(TOKEN) == "statistikstelle"
    assert pulls.authenticate(OTHER_TOKEN) == "bussgeldstelle"
    assert set(pulls.subscribers) == {"statistikstelle", "bussgeldstelle"}


@given(st.text(max_size=80))
def test_no_other_token_is_anyones(token):
    if token in (TOKEN, OTHER_TOKEN):
        return
    assert catalog().authenticate(token) is None


def test_missing_tokens_and_hashes_themselves_do_not_authenticate():
    pulls = catalog()
    assert pulls.authenticate(None) is None
    assert pulls.authenticate("") is None
    assert pulls.authenticate(hash_token(TOKEN)) is None  # the hash in the catalog is no token


def test_a_subscriber_sees_only_its_own_agreements_valid_today():
    pulls = catalog()
    assert pulls.authorize("statistikstelle", "statistik", TODAY).id == "statistik"
    with pytest.raises(Refusal) as refused:
        pulls.authorize("statistikstelle", "bussgeld", TODAY)
    assert refused.value.status == 403
    assert "delivers to bussgeldstelle, not to statistikstelle" in refused.value.detail
    with pytest.raises(Refusal) as refused:
        pulls.authorize("statistikstelle", "nope", TODAY)
    assert refused.value.status == 404 and "unknown agreement 'nope'" in refused.value.detail
    with pytest.raises(Refusal, match="expired on 2026-11-24") as refused:
        pulls.authorize("statistikstelle", "statistik-old", TODAY)
    assert refused.value.status == 403
    with pytest.raises(Refusal, match="valid from 2026-11-26") as refused:
        pulls.authorize("statistikstelle", "statistik-next", TODAY)
    assert refused.value.status == 403
    # validity by calendar day: the last day counts, the first day counts
    assert pulls.authorize("statistikstelle", "statistik-old", dt.date(2026, 11, 24))
    assert pulls.authorize("statistikstelle", "statistik-next", dt.date(2026, 11, 26))
    assert [a.id for a in pulls.readable("statistikstelle", TODAY)] == ["statistik"]
    assert [a.id for a in pulls.readable("bussgeldstelle", TODAY)] == ["bussgeld"]


def test_one_token_hash_for_two_subscribers_is_refused():
    principals = parse_principals(
        {
            "departments": {},
            "subscribers": {
                "a": {"pull_tokens": [hash_token(TOKEN)]},
                "b": {"pull_tokens": [hash_token(TOKEN)]},
            },
        },
        "departments.yaml",
    )
    with pytest.raises(CatalogError, match=r"pull_tokens of b: the same token hash .* for a"):
        PullCatalog.of(principals, [])


def _write_catalog(root, token_hash: str) -> None:
    (root / "agreements").mkdir(exist_ok=True)
    (root / "departments.yaml").write_text(
        "departments:\n  buergeramt: {}\n"
        f"subscribers:\n  statistikstelle:\n    pull_tokens: ['{token_hash}']\n"
    )
    (root / "agreements" / "statistik.yaml").write_text(
        "id: statistik\nsubscriber: statistikstelle\nsource: buergeramt.resident.moved\n"
        "purpose: Statistik\nlegal_basis: '§ 4 StatG NRW'\nvalid_until: 2027-12-31\n"
        "fields: {resident_id: pseudonymize}\n"
    )


def test_the_catalog_is_read_from_its_folder_and_broken_agreements_are_left_out(tmp_path):
    _write_catalog(tmp_path, hash_token(TOKEN))
    (tmp_path / "agreements" / "broken.yaml").write_text("id: broken\n")
    pulls = load_pull_catalog(tmp_path)
    assert pulls.authenticate(TOKEN) == "statistikstelle"
    assert set(pulls.agreements) == {"statistik"}
    assert any("broken.yaml" in p for p in pulls.problems)


def test_a_broken_register_names_file_and_key(tmp_path):
    _write_catalog(tmp_path, "sha256:not-a-hash")
    with pytest.raises(CatalogError, match=r"departments\.yaml: subscribers\.statistikstelle"):
        load_pull_catalog(tmp_path)


def test_the_source_follows_changes_and_keeps_the_last_good_catalog(tmp_path):
    _write_catalog(tmp_path, hash_token(TOKEN))
    now = [0.0]
    source = CatalogSource(tmp_path, interval=5.0, clock=lambda: now[0])
    assert source.current().authenticate(TOKEN) == "statistikstelle"

    _write_catalog(tmp_path, hash_token(OTHER_TOKEN))  # the token was rotated
    _touch_later(tmp_path / "departments.yaml")
    assert source.current().authenticate(TOKEN) == "statistikstelle"  # not checked yet
    now[0] = 6.0
    assert source.current().authenticate(OTHER_TOKEN) == "statistikstelle"
    assert source.current().authenticate(TOKEN) is None

    (tmp_path / "departments.yaml").write_text("departments: [broken")
    _touch_later(tmp_path / "departments.yaml")
    now[0] = 12.0
    assert source.current().authenticate(OTHER_TOKEN) == "statistikstelle"  # the last good one


def _touch_later(path) -> None:
    stamp = time.time() + 10
    os.utime(path, (stamp, stamp))


# -- limit ------------------------------------------------------------------------------------


def test_limit_defaults_and_bounds():
    assert parse_limit(None) == DEFAULT_LIMIT == 100
    assert parse_limit("1") == 1
    assert parse_limit(str(MAX_LIMIT)) == MAX_LIMIT == 1000


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("0", "between 1 and 1000, got 0"),
        ("1001", "between 1 and 1000, got 1001"),
        ("-5", "expected a whole number"),
        ("+5", "expected a whole number"),
        ("1_000", "expected a whole number"),
        (" 7", "expected a whole number"),
        ("ten", "expected a whole number"),
        ("", "expected a whole number"),
        ("٣", "expected a whole number"),
        ("9" * 40, "expected a whole number"),
    ],
)
def test_a_bad_limit_names_the_parameter(raw, message):
    with pytest.raises(ParameterError, match=message) as error:
        parse_limit(raw)
    assert error.value.field == "limit"
    assert str(error.value).startswith("limit: ")


@given(st.integers(min_value=1, max_value=MAX_LIMIT))
def test_every_allowed_limit_parses(value):
    assert parse_limit(str(value)) == value


# -- hub deliveries token ---------------------------------------------------------------------


def test_the_token_command_prints_a_token_and_the_hash_to_register(tmp_path):
    from typer.testing import CliRunner

    from consumers.deliveries.cli import app

    result = CliRunner().invoke(app, ["token", "statistikstelle"])
    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.output.splitlines()]
    token = lines[1]
    assert token.startswith("hub_")
    assert "subscribers.statistikstelle.pull_tokens" in result.output
    hashed = lines[-1].removeprefix("- ")
    assert hashed == hash_token(token)
    # what it prints is what the catalog takes
    _write_catalog(tmp_path, hashed)
    assert load_pull_catalog(tmp_path).authenticate(token) == "statistikstelle"
