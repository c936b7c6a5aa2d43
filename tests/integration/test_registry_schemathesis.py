"""schemathesis against the live registry: every operation of its OpenAPI document, fuzzed,
with every check of schemathesis (status codes, content types, headers, response schemas,
negative data rejected, positive data accepted, auth not ignored, Allow headers).

The registry runs on a ``_schemas`` topic of its own: the fuzzer sets the global mode and
compatibility, which would disturb the other tests' registry. Bounded: fixed seed, a small
number of examples per operation, one worker.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from hub.kafka import KafkaSecurity

HERE = Path(__file__).parent
SEED = "20261201"


@pytest.fixture
def fuzzed_registry(kafka_bootstrap: str, kafka_security: KafkaSecurity):
    from hub.access.principals import load_principals
    from hub.registry.auth import authenticator_for
    from hub.registry.server import RegistryThread

    principals = load_principals(HERE.parents[1] / "catalog" / "departments.yaml")
    with RegistryThread(
        kafka_bootstrap,
        topic=f"_schemas-fuzz-{uuid.uuid4().hex[:8]}",
        security=kafka_security,
        principals=principals,
        authenticator=authenticator_for(kafka_bootstrap, kafka_security),
    ) as srv:
        yield srv.url


def test_schemathesis_finds_no_failure(
    fuzzed_registry: str, kafka_security: KafkaSecurity, tmp_path: Path
) -> None:
    credentials = kafka_security.credentials
    assert credentials is not None, "the test session authenticates as hub-admin"
    document = httpx.get(f"{fuzzed_registry}/openapi.json", timeout=10)
    assert document.status_code == 200 and document.json()["openapi"].startswith("3.")
    # The credential reaches schemathesis through its environment, never its command line.
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        '[auth.basic]\nusername = "${HUB_FUZZ_USER}"\npassword = "${HUB_FUZZ_PASSWORD}"\n\n'
        + (HERE / "schemathesis-registry.toml").read_text(encoding="utf-8")
    )
    env = {
        **os.environ,
        "HUB_FUZZ_USER": credentials.username,
        "HUB_FUZZ_PASSWORD": credentials.password,
    }
    st = Path(sys.executable).with_name("st")
    result = subprocess.run(
        [
            str(st),
            "--config-file",
            str(config),
            "run",
            f"{fuzzed_registry}/openapi.json",
            "--checks",
            "all",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "15",
            "--seed",
            SEED,
            "--workers",
            "1",
            "--request-timeout",
            "10",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "passed" in output
