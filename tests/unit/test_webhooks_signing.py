"""Standard Webhooks signatures: ours against the reference library, both ways."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
import standardwebhooks
from hypothesis import given, settings
from hypothesis import strategies as st

from consumers.webhooks import WebhookVerificationError, generate_secret, signed_headers, verify
from consumers.webhooks.signing import SecretFormatError, sign, signature, signing_key

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
OTHER = "whsec_" + base64.b64encode(bytes(range(100, 132))).decode()
BODY = '{"violation_id":"OWI-2026-000123","fine_eur":55,"street":"Weststraße"}'.encode()


def test_the_reference_library_verifies_what_we_sign():
    headers = signed_headers("deliver-id/1/2", BODY, [signing_key(SECRET)])
    assert standardwebhooks.Webhook(SECRET).verify(BODY, headers) == {
        "violation_id": "OWI-2026-000123",
        "fine_eur": 55,
        "street": "Weststraße",
    }


def test_we_verify_what_the_reference_library_signs():
    now = datetime.now(UTC)
    ref = standardwebhooks.Webhook(SECRET)
    headers = {
        "Webhook-Id": "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
        "Webhook-Timestamp": str(int(now.timestamp())),
        "Webhook-Signature": ref.sign("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", now, BODY.decode()),
    }
    assert verify(headers, BODY, SECRET)["fine_eur"] == 55


def test_the_specifications_example_signature():
    # The example of the Standard Webhooks specification (and of Svix's documentation).
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    key = signing_key(secret)
    assert signature(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == (
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_rotation_signs_with_every_secret_and_either_verifies():
    keys = [signing_key(SECRET), signing_key(OTHER)]
    headers = signed_headers("id-1", BODY, keys)
    assert len(headers["webhook-signature"].split()) == 2
    for secret in (SECRET, OTHER):
        assert standardwebhooks.Webhook(secret).verify(BODY, headers)
        assert verify(headers, BODY, secret)
    third = generate_secret()
    with pytest.raises(WebhookVerificationError, match="no v1 signature"):
        verify(headers, BODY, third)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(third).verify(BODY, headers)
    # a receiver in the middle of a rotation holds both and accepts either
    assert verify(signed_headers("id-2", BODY, [keys[1]]), BODY, [third, OTHER])


def test_a_changed_body_id_or_timestamp_is_refused():
    headers = signed_headers("id-1", BODY, [signing_key(SECRET)])
    with pytest.raises(WebhookVerificationError):
        verify(headers, BODY.replace(b"55", b"15"), SECRET)
    with pytest.raises(WebhookVerificationError):
        verify({**headers, "webhook-id": "id-2"}, BODY, SECRET)
    ts = int(headers["webhook-timestamp"])
    with pytest.raises(WebhookVerificationError):
        verify({**headers, "webhook-timestamp": str(ts + 1)}, BODY, SECRET)


def test_old_and_future_timestamps_are_refused():
    key = signing_key(SECRET)
    old = signed_headers("id", BODY, [key], timestamp=int(time.time()) - 301)
    with pytest.raises(WebhookVerificationError, match="off this clock"):
        verify(old, BODY, SECRET)
    future = signed_headers("id", BODY, [key], timestamp=int(time.time()) + 301)
    with pytest.raises(WebhookVerificationError, match="off this clock"):
        verify(future, BODY, SECRET)
    assert verify(old, BODY, SECRET, tolerance=600)


@pytest.mark.parametrize("drop", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_headers_are_refused(drop):
    headers = signed_headers("id", BODY, [signing_key(SECRET)])
    del headers[drop]
    with pytest.raises(WebhookVerificationError, match="missing"):
        verify(headers, BODY, SECRET)


def test_unknown_signature_versions_are_skipped():
    headers = signed_headers("id", BODY, [signing_key(SECRET)])
    headers["webhook-signature"] = "v2,abc " + headers["webhook-signature"]
    assert verify(headers, BODY, SECRET)
    headers["webhook-signature"] = "v1a,abc"
    with pytest.raises(WebhookVerificationError):
        verify(headers, BODY, SECRET)


@pytest.mark.parametrize(
    "secret, message",
    [
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "starts with"),
        ("whsec_not base64!!", "not base64"),
        ("whsec_" + base64.b64encode(b"short").decode(), "24 to 64 bytes"),
        ("whsec_" + base64.b64encode(bytes(65)).decode(), "24 to 64 bytes"),
    ],
)
def test_bad_secrets_say_why_without_the_secret(secret, message):
    with pytest.raises(SecretFormatError, match=message) as info:
        signing_key(secret)
    assert secret[6:] not in str(info.value) or len(secret) < 10


def test_generated_secrets_are_fresh_and_usable():
    a, b = generate_secret(), generate_secret()
    assert a != b and a.startswith("whsec_")
    assert len(signing_key(a)) == 32
    with pytest.raises(ValueError):
        generate_secret(8)


def test_sign_needs_a_key():
    with pytest.raises(ValueError):
        sign("id", 1, b"", [])


@settings(max_examples=60, deadline=None)
@given(
    msg_id=st.text(
        alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=60
    ),
    body=st.text(max_size=300),
    key=st.binary(min_size=24, max_size=64),
)
def test_interoperates_for_any_id_body_and_key(msg_id, body, key):
    secret = "whsec_" + base64.b64encode(key).decode()
    data = body.encode()
    ours = signed_headers(msg_id, data, [key])
    standardwebhooks.Webhook(secret).verify(data, ours, json_parse=False)
    now = datetime.now(UTC)
    theirs = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": standardwebhooks.Webhook(secret).sign(msg_id, now, body),
    }
    # verify parses JSON; a non-JSON body is still verified before parsing fails
    try:
        verify(theirs, data, secret)
    except ValueError as error:
        assert not isinstance(error, WebhookVerificationError)
