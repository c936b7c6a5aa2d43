"""Ask a port whether a Kafka broker answers there: one ApiVersions request, no client library.

A raw request keeps `hub broker status` synchronous and tells apart "nothing listens",
"a Kafka broker answers" and "some other program holds the port". ApiVersions is the one
request a broker answers before authentication, so the probe works on a SASL listener too.
"""

from __future__ import annotations

import enum
import socket
import ssl
import struct
from pathlib import Path

_API_VERSIONS = 18
_VERSION = 0  # v0: non-flexible header and body, answered by every broker since 0.10
_CORRELATION_ID = 0x48414D4D  # "HAMM"
_CLIENT_ID = b"hub-probe"


class PortState(enum.Enum):
    FREE = "free"
    KAFKA = "kafka"
    OTHER = "other"


def api_versions_request() -> bytes:
    """An ApiVersions v0 request (an empty body)."""
    header = (
        struct.pack(">hhih", _API_VERSIONS, _VERSION, _CORRELATION_ID, len(_CLIENT_ID)) + _CLIENT_ID
    )
    return struct.pack(">i", len(header)) + header


def apis_in_response(frame: bytes) -> int:
    """Number of APIs listed in an ApiVersions v0 response frame (after its size prefix).

    Raises ValueError when the bytes are not an ApiVersions response to our request.
    """
    if len(frame) < 10:
        raise ValueError("short response")
    correlation_id, error_code, count = struct.unpack_from(">ihi", frame, 0)
    if correlation_id != _CORRELATION_ID or error_code != 0 or not 0 < count < 10_000:
        raise ValueError("not a Kafka ApiVersions response")
    return count


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed")
        chunks += chunk
    return bytes(chunks)


def probe(host: str, port: int, timeout: float = 2.0, tls_ca: Path | None = None) -> PortState:
    """What answers on host:port: nothing, a Kafka broker, or something else. ``tls_ca``: the
    listener speaks TLS with a certificate signed by this CA."""
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError:
        return PortState.FREE
    try:
        if tls_ca is not None:
            context = ssl.create_default_context(cafile=str(tls_ca))
            sock = context.wrap_socket(sock, server_hostname=host)
        sock.sendall(api_versions_request())
        (size,) = struct.unpack(">i", _recv_exact(sock, 4))
        if not 10 <= size < 16 * 1024 * 1024:
            return PortState.OTHER
        return PortState.KAFKA if apis_in_response(_recv_exact(sock, size)) > 0 else PortState.OTHER
    except (OSError, ConnectionError, ValueError, struct.error):
        return PortState.OTHER
    finally:
        sock.close()
