"""Streaming multipart/form-data: the parts of a request as they arrive, never spooled.

python-multipart's push parser is fed one network chunk at a time; its callbacks queue
events that the pull side (the use case reading a part's bytes) consumes. So at most one
network chunk of parsed data is held at once, whatever the file sizes.
"""

from collections import deque
from collections.abc import AsyncIterator
from typing import ClassVar, Literal

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser

from api.http_problem import HttpProblemError
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
    return HttpProblemError(422, "validation_error", f"malformed multipart body: {detail}")


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
                raise _malformed("the body ended before the closing boundary")
            try:
                chunk = await anext(self._body)
            except StopAsyncIteration:
                self._exhausted = True
                continue
            self._feed(chunk)
        return self._events.popleft()

    def _feed(self, chunk: bytes) -> None:
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
