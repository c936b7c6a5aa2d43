"""Ask a port whether a Kafka broker answers there: one Metadata request, no client library.

A raw request keeps `hub broker status` synchronous and tells apart "nothing listens",
"a Kafka broker answers" and "some other program holds the port".
"""

from __future__ import annotations

import enum
import socket
import struct

_METADATA = 3
_VERSION = 4  # Kafka 4 removed Metadata v0-v3 (KIP-896); v4 is non-flexible and easy to frame.
_CORRELATION_ID = 0x48414D4D  # "HAMM"
_CLIENT_ID = b"hub-probe"


class PortState(enum.Enum):
    FREE = "free"
    KAFKA = "kafka"
    OTHER = "other"


def metadata_request() -> bytes:
    """A Metadata v4 request for no topics (we only want to see brokers)."""
    header = (
        struct.pack(">hhih", _METADATA, _VERSION, _CORRELATION_ID, len(_CLIENT_ID)) + _CLIENT_ID
    )
    body = struct.pack(">i?", 0, False)  # empty topic list, no auto-creation
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


def brokers_in_response(frame: bytes) -> int:
    """Number of brokers listed in a Metadata v4 response frame (after its size prefix).

    Raises ValueError when the bytes are not a Metadata response to our request.
    """
    if len(frame) < 12:
        raise ValueError("short response")
    correlation_id, _throttle, count = struct.unpack_from(">iii", frame, 0)
    if correlation_id != _CORRELATION_ID or not 0 <= count < 10_000:
        raise ValueError("not a Kafka metadata response")
    return count


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed")
        chunks += chunk
    return bytes(chunks)


def probe(host: str, port: int, timeout: float = 2.0) -> PortState:
    """What answers on host:port: nothing, a Kafka broker with at least one live broker, or else."""
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError:
        return PortState.FREE
    try:
        sock.sendall(metadata_request())
        (size,) = struct.unpack(">i", _recv_exact(sock, 4))
        if not 12 <= size < 16 * 1024 * 1024:
            return PortState.OTHER
        return (
            PortState.KAFKA if brokers_in_response(_recv_exact(sock, size)) > 0 else PortState.OTHER
        )
    except (OSError, ConnectionError, ValueError, struct.error):
        return PortState.OTHER
    finally:
        sock.close()
