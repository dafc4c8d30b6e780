"""The HTTP/1.1 edge: uvicorn's httptools protocol with the limits httptools lacks.

httptools (llhttp) has no bound on a request line or a header section, buffers each header
field whole, appends trailer fields to the very header list the app reads, and uvicorn
answers every framing error with a `text/plain` 400. This protocol, handed to uvicorn as
its `http` class (ADR 0014), keeps uvicorn's request cycle and changes only the edge:

- the request target is bounded (`414 uri_too_long`) and so is the header section
  (`431 request_header_fields_too_large`), checked while the bytes arrive, so that at most
  about the bound plus one feed slice is held;
- fields of a chunked body's trailer section are dropped, never merged into the headers;
- every refusal is problem+json with an `X-Request-Id` (ADR 0028), logged as one access
  line, and the connection is closed after it.
"""

import json
import logging
import uuid
from http import HTTPStatus
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.http_problem import HttpProblemError
from api.log_format import ACCESS_FIELDS
from api.observe import ACCESS_LOGGER
from api.problems import PROBLEM_MEDIA_TYPE, problem_body
from api.request_id import given_request_id

MAX_TARGET_BYTES = 8 * 1024
MAX_HEADER_SECTION_BYTES = 64 * 1024
# A head is fed to the parser in slices this large, so a bound is checked between slices
# and never overshot by more than one of them (uvloop hands over up to 256 KiB at once).
_HEAD_SLICE_BYTES = 16 * 1024

_log = logging.getLogger("uvicorn.error")
_access_log = logging.getLogger(ACCESS_LOGGER)


class HeadRefusedError(HttpProblemError):
    """Raised from a parser callback to stop parsing a head that breaks a bound."""


def _header_section_too_large() -> HeadRefusedError:
    return HeadRefusedError(
        431,
        "request_header_fields_too_large",
        f"the header section is larger than {MAX_HEADER_SECTION_BYTES} bytes",
    )


def problem_response_bytes(
    status: int,
    code: str,
    detail: str,
    default_headers: list[tuple[bytes, bytes]],
    request_id: str,
) -> bytes:
    """A whole HTTP/1.1 problem+json answer that closes the connection, with the server's
    default headers (`date`, `server`) as uvicorn's own answers have them."""
    phrase = HTTPStatus(status).phrase
    body = json.dumps(problem_body(status, code, detail)).encode()
    lines = [f"HTTP/1.1 {status} {phrase}".encode("ascii")]
    lines += [name + b": " + value for name, value in default_headers]
    lines += [
        b"content-type: " + PROBLEM_MEDIA_TYPE.encode("ascii"),
        b"content-length: %d" % len(body),
        b"connection: close",
        b"x-request-id: " + request_id.encode("ascii"),
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with bounded heads, no trailers and problem+json refusals."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._head_bytes = 0

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        start = 0
        while start < len(data):
            # Body bytes go to the parser whole; a head goes in slices, checked between them.
            end = start + _HEAD_SLICE_BYTES if self._in_head else len(data)
            piece = data[start:end]
            counting = self._in_head
            if not self._feed(piece):
                return
            if counting and self._in_head:
                self._head_bytes += len(piece)
                if self._head_bytes > MAX_HEADER_SECTION_BYTES:
                    refusal = _header_section_too_large()
                    self._refuse(refusal.status, refusal.code, refusal.detail)
                    return
            start = end

    def _feed(self, piece: bytes) -> bool:
        try:
            self.parser.feed_data(piece)
        except httptools.HttpParserUpgrade:
            # chatstore serves no upgrade; uvicorn's own handling warns and carries on.
            self._unsupported_upgrade_warning()
        except httptools.HttpParserError as error:
            refusal = error.__context__
            if isinstance(refusal, HeadRefusedError):
                self._refuse(refusal.status, refusal.code, refusal.detail)
            else:
                self._refuse(400, "bad_request", f"malformed HTTP request: {error}")
            return False
        return True

    def _refuse(self, status: int, code: str, detail: str) -> None:
        # A head read whole may name the request; a refusal is rare, so a uuid4 is cheap.
        named = None if self._in_head else given_request_id(self.headers)
        request_id = named or uuid.uuid4().hex
        _log.warning("refused a request: %d %s: %s", status, code, detail)
        _access_log.info(
            "refused %d %s",
            status,
            code,
            extra={
                "request_id": request_id,
                ACCESS_FIELDS: {"method": None, "route": "unmatched", "status": status},
            },
        )
        cycle = self.cycle
        # A malformed body of the request being served is answered unless its answer has
        # begun; a malformed head pipelined behind an unfinished answer is not, so that two
        # answers never interleave. Either way the connection closes.
        if (
            cycle is None
            or cycle.response_complete
            or (not self._in_head and not cycle.response_started)
        ):
            answer = problem_response_bytes(
                status, code, detail, self.server_state.default_headers, request_id
            )
            self.transport.write(answer)
        self.transport.close()

    def send_400_response(self, msg: str) -> None:
        self._refuse(400, "bad_request", msg)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = 0

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_TARGET_BYTES:
            raise HeadRefusedError(
                414, "uri_too_long", f"the request target is longer than {MAX_TARGET_BYTES} bytes"
            )

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._in_head:
            super().on_header(name, value)
        # else: a trailer field (RFC 9110 6.5.1); identity never comes from a body.

    def on_headers_complete(self) -> None:
        # The slices counted so far bound what is held; the fields name the exact size.
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > MAX_HEADER_SECTION_BYTES:
            raise _header_section_too_large()
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True
        self._head_bytes = 0
