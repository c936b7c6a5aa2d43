"""The local broker's security: SASL/SCRAM on the client listener, PLAIN between controller
and broker, the StandardAuthorizer with deny by default.

- The client listener speaks SASL_PLAINTEXT on loopback, SASL_SSL when a certificate is
  configured (``hub broker certs`` makes one), with SCRAM-SHA-512 only.
- The controller listener authenticates with its own PLAIN credential: KRaft controllers do
  not support SCRAM (their credentials would live in the metadata log they serve).
- ``super.users`` is the broker itself and ``hub-admin``, never ``User:ANONYMOUS``; every
  other principal gets exactly the ACLs that ``hub access apply`` derives from the catalog.
- The broker's and the admin's SCRAM credentials are bootstrapped when storage is formatted
  (``--add-scram``); every other principal is created through the Admin API.

The state (mode and the broker's password) is kept in ``<home>/security.properties`` with mode
0600, so a data dir is never started with another mode than it was formatted with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hub.credentials import Credentials, new_password, parse_properties, write_private

BROKER_PRINCIPAL = "broker"
ADMIN_PRINCIPAL = "hub-admin"
MECHANISM = "SCRAM-SHA-512"
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
SECURE, INSECURE = "sasl", "insecure"


@dataclass(frozen=True)
class TlsFiles:
    """The broker's certificate: a PKCS#12 keystore (key + chain) and its password."""

    keystore: Path
    key_password: str = field(repr=False)
    ca: Path | None = None  # the broker trusts it too: it is its own client between listeners


@dataclass(frozen=True)
class BrokerSecurity:
    mode: str = SECURE
    broker_password: str = field(default="", repr=False)
    tls: TlsFiles | None = None

    @property
    def secure(self) -> bool:
        return self.mode == SECURE

    @property
    def client_protocol(self) -> str:
        if not self.secure:
            return "PLAINTEXT"
        return "SASL_SSL" if self.tls else "SASL_PLAINTEXT"


def _jaas(module: str, username: str, password: str, *extra: str) -> str:
    options = " ".join((f'username="{username}"', f'password="{password}"', *extra))
    return f"org.apache.kafka.common.security.{module} required {options};"


def security_properties(
    port: int, controller_port: int, security: BrokerSecurity, host: str = "127.0.0.1"
) -> str:
    """The listener and security lines of ``server.properties``."""
    if not security.secure:
        return "\n".join(
            (
                "# --insecure: no authentication, no authorization (never in production)",
                f"listeners=PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller_port}",
                f"advertised.listeners=PLAINTEXT://{host}:{port}",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            )
        )
    pw = security.broker_password
    lines = [
        "# Clients authenticate with SCRAM-SHA-512; the controller with its own PLAIN credential.",
        f"listeners=CLIENT://{host}:{port},CONTROLLER://{host}:{controller_port}",
        f"advertised.listeners=CLIENT://{host}:{port}",
        "inter.broker.listener.name=CLIENT",
        f"listener.security.protocol.map=CLIENT:{security.client_protocol},CONTROLLER:SASL_PLAINTEXT",
        f"sasl.enabled.mechanisms={MECHANISM}",
        f"sasl.mechanism.inter.broker.protocol={MECHANISM}",
        f"listener.name.client.sasl.enabled.mechanisms={MECHANISM}",
        "listener.name.client.scram-sha-512.sasl.jaas.config="
        + _jaas("scram.ScramLoginModule", BROKER_PRINCIPAL, pw),
        "sasl.mechanism.controller.protocol=PLAIN",
        "listener.name.controller.sasl.enabled.mechanisms=PLAIN",
        "listener.name.controller.plain.sasl.jaas.config="
        + _jaas("plain.PlainLoginModule", BROKER_PRINCIPAL, pw, f'user_{BROKER_PRINCIPAL}="{pw}"'),
        "",
        "# Deny by default: only ACLs derived from the catalog open anything (hub access apply).",
        f"authorizer.class.name={AUTHORIZER}",
        "allow.everyone.if.no.acl.found=false",
        f"super.users=User:{BROKER_PRINCIPAL};User:{ADMIN_PRINCIPAL}",
        # A refused login costs the client a second: password guessing gets slow.
        "connection.failed.authentication.delay.ms=1000",
    ]
    if security.tls:
        lines += [
            "",
            "ssl.keystore.type=PKCS12",
            f"ssl.keystore.location={security.tls.keystore}",
            f"ssl.keystore.password={security.tls.key_password}",
            f"ssl.key.password={security.tls.key_password}",
            "ssl.client.auth=none",
        ]
        if security.tls.ca is not None:
            lines += ["ssl.truststore.type=PEM", f"ssl.truststore.location={security.tls.ca}"]
    return "\n".join(lines)


def scram_bootstrap_args(security: BrokerSecurity, admin: Credentials) -> list[str]:
    """``kafka-storage format`` arguments that create the broker's and the admin's SCRAM
    credentials in the first metadata of the cluster."""
    if not security.secure:
        return []
    args: list[str] = []
    for name, password in (
        (BROKER_PRINCIPAL, security.broker_password),
        (admin.username, admin.password),
    ):
        args += ["--add-scram", f"{MECHANISM}=[name={name},password={password}]"]
    return args


def read_state(path: Path) -> BrokerSecurity | None:
    """The security a data dir was formatted with, or None when the file does not exist."""
    if not path.is_file():
        return None
    values = parse_properties(path.read_text(encoding="utf-8"))
    mode = values.get("mode", "")
    if mode not in (SECURE, INSECURE):
        raise ValueError(f"{path}: mode must be {SECURE} or {INSECURE}, found {mode!r}")
    tls = None
    if values.get("tls.keystore"):
        ca = Path(values["tls.ca"]) if values.get("tls.ca") else None
        tls = TlsFiles(Path(values["tls.keystore"]), values.get("tls.key.password", ""), ca)
    return BrokerSecurity(mode, values.get("broker.password", ""), tls)


def write_state(path: Path, security: BrokerSecurity) -> None:
    lines = [
        "# Security of this broker's data dir (hub broker). Secret: mode 0600.",
        f"mode={security.mode}",
    ]
    if security.secure:
        lines.append(f"broker.password={security.broker_password}")
    if security.tls:
        lines += [
            f"tls.keystore={security.tls.keystore}",
            f"tls.key.password={security.tls.key_password}",
        ]
        if security.tls.ca is not None:
            lines.append(f"tls.ca={security.tls.ca}")
    write_private(path, "\n".join(lines) + "\n")


def new_security(insecure: bool, tls: TlsFiles | None = None) -> BrokerSecurity:
    if insecure:
        return BrokerSecurity(INSECURE)
    return BrokerSecurity(SECURE, new_password(), tls)
