"""Credentials of principals: generated, kept in files of mode 0600, never logged.

A credential file is a librdkafka properties file, so the same file configures the hub's
clients, ``kcat -F`` and any librdkafka-based tool::

    security.protocol=SASL_PLAINTEXT
    sasl.mechanisms=SCRAM-SHA-512
    sasl.username=statistikstelle
    sasl.password=...

The catalog names principals; passwords live only here (or in a city's secret store, handed
to a service as ``HUB_KAFKA_PASSWORD``).
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

PASSWORD_BYTES = 24  # 192 bits: nothing to brute-force, short enough to paste
_PRINCIPAL = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


class CredentialsError(ValueError):
    """A credential is missing or unreadable; the message names the principal and the file."""


@dataclass(frozen=True)
class Credentials:
    """A principal's name and password; the password never appears in ``repr``."""

    username: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        if not self.username:
            raise CredentialsError("a credential needs a username")


def new_password() -> str:
    """A fresh random password (URL-safe, no characters that need quoting in JAAS)."""
    return secrets.token_urlsafe(PASSWORD_BYTES)


def check_principal_name(name: str) -> str:
    """Principal names become Kafka user names, file names and ACL principals: keep them plain."""
    if not _PRINCIPAL.match(name):
        raise CredentialsError(
            f"principal {name!r}: use lowercase letters, digits, '.', '_' and '-' (at most 63)"
        )
    return name


def parse_properties(text: str) -> dict[str, str]:
    """``key=value`` lines; ``#`` and ``!`` start comments (Java properties, the simple subset)."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    return values


def read_credentials_file(path: Path) -> Credentials:
    """The ``sasl.username``/``sasl.password`` of a properties file."""
    try:
        values = parse_properties(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise CredentialsError(f"{path}: cannot read: {exc.strerror or exc}") from None
    username, password = values.get("sasl.username"), values.get("sasl.password")
    if not username or not password:
        raise CredentialsError(f"{path}: needs sasl.username and sasl.password")
    return Credentials(username, password)


def render_properties(
    credentials: Credentials,
    *,
    security_protocol: str = "SASL_PLAINTEXT",
    mechanism: str = "SCRAM-SHA-512",
) -> str:
    return (
        f"# Kafka credential of the principal {credentials.username} (hub access users).\n"
        "# Keep it secret: mode 0600, never in the catalog or a repository.\n"
        f"security.protocol={security_protocol}\n"
        f"sasl.mechanisms={mechanism}\n"
        f"sasl.username={credentials.username}\n"
        f"sasl.password={credentials.password}\n"
    )


def write_private(path: Path, text: str, *, private_dir: bool = False) -> None:
    """Write ``text`` to ``path`` with mode 0600 from the first byte on (no window where the
    file is readable by others), replacing it atomically; ``private_dir``: the folder 0700."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if private_dir:
        os.chmod(path.parent, 0o700)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class CredentialStore:
    """One ``<principal>.properties`` a principal under ``directory``."""

    directory: Path

    def path(self, principal: str) -> Path:
        return Path(self.directory) / f"{check_principal_name(principal)}.properties"

    def exists(self, principal: str) -> bool:
        return self.path(principal).is_file()

    def read(self, principal: str) -> Credentials:
        path = self.path(principal)
        if not path.is_file():
            raise CredentialsError(
                f"no credential for the Kafka principal {principal!r} ({path} does not exist): "
                "set HUB_KAFKA_PASSWORD or HUB_KAFKA_CREDENTIALS_FILE, or create it with "
                f"`hub access users add {principal}`"
            )
        found = read_credentials_file(path)
        if found.username != principal:
            raise CredentialsError(
                f"{path}: sasl.username is {found.username!r}, expected {principal!r}"
            )
        return found

    def write(self, credentials: Credentials, **options: str) -> Path:
        path = self.path(credentials.username)
        write_private(path, render_properties(credentials, **options), private_dir=True)
        return path

    def principals(self) -> list[str]:
        if not Path(self.directory).is_dir():
            return []
        return sorted(p.stem for p in Path(self.directory).glob("*.properties"))
