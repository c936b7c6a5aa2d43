"""`hub connect files` as a process: SIGTERM in the middle of a big export stops after the
transaction in flight (exit 0), and a restart with --once publishes the rest, each row once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import yaml
from connect_world import REPO, Dept

MAPPING = REPO / "catalog" / "mappings" / "ordnungsamt-parking-violations.yaml"
HEADER = (
    "Aktenzeichen;Tatzeit;Kennzeichen;Tatbestand;Breitengrad;Längengrad;Straße;PLZ;"
    "Verwarngeld;Dienstnummer;Behinderung"
)
ROWS = 3000


def command(*args: str) -> list[str]:
    return [sys.executable, "-c", "from producers.connectors.cli import app; app()", *args]


async def test_sigterm_mid_file_then_once_publishes_every_row_once(
    kafka_bootstrap, registry_url, tmp_path
):
    dept = Dept(kafka_bootstrap, registry_url)
    topic = await dept.register()
    mapping = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
    mapping["topic"] = topic
    mapping_file = tmp_path / "mapping.yaml"
    mapping_file.write_text(yaml.safe_dump(mapping, allow_unicode=True), encoding="utf-8")
    drop = tmp_path / "drop"
    drop.mkdir()
    lines = [HEADER] + [
        f"B-{i};24.11.2026 07:45;HAM-B {i};Gehweg;51,68;7,82;Weg;59065;55;OD-1;nein"
        for i in range(ROWS)
    ]
    export = drop / "gross.csv"
    export.write_text("\n".join(lines) + "\n", encoding="cp1252")
    os.utime(export, (time.time() - 60, time.time() - 60))  # settled: taken at once
    env = {
        **os.environ,
        "HUB_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "HUB_REGISTRY_URL": registry_url,
        "HUB_CONNECT_PROGRESS_TOPIC": f"{dept.name}.connect.progress",
        "HUB_CONNECT_METRICS_PORT": "0",
    }
    args = ["files", "--dir", str(drop), "--mapping", str(mapping_file), "--chunk-size", "50"]
    watcher = subprocess.Popen(
        command(*args), cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        # wait until some rows are on the topic, then stop it in the middle of the file
        first = await asyncio.to_thread(dept.read, topic, 1, 60, 0.0)
        assert first, "the connector published nothing"
        watcher.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(watcher.wait, 60)
    finally:
        if watcher.poll() is None:
            watcher.kill()
    output = watcher.stdout.read().decode() if watcher.stdout else ""
    assert code == 0, output
    interrupted = export.exists()

    rerun = await asyncio.to_thread(
        subprocess.run,
        command(*args, "--once"),
        cwd=REPO,
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert rerun.returncode == 0, rerun.stdout.decode() + rerun.stderr.decode()
    assert not export.exists() and (drop / "done" / "gross.csv").exists()

    messages = await asyncio.to_thread(dept.read, topic, ROWS)
    counts = Counter(m.key() for m in messages)
    assert len(counts) == ROWS and max(counts.values()) == 1
    assert interrupted or len(messages) == ROWS  # stopped mid-file (usually) or finished first
