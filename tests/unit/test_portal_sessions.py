"""Staff sessions, CSRF tokens, the login limit, and the staff register's hashes."""

from __future__ import annotations

import pytest

from portal.catalog_files import CatalogFileError
from portal.sessions import LoginLimiter, SessionCodec, session_key
from portal.staff import hash_password, load_staff


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def codec(clock=None) -> SessionCodec:
    return SessionCodec(session_key(b"m" * 32), 3600, clock or Clock())


def test_a_session_round_trips_and_each_login_gets_a_new_id():
    c = codec()
    cookie, session = c.issue("dsb")
    assert c.read(cookie) == session
    _, again = c.issue("dsb")
    assert again.sid != session.sid


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s[:-1] + ("A" if s[-1] != "A" else "B"),
        lambda s: "x" + s,
        lambda s: "",
        lambda s: "no-dot",
        lambda s: "###.###",
    ],
)
def test_a_tampered_cookie_is_no_session(mangle):
    c = codec()
    cookie, _ = c.issue("dsb")
    assert c.read(mangle(cookie)) is None


def test_another_key_does_not_accept_the_cookie():
    cookie, _ = codec().issue("dsb")
    other = SessionCodec(session_key(b"n" * 32), 3600, Clock())
    assert other.read(cookie) is None


def test_sessions_expire_and_can_be_revoked():
    clock = Clock()
    c = codec(clock)
    cookie, session = c.issue("dsb")
    clock.now += 3599
    assert c.read(cookie) is not None
    c.revoke(session)
    assert c.read(cookie) is None
    cookie, _ = c.issue("dsb")
    clock.now += 3601
    assert c.read(cookie) is None


def test_csrf_tokens_are_bound_to_their_session():
    c = codec()
    _, a = c.issue("dsb")
    _, b = c.issue("dsb")
    assert c.check_csrf(a.sid, c.csrf_token(a.sid))
    assert not c.check_csrf(a.sid, c.csrf_token(b.sid))
    assert not c.check_csrf(a.sid, "")
    assert not c.check_csrf(None, c.csrf_token(a.sid))
    pre = c.presession()
    sid = c.read_presession(pre)
    assert sid and c.check_csrf(sid, c.csrf_token(sid))
    assert c.read_presession(pre.replace(".", ".x")) is None


def test_the_login_limit_counts_failures_per_key_within_the_window():
    clock = Clock()
    limiter = LoginLimiter(3, 60, clock)
    keys = ("ip:1", "login:dsb")
    for _ in range(3):
        assert limiter.retry_after(keys) is None
        limiter.failed(keys)
    assert limiter.retry_after(keys) == pytest.approx(60)
    assert limiter.retry_after(("ip:2", "login:dsb")) is not None  # the name is limited too
    assert limiter.retry_after(("ip:2", "login:other")) is None
    clock.now += 61
    assert limiter.retry_after(keys) is None
    limiter.failed(keys)
    limiter.succeeded("login:dsb")
    assert limiter.retry_after(("login:dsb",)) is None


def test_staff_passwords_are_argon2id_hashes(tmp_path):
    path = tmp_path / "portal.yaml"
    path.write_text(
        f'staff:\n  dsb:\n    name: DSB\n    password_hash: "{hash_password("richtig-und-lang")}"\n'
    )
    staff = load_staff(path)
    assert staff.verify("dsb", "richtig-und-lang").name == "DSB"
    assert staff.verify("dsb", "falsch") is None
    assert staff.verify("niemand", "richtig-und-lang") is None
    assert load_staff(tmp_path / "missing.yaml").members == {}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            "staff:\n  dsb: {name: D, password_hash: geheim}\n",
            "staff.dsb.password_hash: expected an Argon2id hash",
        ),
        ("staff:\n  Bad Name: {name: D, password_hash: '$argon2id$x'}\n", "staff: 'Bad Name'"),
        ("staff:\n  dsb: {name: D}\n", "staff.dsb.password_hash: Field required"),
        ("other: 1\n", "other: Extra inputs are not permitted"),
    ],
)
def test_a_bad_staff_file_names_the_file_and_field(tmp_path, text, fragment):
    path = tmp_path / "portal.yaml"
    path.write_text(text)
    with pytest.raises(CatalogFileError) as error:
        load_staff(path)
    assert str(path) in str(error.value) and fragment in str(error.value)


def test_the_shipped_staff_file_has_no_one_and_no_password():
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    assert load_staff(repo / "catalog" / "portal.yaml").members == {}


def test_hub_portal_passwd_prints_an_entry_with_a_hash_only(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from portal import cli

    answers = iter(["ein-sehr-langes-passwort", "ein-sehr-langes-passwort"])
    monkeypatch.setattr(cli.getpass, "getpass", lambda prompt="": next(answers))
    result = CliRunner().invoke(cli.app, ["passwd", "dsb", "--name", "DSB"])
    assert result.exit_code == 0, result.output
    assert "ein-sehr-langes-passwort" not in result.output
    entry = result.output.split("\n", 1)[1]
    (tmp_path / "portal.yaml").write_text("staff:\n" + entry)
    assert load_staff(tmp_path / "portal.yaml").verify("dsb", "ein-sehr-langes-passwort")


def test_hub_portal_passwd_refuses_short_or_differing_passwords(monkeypatch):
    from typer.testing import CliRunner

    from portal import cli

    for answers in (["kurz", "kurz"], ["ein-sehr-langes-passwort", "ein-anderes-langes-wort"]):
        it = iter(answers)
        monkeypatch.setattr(cli.getpass, "getpass", lambda prompt="", it=it: next(it))
        assert CliRunner().invoke(cli.app, ["passwd", "dsb"]).exit_code == 2
