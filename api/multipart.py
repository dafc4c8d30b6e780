"""Streaming multipart/form-data: the parts of a request as they arrive, never spooled.

python-multipart's push parser is fed one network chunk at a time; its callbacks queue
events that the pull side (the use case reading a part's bytes) consumes. So at most one
network chunk of parsed data is held at once, whatever the file sizes.

RFC 2046 framing the parser does not take is handled here: until the first delimiter line
is found, `FirstDelimiter` drops the preamble and that line's transport padding. The
parser itself skips the padding of later delimiter lines and the epilogue after the close
delimiter (python-multipart 0.0.34; see test/api/test_multipart.py).
"""

import re
from collections import deque
from collections.abc import AsyncIterator
from typing import ClassVar, Literal

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser

from api.http_problem import HttpProblemError, invalid_request
from api.mime_params import MalformedParamsError, attachment_filename, split_header_params

FILE_FIELD = "file"

_Event = (
    tuple[Literal["begin"], None]
    | tuple[Literal["headers"], list[tuple[str, str]]]
    | tuple[Literal["data"], bytes]
    | tuple[Literal["end"], None]
    | tuple[Literal["done"], None]
)


def _malformed(detail: str) -> HttpProblemError:
    return invalid_request(f"malformed multipart body: {detail}")


_PADDING = re.compile(rb"[ \t]*")


class FirstDelimiter:
    """Finds the first delimiter line of a body as it streams in (RFC 2046 5.1.1):
    `--boundary` at the start of the body or right after a CRLF, then transport padding
    (spaces and tabs), then CRLF; or `--boundary--`, the close delimiter of a body with no
    parts. What comes before it (the preamble) and its padding are dropped. At most
    `max_bytes` of the body are held while looking: a first delimiter line that has not
    ended within them is malformed, so a preamble cannot make the service hold much."""

    def __init__(self, boundary: bytes, max_bytes: int) -> None:
        self._dash = b"--" + boundary
        self._max_bytes = max_bytes
        self._held = bytearray()
        self._search_from = 0  # where the CRLF before the next candidate may start
        self._dash_at: int | None = None  # the candidate `--boundary` being checked
        self._cursor = 0  # how far past that candidate has been read

    def feed(self, chunk: bytes) -> bytes | None:
        """None while still looking; once found, what the parser is to be fed: the
        delimiter line without padding, then whatever followed it in the body so far."""
        if not self._held and chunk.startswith(self._dash + b"\r\n"):
            return chunk  # the usual body, passed on without a copy
        self._held += chunk
        while True:
            if self._dash_at is None:
                self._dash_at = self._next_candidate()
                if self._dash_at is None:
                    break
                self._cursor = self._dash_at + len(self._dash)
            found = self._delimiter_line()
            if found is not None:
                return found
            if self._dash_at is not None:  # the line has not ended yet
                break
        if len(self._held) > self._max_bytes:
            raise self._too_long()
        return None

    def _too_long(self) -> HttpProblemError:
        return _malformed(f"no boundary line ends within the first {self._max_bytes} bytes")

    def _next_candidate(self) -> int | None:
        held, dash = self._held, self._dash
        if self._search_from == 0:
            if held.startswith(dash):
                return 0
            if dash.startswith(held):  # the body so far may yet begin with it
                return None
        crlf_at = held.find(b"\r\n" + dash, self._search_from)
        if crlf_at == -1:
            self._search_from = max(self._search_from, len(held) - len(dash) - 1)
            return None
        return crlf_at + 2

    def _delimiter_line(self) -> bytes | None:
        """The parser's input if the candidate is a delimiter line; None if it is not (then
        the candidate is dropped) or if more bytes are needed to tell (then it is kept)."""
        assert self._dash_at is not None
        held, dash_end = self._held, self._dash_at + len(self._dash)
        match = _PADDING.match(held, self._cursor)
        assert match is not None
        self._cursor = match.end()
        ending = bytes(held[self._cursor : self._cursor + 2])
        if self._cursor + len(ending) > self._max_bytes:
            raise self._too_long()
        if ending == b"\r\n":
            found = self._dash + b"\r\n" + held[self._cursor + 2 :]
        elif ending == b"--" and self._cursor == dash_end:
            found = self._dash + b"--"  # no parts; what follows is epilogue
        elif ending in (b"", b"\r") or (ending == b"-" and self._cursor == dash_end):
            return None
        else:
            self._search_from = self._dash_at + 1
            self._dash_at = None
            return None
        self._held = bytearray()
        return found


class IncomingPart:
    """One `file` part: its name as decoded from the wire (api.mime_params) and its
    Content-Type as sent, then its bytes, once."""

    def __init__(self, stream: "MultipartStream", filename: str | None, content_type: str | None):
        self._stream = stream
        self._filename = filename
        self._content_type = content_type
        self.finished = False

    @property
    def filename(self) -> str | None:
        return self._filename

    @property
    def content_type(self) -> str | None:
        return self._content_type

    async def chunks(self) -> AsyncIterator[bytes]:
        while not self.finished:
            kind, payload = await self._stream.next_event()
            if kind == "data":
                assert isinstance(payload, bytes)
                yield payload
            elif kind == "end":
                self.finished = True
            else:
                raise _malformed("a part ended without its boundary")


