"""Who is asking: HTTP Basic credentials (what Confluent clients send with
``basic.auth.user.info``), verified against Kafka itself.

Kafka is the identity provider: a principal's registry password is its Kafka password, and the
registry keeps no password file. ``KafkaAuthenticator`` checks a pair with one SASL/SCRAM login
to the broker and remembers a success for a short while (so a lookup costs a hash, not a
login); concurrent checks of the same pair share one login. A refused login is a 401; a broker
that cannot be asked is an ``IdentityProviderUnavailable`` (503): neither yes nor no.

Passwords are never logged; the cache holds only their SHA-256.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

from hub.credentials import Credentials
from hub.kafka import KafkaSecurity, KafkaUnreachable, kafka_login

log = logging.getLogger(__name__)

DEFAULT_TTL = 60.0  # seconds a verified password is trusted without asking Kafka again
DEFAULT_TIMEOUT = 10.0
MAX_CONCURRENT_LOGINS = 8  # a burst of new clients must not become a burst of broker logins


# Kafka could not be asked whether a credential is valid (unreachable, misconfigured): 503.
IdentityProviderUnavailable = KafkaUnreachable


class Authenticator(Protocol):
    async def verify(self, username: str, password: str) -> bool:
        """True if ``password`` is ``username``'s; raises IdentityProviderUnavailable when that
        cannot be known."""
        ...


def parse_basic(header: str | None) -> Credentials | None:
    """The credential of an ``Authorization: Basic ...`` header; None if absent or malformed."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    if not sep or not username:
        return None
    return Credentials(username, password)


def _digest(password: str) -> bytes:
    return hashlib.sha256(password.encode("utf-8")).digest()


class StaticAuthenticator:
    """A fixed ``{username: password}`` table, for unit tests."""

    def __init__(self, users: Mapping[str, str]) -> None:
        self._users = {name: _digest(password) for name, password in users.items()}

    async def verify(self, username: str, password: str) -> bool:
        expected = self._users.get(username)
        return expected is not None and hmac.compare_digest(expected, _digest(password))


class CachedAuthenticator:
    """Remembers each principal's last verified password (its SHA-256) for ``ttl`` seconds and
    lets concurrent checks of one pair share a single ``check``. Failures are not remembered:
    a principal whose password was just set must not wait for a cache to expire."""

    def __init__(
        self,
        check: Callable[[str, str], Awaitable[bool]],
        *,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._check = check
        self.ttl = ttl
        self._clock = clock
        self._verified: dict[str, tuple[bytes, float]] = {}  # username -> (digest, valid until)
        self._pending: dict[tuple[str, bytes], asyncio.Future[bool]] = {}

    async def verify(self, username: str, password: str) -> bool:
        digest = _digest(password)
        held = self._verified.get(username)
        if held is not None and held[1] > self._clock() and hmac.compare_digest(held[0], digest):
            return True
        key = (username, digest)
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._verify_now(username, password, digest))
            self._pending[key] = pending
            pending.add_done_callback(lambda done: self._settle(key, done))
        # shield: one waiting request that goes away must not cancel the others' check
        return await asyncio.shield(pending)

    async def _verify_now(self, username: str, password: str, digest: bytes) -> bool:
        verified = await self._check(username, password)
        if verified:
            self._verified[username] = (digest, self._clock() + self.ttl)
        return verified

    def _settle(self, key: tuple[str, bytes], done: asyncio.Future[bool]) -> None:
        self._pending.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved, even if every waiter went away meanwhile

    def forget(self, username: str | None = None) -> None:
        """Drop remembered verifications (one principal's, or all: after a rotation)."""
        if username is None:
            self._verified.clear()
        else:
            self._verified.pop(username, None)


class KafkaAuthenticator(CachedAuthenticator):
    """Verifies a pair by a SASL login to the broker, with the protocol, mechanism and CA of
    ``security`` (the registry's own, whose credential is replaced by the pair)."""

    def __init__(
        self,
        bootstrap_servers: str,
        security: KafkaSecurity,
        *,
        ttl: float = DEFAULT_TTL,
        timeout: float = DEFAULT_TIMEOUT,
        max_logins: int = MAX_CONCURRENT_LOGINS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not security.sasl:
            raise ValueError(
                f"Kafka authenticates nobody with security protocol {security.protocol}"
            )
        super().__init__(self._login, ttl=ttl, clock=clock)
        self.bootstrap_servers = bootstrap_servers
        self.security = security
        self.timeout = timeout
        self._logins = asyncio.Semaphore(max_logins)

    async def _login(self, username: str, password: str) -> bool:
        as_principal = self.security.for_principal(Credentials(username, password))
        async with self._logins:
            verified = await kafka_login(self.bootstrap_servers, as_principal, timeout=self.timeout)
        if not verified:
            log.info("registry credential refused by Kafka", extra={"principal": username})
        return verified


def authenticator_for(bootstrap_servers: str, security: KafkaSecurity) -> Authenticator | None:
    """The KafkaAuthenticator when the broker authenticates (SASL), else None: a broker run
    with ``--insecure`` knows no principals, so the registry cannot know them either."""
    if security.sasl:
        return KafkaAuthenticator(bootstrap_servers, security)
    log.warning(
        "registry runs WITHOUT authentication: the broker's security protocol is "
        f"{security.protocol}, so there are no principals to check; every client may write "
        "every subject",
        extra={"security_protocol": security.protocol},
    )
    return None
