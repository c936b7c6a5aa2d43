import os

import pytest

from hub.secret import SecretError, _content, load_master_secret


def test_binary_secret_is_taken_as_is(tmp_path):
    raw = b"\n" + os.urandom(31) + b" "  # whitespace bytes are part of a binary secret
    (tmp_path / "s").write_bytes(raw)
    assert load_master_secret(tmp_path / "s") == raw


def test_text_secret_loses_its_newline(tmp_path):
    (tmp_path / "s").write_text("a" * 40 + "\n")
    assert load_master_secret(tmp_path / "s") == b"a" * 40


def test_short_secret_names_the_file(tmp_path):
    (tmp_path / "s").write_text("short\n")
    with pytest.raises(SecretError, match=r"HUB_SECRET_FILE .*/s: 5 bytes, need at least 32"):
        load_master_secret(tmp_path / "s")


def test_missing_secret_file_names_it(tmp_path):
    with pytest.raises(SecretError, match="cannot read"):
        load_master_secret(tmp_path / "nope")


def test_demo_secret_is_created_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = load_master_secret(None)
    assert len(first) >= 32 and load_master_secret(None) == first
    assert (tmp_path / ".hub" / "secret").stat().st_mode & 0o777 == 0o600


def test_content_rule():
    assert _content(b"  hex0123  \n") == b"hex0123"
    assert _content(b"\x00\x01 ") == b"\x00\x01 "
