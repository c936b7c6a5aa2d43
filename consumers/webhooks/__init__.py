"""Webhook push: deliveries POSTed to a subscriber's endpoint as CloudEvents (HTTP binary mode),
signed per Standard Webhooks, retried with backoff, in order per key, given up into
``hub.webhooks.dlq`` and replayable.

For receivers in Python::

    from consumers.webhooks import verify

    record = verify(request.headers, await request.body(), secret)  # raises if not signed

``service`` is the dispatcher (``hub webhooks run``), ``dispatch`` the per-subscription engine,
``ordering``, ``retry``, ``signing`` and ``encoding`` its pure parts, ``subscriptions`` the
catalog files, ``replay`` the DLQ. This package imports nothing heavy: a receiver needs only
``verify``.
"""

from consumers.webhooks.signing import (
    WebhookVerificationError,
    generate_secret,
    sign,
    signed_headers,
    verify,
)

__all__ = ["WebhookVerificationError", "generate_secret", "sign", "signed_headers", "verify"]
