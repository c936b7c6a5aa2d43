"""Shared fixtures. Integration tests get a real Kafka broker with authentication and the
authorizer on: reused when one already answers, otherwise started (fetched from Maven Central
on first use) and stopped after the session.

The test process is the super user ``hub-admin`` unless a test says otherwise (its credential
is the one ``hub broker start`` bootstrapped into ``.hub/credentials/``), so every client the
tests build authenticates. Tests of access control create principals of their own with
``kafka_principal`` and connect as them.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Before anything reads the settings: this process is hub-admin (subprocesses inherit it).
os.environ.setdefault("HUB_KAFKA_USERNAME", "hub-admin")
# Test worlds bring catalogs of their own; a router must not apply one to the shared broker.
os.environ.setdefault("HUB_ROUTER_APPLY_ACCESS", "false")
# Absolute: test services run in folders of their own.
os.environ["HUB_CREDENTIALS_DIR"] = os.path.abspath(
    os.environ.get("HUB_CREDENTIALS_DIR", ".hub/credentials")
)

from hub.broker.local import HOST, LocalBroker
from hub.broker.probe import PortState, probe
from hub.credentials import Credentials, CredentialStore, new_password
from hub.kafka import KafkaSecurity
from hub.settings import get_settings


def _own_broker_of_this_worker() -> Path:
    """Under pytest-xdist (``make test`` runs two workers) each worker after the first has a
    broker of its own: the next free ports, its own data and credentials, the same jars. (A
    shared one would be stopped by whichever session started it, and each session sets the
    passwords of the principals it makes.) Returns the folder whose ``lib/`` holds the jars."""
    broker_dir = os.environ.get("HUB_BROKER_DIR", ".hub/kafka").rstrip("/")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker.removeprefix("gw") or 0)
    if index > 0:
        bootstrap = os.environ.get("HUB_BOOTSTRAP_SERVERS", "127.0.0.1:9092").split(",")[0]
        host, port = bootstrap.rsplit(":", 1)
        os.environ["HUB_BOOTSTRAP_SERVERS"] = f"{host}:{int(port) + 10 * index}"
        os.environ["HUB_BROKER_DIR"] = f"{broker_dir}-{worker}"
        credentials = os.environ["HUB_CREDENTIALS_DIR"].rstrip("/")
        os.environ["HUB_CREDENTIALS_DIR"] = f"{credentials}-{worker}"
    return Path(broker_dir).absolute()


JARS_FROM = _own_broker_of_this_worker()

INTEGRATION_DIR = Path(__file__).parent / "integration"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if INTEGRATION_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """The root logger's handlers as they were before the test. A CLI command run in process
    (typer's CliRunner) configures logging onto its own stderr, closed when the command
    returns; a record logged later (an unclosed client's finaliser, in whichever test the
    collector runs) then printed a "Logging error" traceback, and on CPython 3.11 that
    traceback's ``ast.parse`` inside another ``ast.parse`` (typeguard's, importing feast)
    failed the outer one: "AST constructor recursion depth mismatch" (python/cpython#106905)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap servers of a running broker (HUB_BOOTSTRAP_SERVERS, default 127.0.0.1:9092)."""
    settings = get_settings()
    first = settings.bootstrap_servers.split(",")[0]
    host, port = first.rsplit(":", 1)
    if probe(host, int(port)) is PortState.KAFKA:
        yield settings.bootstrap_servers
        return
    if host not in (HOST, "localhost"):
        pytest.fail(
            f"no Kafka broker answers on {first} and it is not local: cannot start one "
            "(a broker elsewhere serves one test session: make test TEST_WORKERS=1)"
        )
    _jars_in(Path(settings.broker_dir))
    broker = LocalBroker(
        home=settings.broker_dir, port=int(port), credentials_dir=settings.credentials_dir
    )
    broker.start()
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


def _jars_in(broker_dir: Path) -> None:
    """The broker's jars fetched once into ``JARS_FROM`` (a lock: xdist's workers start at
    once) and linked into ``broker_dir`` when that is another worker's."""
    import fcntl

    JARS_FROM.mkdir(parents=True, exist_ok=True)
    with open(JARS_FROM / ".fetch.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        LocalBroker(home=JARS_FROM).fetch()
    lib = broker_dir / "lib"
    if broker_dir.absolute() != JARS_FROM and not lib.is_symlink() and not lib.exists():
        broker_dir.mkdir(parents=True, exist_ok=True)
        lib.symlink_to(JARS_FROM / "lib")


@pytest.fixture(scope="session")
def kafka_security(kafka_bootstrap: str) -> KafkaSecurity:
    """How this test process authenticates: as hub-admin (the super user)."""
    return KafkaSecurity.from_settings()


@pytest.fixture(scope="session")
def kafka_principal(
    kafka_bootstrap: str, kafka_security: KafkaSecurity
) -> Callable[[str], KafkaSecurity]:
    """Create (or reset) the SCRAM credential of a principal; returns its security. Its ACLs are
    the test's business (``hub access apply`` with a catalog, or none at all)."""
    from confluent_kafka.admin import (
        AdminClient,
        ScramCredentialInfo,
        ScramMechanism,
        UserScramCredentialUpsertion,
    )

    admin = AdminClient({"bootstrap.servers": kafka_bootstrap, **kafka_security.confluent()})
    made: dict[str, KafkaSecurity] = {}

    def make(name: str) -> KafkaSecurity:
        if name not in made:
            password = new_password()
            upsert = UserScramCredentialUpsertion(
                name,
                ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096),
                password.encode(),
            )
            for future in admin.alter_user_scram_credentials([upsert]).values():
                future.result(timeout=30)
            credential = Credentials(name, password)
            # Kept where a service of this machine looks for it (``hub demo`` then leaves it be).
            CredentialStore(get_settings().credentials_dir).write(credential)
            made[name] = kafka_security.for_principal(credential)
        return made[name]

    return make


@pytest.fixture(scope="session")
def router_security(kafka_principal: Callable[[str], KafkaSecurity]) -> KafkaSecurity:
    """The router's own principal, hub-router, with a password of this session."""
    return kafka_principal("hub-router")


@pytest.fixture(scope="session")
def registry_url(kafka_bootstrap: str, kafka_security: KafkaSecurity) -> Iterator[str]:
    """A hub schema registry for the session, on its own fresh ``_schemas`` topic, in a thread
    of its own (so blocking clients such as confluent-kafka's work from any test).

    Secured as ``hub registry serve`` runs it: HTTP Basic verified against Kafka, writes
    authorized by the repository's ``catalog/departments.yaml``, raw schemas held to the
    contract. The hub's clients authenticate as this process (hub-admin) by default;
    Confluent's need ``identity.registry_config(url)``."""
    from hub.access.principals import load_principals
    from hub.registry.auth import authenticator_for
    from hub.registry.server import RegistryThread

    principals = load_principals(Path(__file__).parents[1] / "catalog" / "departments.yaml")
    with RegistryThread(
        kafka_bootstrap,
        topic=f"_schemas-test-{uuid.uuid4().hex[:8]}",
        security=kafka_security,
        principals=principals,
        authenticator=authenticator_for(kafka_bootstrap, kafka_security),
    ) as srv:
        yield srv.url


@pytest.fixture
def unique_topic() -> Callable[[str], str]:
    """Fresh topic names, so tests never see each other's records."""

    def make(prefix: str = "test") -> str:
        return f"test.{prefix}.{uuid.uuid4().hex[:10]}"

    return make
