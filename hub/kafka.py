"""How a hub client authenticates to Kafka: one value, resolved once at the composition root.

Every service, the SDK, the connectors, the CLI and the benchmarks build their clients with
``AIOKafkaProducer(bootstrap_servers=..., **security.aiokafka())`` (or ``.confluent()`` for
confluent-kafka). Which principal a process is comes from the settings (``HUB_KAFKA_USERNAME``)
or, when unset, from the component itself: the router is ``hub-router``, a connector is its
department. The password comes from ``HUB_KAFKA_PASSWORD``, ``HUB_KAFKA_CREDENTIALS_FILE`` or
the local credential store (``.hub/credentials/<principal>.properties``).
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.credentials import (
    Credentials,
    CredentialsError,
    CredentialStore,
    read_credentials_file,
)
from hub.settings import Settings, get_settings

SASL_PROTOCOLS = ("SASL_PLAINTEXT", "SASL_SSL")
LOGIN_TIMEOUT = 10.0


class KafkaAuthError(RuntimeError):
    """The broker refused this principal's credential: stop at start, do not retry."""


class KafkaUnreachable(RuntimeError):
    """No broker could be asked (unreachable, or its SASL setup does not fit ours)."""


@dataclass(frozen=True)
class KafkaSecurity:
    """Security protocol, SASL mechanism and credential of one Kafka principal.

    ``from_settings`` defers reading the password until a client needs it, so building a
    service's configuration never touches a secret file; a missing credential fails when the
    service starts, with a line that names the principal.
    """

    protocol: str = "SASL_PLAINTEXT"
    mechanism: str = "SCRAM-SHA-512"
    given: Credentials | None = field(default=None, repr=False)
    ca_location: Path | None = None
    resolve: Callable[[], Credentials] | None = field(default=None, repr=False, compare=False)
    pending_principal: str | None = None

    @property
    def credentials(self) -> Credentials | None:
        if self.given is None and self.resolve is not None:
            object.__setattr__(self, "given", self.resolve())
        return self.given

    @property
    def principal(self) -> str | None:
        return self.given.username if self.given else self.pending_principal

    @property
    def sasl(self) -> bool:
        return self.protocol in SASL_PROTOCOLS

    @classmethod
    def from_settings(
        cls, settings: Settings | None = None, principal: str | None = None
    ) -> KafkaSecurity:
        """The security of this process: ``principal`` is the component's own name, used when
        ``HUB_KAFKA_USERNAME`` is unset. Reading the credential raises CredentialsError naming
        the principal, when a client first needs it."""
        settings = settings or get_settings()
        protocol = settings.kafka_security_protocol
        ca = settings.kafka_ssl_ca_location
        if protocol not in SASL_PROTOCOLS:
            return cls(protocol, settings.kafka_sasl_mechanism, None, ca)
        return cls(
            protocol,
            settings.kafka_sasl_mechanism,
            None,
            ca,
            resolve=lambda: resolve_credentials(settings, principal),
            pending_principal=settings.kafka_username or principal,
        )

    def for_principal(self, credentials: Credentials) -> KafkaSecurity:
        """The same protocol, as another principal (tests, ``hub access`` checks)."""
        return KafkaSecurity(self.protocol, self.mechanism, credentials, self.ca_location)

    def aiokafka(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka's producer, consumer and admin client."""
        options: dict[str, Any] = {"security_protocol": self.protocol}
        if self.protocol in ("SSL", "SASL_SSL"):
            options["ssl_context"] = _ssl_context(self.ca_location)
        if self.sasl:
            assert self.credentials is not None
            options.update(
                sasl_mechanism=self.mechanism,
                sasl_plain_username=self.credentials.username,
                sasl_plain_password=self.credentials.password,
            )
        return options

    def faststream(self) -> Any:
        """The ``security=`` of a FastStream ``KafkaBroker`` (None without SASL)."""
        if not self.sasl:
            return None
        from faststream.security import SASLPlaintext, SASLScram256, SASLScram512

        kind = {"SCRAM-SHA-512": SASLScram512, "SCRAM-SHA-256": SASLScram256}.get(
            self.mechanism, SASLPlaintext
        )
        assert self.credentials is not None
        return kind(
            username=self.credentials.username,
            password=self.credentials.password,
            use_ssl=self.protocol == "SASL_SSL",
        )

    def confluent(self) -> dict[str, str]:
        """librdkafka configuration properties (confluent-kafka)."""
        config = {"security.protocol": self.protocol}
        if self.ca_location is not None:
            config["ssl.ca.location"] = str(self.ca_location)
        if self.sasl:
            assert self.credentials is not None
            config.update(
                {
                    "sasl.mechanisms": self.mechanism,
                    "sasl.username": self.credentials.username,
                    "sasl.password": self.credentials.password,
                }
            )
        return config


def resolve_credentials(settings: Settings, principal: str | None = None) -> Credentials:
    """The credential this process uses: settings first, then the component's own principal."""
    if settings.kafka_credentials_file is not None:
        found = read_credentials_file(settings.kafka_credentials_file)
        if settings.kafka_username and settings.kafka_username != found.username:
            raise CredentialsError(
                f"HUB_KAFKA_CREDENTIALS_FILE {settings.kafka_credentials_file} is for "
                f"{found.username!r}, but HUB_KAFKA_USERNAME is {settings.kafka_username!r}"
            )
        return found
    username = settings.kafka_username or principal
    if not username:
        raise CredentialsError(
            "no Kafka principal: set HUB_KAFKA_USERNAME (and HUB_KAFKA_PASSWORD or "
            "HUB_KAFKA_CREDENTIALS_FILE)"
        )
    if settings.kafka_password is not None:
        return Credentials(username, settings.kafka_password.get_secret_value())
    return CredentialStore(settings.credentials_dir).read(username)


def registry_credentials(
    settings: Settings | None = None, principal: str | None = None
) -> Credentials | None:
    """HTTP Basic credential for the schema registry: ``HUB_REGISTRY_BASIC_AUTH_USER_INFO``, or
    the process's Kafka credential; None when neither is configured (an open registry)."""
    settings = settings or get_settings()
    if settings.registry_basic_auth_user_info is not None:
        user, sep, password = settings.registry_basic_auth_user_info.get_secret_value().partition(
            ":"
        )
        if not sep or not user:
            raise CredentialsError("HUB_REGISTRY_BASIC_AUTH_USER_INFO: expected user:password")
        return Credentials(user, password)
    try:
        return resolve_credentials(settings, principal)
    except CredentialsError:
        if settings.kafka_security_protocol in SASL_PROTOCOLS:
            raise
        return None  # an insecure broker: the registry runs without authentication too


def registry_auth(security: KafkaSecurity, settings: Settings | None = None) -> Credentials | None:
    """What a component sends to the registry: HUB_REGISTRY_BASIC_AUTH_USER_INFO if set, else its
    Kafka credential (the registry verifies passwords against Kafka)."""
    settings = settings or get_settings()
    if settings.registry_basic_auth_user_info is not None:
        return registry_credentials(settings)
    try:
        return security.credentials
    except CredentialsError:
        return None  # the Kafka client's start says what is missing, naming the principal


async def start_client(client: Any, security: KafkaSecurity, bootstrap: str) -> None:
    """``await client.start()``; a refused login raises KafkaAuthError at once (one line that
    names the principal) instead of a connection error that invites retries."""
    from aiokafka.errors import KafkaConnectionError

    try:
        await client.start()
    except KafkaConnectionError as exc:
        if security.sasl and _broker_answers(bootstrap):
            with contextlib.suppress(Exception):
                await _close(client)
            raise KafkaAuthError(describe_auth_failure(security, exc)) from None
        raise


async def kafka_login(
    bootstrap_servers: str, security: KafkaSecurity, *, timeout: float = LOGIN_TIMEOUT
) -> bool:
    """Log in to a broker of ``bootstrap_servers`` as ``security``'s principal and log out.

    True if a broker accepted the credential, False if one refused it; KafkaUnreachable
    if none answered (or the broker's SASL setup does not fit ours)."""
    from aiokafka.conn import create_conn, get_ip_port_afi
    from aiokafka.errors import (
        IllegalSaslStateError,
        KafkaError,
        SaslAuthenticationFailed,
        UnsupportedSaslMechanismError,
    )

    options = security.aiokafka()
    last: BaseException | None = None
    for host_port in bootstrap_servers.split(","):
        host, port, _ = get_ip_port_afi(host_port.strip())
        try:
            conn = await create_conn(host, port, request_timeout_ms=int(timeout * 1000), **options)
        except (SaslAuthenticationFailed, IllegalSaslStateError):
            return False
        except UnsupportedSaslMechanismError as exc:
            raise KafkaUnreachable(
                f"the broker does not offer {security.mechanism}: {exc}"
            ) from None
        except (OSError, TimeoutError, KafkaError) as exc:
            last = exc
            continue
        conn.close()
        return True
    raise KafkaUnreachable(
        f"no Kafka broker of {bootstrap_servers} answered: {type(last).__name__}: {last}"
    )


async def check_login(bootstrap: str, security: KafkaSecurity) -> None:
    """Log in once and out again: services that start Kafka clients inside a web server's
    startup call this first, so a refused credential is one line and an exit, not a trace."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **security.aiokafka())
    await start_client(admin, security, bootstrap)
    await admin.close()


async def _close(client: Any) -> None:
    for name in ("stop", "close"):
        method = getattr(client, name, None)
        if method is not None:
            await method()
            return


def _broker_answers(bootstrap: str) -> bool:
    """A broker answers ApiVersions on the first bootstrap server: then a failed start was the
    credential (or the mechanism), not the network."""
    from hub.broker.probe import PortState, probe

    host, _, port = bootstrap.split(",")[0].rpartition(":")
    return probe(host.strip("[]"), int(port), timeout=2.0) is PortState.KAFKA


def _ssl_context(ca_location: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca_location) if ca_location else None)
    return context


def describe_auth_failure(security: KafkaSecurity, error: BaseException) -> str:
    """One line for a refused login, naming the principal (never the password)."""
    who = security.principal or "(no principal)"
    return (
        f"Kafka refused the credential of the principal {who!r} ({type(error).__name__}): "
        "check HUB_KAFKA_USERNAME/HUB_KAFKA_PASSWORD or the credential file, or rotate it with "
        f"`hub access users rotate {who}`"
    )