class MultipartStream:
    """The `file` parts of one multipart/form-data body, parsed as it streams in."""

    MAX_PARTS: ClassVar[int] = 1000
    MAX_FIELD_BYTES: ClassVar[int] = 64 * 1024
    MAX_HEADER_COUNT: ClassVar[int] = 16
    MAX_HEADER_BYTES: ClassVar[int] = 8 * 1024
    MAX_PREAMBLE_BYTES: ClassVar[int] = 64 * 1024

    def __init__(self, content_type: str | None, body: AsyncIterator[bytes]) -> None:
        if (content_type or "").partition(";")[0].strip().lower() != "multipart/form-data":
            raise HttpProblemError(
                415, "unsupported_media_type", "uploads must be multipart/form-data"
            )
        try:
            _, params = split_header_params(content_type or "")
        except MalformedParamsError:
            params = {}
        boundary = params.get("boundary", "")
        if not boundary or len(boundary) > 70 or not boundary.isascii():
            raise _malformed("the multipart boundary is missing or invalid")
        self._body = body
        self._events: deque[_Event] = deque()
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._headers: list[tuple[str, str]] = []
        self._exhausted = False
        self._first: FirstDelimiter | None = FirstDelimiter(
            boundary.encode("ascii"), self.MAX_PREAMBLE_BYTES
        )
        self._parser = MultipartParser(
            boundary.encode("ascii"),
            {
                "on_part_begin": self._on_part_begin,
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished,
                "on_part_data": self._on_part_data,
                "on_part_end": self._on_part_end,
                "on_end": self._on_end,
            },
            max_header_count=self.MAX_HEADER_COUNT,
            max_header_size=self.MAX_HEADER_BYTES,
        )

    def _on_part_begin(self) -> None:
        self._headers = []
        self._events.append(("begin", None))

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        name = self._header_name.decode("latin-1").strip().lower()
        # Browsers send file names as raw UTF-8; bytes that are not UTF-8 become lone
        # surrogates, which the attachment name rules then refuse.
        value = self._header_value.decode("utf-8", errors="surrogateescape").strip()
        self._headers.append((name, value))
        self._header_name.clear()
        self._header_value.clear()

    def _on_headers_finished(self) -> None:
        self._events.append(("headers", self._headers))

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if end > start:
            self._events.append(("data", data[start:end]))

    def _on_part_end(self) -> None:
        self._events.append(("end", None))

    def _on_end(self) -> None:
        self._events.append(("done", None))

    async def next_event(self) -> _Event:
        while not self._events:
            if self._exhausted:
                where = "first" if self._first is not None else "closing"
                raise _malformed(f"the body ended before the {where} boundary")
            try:
                chunk = await anext(self._body)
            except StopAsyncIteration:
                self._exhausted = True
                continue
            self._feed(chunk)
        return self._events.popleft()

    def _feed(self, chunk: bytes) -> None:
        if self._first is not None:
            framed = self._first.feed(chunk)
            if framed is None:
                return
            self._first, chunk = None, framed
        try:
            self._parser.write(chunk)
        except MultipartParseError as error:
            raise _malformed(str(error)) from None

    async def files(self) -> AsyncIterator[IncomingPart]:
        """Each `file` part in order; other fields are read and dropped (bounded in size)."""
        parts = 0
        while True:
            kind, payload = await self.next_event()
            if kind == "done":
                return
            if kind != "begin":
                raise _malformed("unexpected data outside a part")
            kind, payload = await self.next_event()
            if kind != "headers":
                raise _malformed("a part has no headers")
            assert isinstance(payload, list)
            parts += 1
            if parts > self.MAX_PARTS:
                raise _malformed(f"more than {self.MAX_PARTS} parts")
            headers = dict(payload)
            try:
                disposition, params = split_header_params(headers.get("content-disposition", ""))
            except MalformedParamsError as error:
                raise _malformed(f"a part's Content-Disposition: {error}") from None
            if disposition != "form-data" or "name" not in params:
                raise _malformed("a part lacks Content-Disposition: form-data; name=...")
            if params["name"] == FILE_FIELD:
                part = IncomingPart(self, attachment_filename(params), headers.get("content-type"))
                yield part
                async for _ in part.chunks():  # whatever the consumer left unread
                    pass
            else:
                await self._skip_field(IncomingPart(self, None, None))

    async def _skip_field(self, part: IncomingPart) -> None:
        size = 0
        async for chunk in part.chunks():
            size += len(chunk)
            if size > self.MAX_FIELD_BYTES:
                raise _malformed(f"a form field is larger than {self.MAX_FIELD_BYTES} bytes")
