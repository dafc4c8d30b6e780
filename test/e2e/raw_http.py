"""Raw HTTP/1.1 over a socket, for requests no well-behaved client library would send."""

import contextlib
import json
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from test.e2e.server import RunningServer

_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class RawAnswer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    closed: bool
    """Whether the server closed the connection after this answer."""

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key == name.lower()]
        return values[0] if values else None

    def json(self) -> Any:
        return json.loads(self.body)


def connect(server: RunningServer) -> socket.socket:
    address = urlsplit(server.base_url)
    assert address.hostname is not None
    assert address.port is not None
    return socket.create_connection((address.hostname, address.port), timeout=_TIMEOUT_SECONDS)


def exchange(server: RunningServer, request: bytes) -> RawAnswer:
    """Send `request` whole on a new connection and read the one answer it gets."""
    with connect(server) as sock:
        # Refused mid-send, the answer may still be waiting to be read.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request)
        return read_answer(sock)


def read_answer(sock: socket.socket) -> RawAnswer:
    """One answer from `sock` (framed by Content-Length, or none for HEAD/204/304), and
    whether the server then closed the connection."""
    buffered = b""
    while b"\r\n\r\n" not in buffered:
        chunk = _recv(sock)
        if not chunk:
            raise AssertionError(f"connection closed before an answer: {buffered!r}")
        buffered += chunk
    head, _, rest = buffered.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ")[1])
    headers = [
        (name.strip().lower(), value.strip())
        for name, _, value in (line.partition(":") for line in lines)
    ]
    length = int(dict(headers).get("content-length", "0"))
    while len(rest) < length:
        chunk = _recv(sock)
        if not chunk:
            break
        rest += chunk
    return RawAnswer(status, headers, rest[:length], closed=_closed(sock))


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except ConnectionResetError:
        return b""


def _closed(sock: socket.socket) -> bool:
    sock.settimeout(2.0)
    try:
        return _recv(sock) == b""
    except TimeoutError:
        return False
