"""Staff sessions in signed cookies, CSRF tokens bound to them, and the login rate limit.

No session store: a session is ``login|id|expiry`` signed with HMAC-SHA256 under a key derived
from the hub's master secret, so a restart keeps logins valid and several portal instances accept
each other's. Logging out revokes the id in this process (until it would have expired anyway).
A form's CSRF token is an HMAC of the session id (before login: of a signed pre-session id), so
a page of another site cannot know it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SESSION_COOKIE = "hub_portal_session"
PRESESSION_COOKIE = "hub_portal_csrf"
CSRF_FIELD = "csrf_token"


def session_key(master_secret: bytes) -> bytes:
    """The portal's signing key, derived from the master secret (HKDF, its own ``info``)."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"hub-portal-session-v1"
    ).derive(master_secret)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Session:
    login: str
    sid: str
    expires: float


@dataclass
class SessionCodec:
    key: bytes
    ttl: float
    clock: Callable[[], float] = time.time
    _revoked: dict[str, float] = field(default_factory=dict)

    def _sign(self, text: str) -> str:
        return _b64(hmac.new(self.key, text.encode("utf-8"), hashlib.sha256).digest())

    def issue(self, login: str) -> tuple[str, Session]:
        """A new session (a new id at every login: no session fixation) and its cookie."""
        session = Session(login, secrets.token_urlsafe(16), self.clock() + self.ttl)
        text = f"{login}|{session.sid}|{session.expires:.0f}"
        return f"{_b64(text.encode('utf-8'))}.{self._sign(text)}", session

    def read(self, cookie: str | None) -> Session | None:
        if not cookie or "." not in cookie:
            return None
        body, _, signature = cookie.partition(".")
        try:
            text = _unb64(body).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
        if not hmac.compare_digest(signature, self._sign(text)):
            return None
        login, _, rest = text.partition("|")
        sid, _, expires = rest.partition("|")
        try:
            session = Session(login, sid, float(expires))
        except ValueError:
            return None
        if session.expires < self.clock() or sid in self._revoked:
            return None
        return session

    def revoke(self, session: Session) -> None:
        now = self.clock()
        self._revoked = {s: e for s, e in self._revoked.items() if e >= now}
        self._revoked[session.sid] = session.expires

    # -- CSRF ----------------------------------------------------------------------------------
    def presession(self) -> str:
        """A signed random id for the login form's CSRF token (before there is a session)."""
        sid = secrets.token_urlsafe(16)
        return f"{sid}.{self._sign('pre|' + sid)}"

    def read_presession(self, cookie: str | None) -> str | None:
        if not cookie or "." not in cookie:
            return None
        sid, _, signature = cookie.partition(".")
        return sid if hmac.compare_digest(signature, self._sign("pre|" + sid)) else None

    def csrf_token(self, sid: str) -> str:
        return self._sign("csrf|" + sid)

    def check_csrf(self, sid: str | None, token: str | None) -> bool:
        return bool(sid and token) and hmac.compare_digest(str(token), self.csrf_token(str(sid)))


@dataclass
class LoginLimiter:
    """At most ``attempts`` failed logins per key (client address, login name) in ``window``
    seconds; then ``retry_after`` says how long to wait."""

    attempts: int
    window: float
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def _recent(self, key: str) -> deque[float]:
        now = self.clock()
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def retry_after(self, keys: Iterable[str]) -> float | None:
        waits = []
        for key in keys:
            times = self._recent(key)
            if len(times) >= self.attempts:
                waits.append(times[0] + self.window - self.clock())
        return max(waits) if waits else None

    def failed(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._recent(key).append(self.clock())
        if len(self._failures) > 10_000:  # bounded memory under a spray of names
            self._failures = {k: v for k, v in self._failures.items() if v}

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)
