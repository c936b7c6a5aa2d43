"""The schemas of Strimzi's custom resources, for checking manifests offline.

Strimzi publishes its CRDs in the test jar of ``io.strimzi:api`` on Maven Central
(``crds/v1beta2/04x-Crd-*.yaml``). The ``openAPIV3Schema`` of the ``v1beta2`` version of the
kinds the hub uses, without descriptions, is vendored beside this module; regenerate it with

    python -m hub.deploy.crds

(which fetches the jar with ``mvn dependency:get`` into ``~/.m2`` first, or reads the jar given
as its argument).
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path
from typing import Any

import yaml

from hub.maven import MavenError, mvn

STRIMZI_VERSION = "0.49.0"
API_VERSION = "v1beta2"
KINDS = ("Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser")
VENDORED = Path(__file__).with_name(f"strimzi-{STRIMZI_VERSION}-crd-schemas.json")


def _without_descriptions(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_descriptions(v) for k, v in node.items() if k != "description"}
    if isinstance(node, list):
        return [_without_descriptions(v) for v in node]
    return node


def extract(jar: Path) -> dict[str, Any]:
    """``{kind: openAPIV3Schema}`` of the ``v1beta2`` CRDs in Strimzi's api test jar."""
    schemas: dict[str, Any] = {}
    with zipfile.ZipFile(jar) as archive:
        for name in sorted(archive.namelist()):
            if not name.startswith(f"crds/{API_VERSION}/") or not name.endswith(".yaml"):
                continue
            crd = yaml.safe_load(archive.read(name))
            kind = crd["spec"]["names"]["kind"]
            if kind not in KINDS:
                continue
            for version in crd["spec"]["versions"]:
                if version["name"] == API_VERSION:
                    schemas[kind] = _without_descriptions(version["schema"]["openAPIV3Schema"])
    missing = set(KINDS) - set(schemas)
    if missing:
        raise ValueError(f"{jar}: no {API_VERSION} schema for {', '.join(sorted(missing))}")
    return schemas


def document(schemas: dict[str, Any]) -> dict[str, Any]:
    return {
        "source": f"io.strimzi:api:{STRIMZI_VERSION}:jar:tests, crds/{API_VERSION}/*.yaml "
        "(Maven Central), openAPIV3Schema without descriptions",
        "strimzi": STRIMZI_VERSION,
        "apiVersion": f"kafka.strimzi.io/{API_VERSION}",
        "schemas": {kind: schemas[kind] for kind in KINDS},
    }


def tests_jar() -> Path:
    """Where Maven keeps the test jar of ``io.strimzi:api``."""
    v = STRIMZI_VERSION
    return Path.home() / f".m2/repository/io/strimzi/api/{v}/api-{v}-tests.jar"


def fetch_tests_jar(timeout: float = 300) -> Path:
    """The test jar, fetched from Maven Central with ``mvn`` unless already there."""
    jar = tests_jar()
    if jar.is_file():
        return jar
    artifact = f"-Dartifact=io.strimzi:api:{STRIMZI_VERSION}:jar:tests"
    try:
        mvn("dependency:get", artifact, "-Dtransitive=false", what=jar.name, timeout=timeout)
    except MavenError as error:
        raise FileNotFoundError(str(error)) from None
    if not jar.is_file():
        raise FileNotFoundError(f"mvn fetched {jar.name} but it is not at {jar}")
    return jar


def vendored() -> dict[str, Any]:
    """``{kind: schema}`` as vendored."""
    return json.loads(VENDORED.read_text(encoding="utf-8"))["schemas"]


if __name__ == "__main__":
    jar = Path(sys.argv[1]) if len(sys.argv) > 1 else fetch_tests_jar()
    text = json.dumps(document(extract(jar)), sort_keys=True, separators=(",", ":"))
    VENDORED.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {VENDORED}")
