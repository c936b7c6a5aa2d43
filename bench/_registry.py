"""The registry a benchmark talks to: HUB_REGISTRY_URL, else one in a thread on a fresh topic."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator


@contextlib.contextmanager
def registry(bootstrap: str) -> Iterator[str]:
    url = os.environ.get("HUB_REGISTRY_URL")
    if url:
        yield url
        return
    from hub.registry.server import RegistryThread

    with RegistryThread(bootstrap, topic=f"_schemas-bench-{uuid.uuid4().hex[:8]}") as server:
        yield server.url
