"""Attachment uploads: what one item is, and the streamed multipart/form-data body that
carries them (each part named `file`, as the contract asks)."""

import mimetypes
import os
import secrets
from collections.abc import AsyncGenerator, Generator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from chatstore_client._content import Content, Source, source_of

# RFC 8187 attr-char beyond letters and digits; everything else is percent-encoded.
_ATTR_CHARS = "!#$&+-.^_`|~"
# What the HTML standard's multipart/form-data encoding escapes in a quoted file name.
_NAME_ESCAPES = str.maketrans({'"': "%22", "\r": "%0D", "\n": "%0A"})


@dataclass(frozen=True, slots=True)
class Upload:
    """One file to upload.

    `content` is a path (`str` or `os.PathLike`), an open binary file (read from its
    current position; the caller closes it), bytes, an iterable of bytes, or, with
    `AsyncClient` only, an async iterable of bytes. Nothing is read whole into memory.
    `name` defaults to the file name of a path or of a file object's `.name`.
    `content_type` defaults to a guess from the name; when there is none the part has no
    `Content-Type` and the service stores `null`.
    """

    content: Content
    name: str | None = None
    content_type: str | None = None


UploadItem = Upload | str | os.PathLike[str] | BinaryIO


@dataclass(frozen=True, slots=True)
class _Part:
    head: bytes
    source: Source


class MultipartBody:
    """A multipart/form-data body, produced chunk by chunk on every pass."""

    def __init__(self, items: Iterable[UploadItem], boundary: str | None = None) -> None:
        self.boundary = boundary or f"chatstore-client-{secrets.token_hex(16)}"
        self._parts = [_part(self.boundary, _as_upload(item)) for item in items]
        if not self._parts:
            raise ValueError("an upload needs at least one file")
        self.content_type = f"multipart/form-data; boundary={self.boundary}"
        self.replayable = all(part.source.replayable for part in self._parts)
        self._tail = f"--{self.boundary}--\r\n".encode()

    def chunks(self) -> Generator[bytes, None, None]:
        for part in self._parts:
            yield part.head
            yield from part.source.chunks()
            yield b"\r\n"
        yield self._tail

    async def achunks(self) -> AsyncGenerator[bytes, None]:
        for part in self._parts:
            yield part.head
            async for chunk in part.source.achunks():
                yield chunk
            yield b"\r\n"
        yield self._tail


def content_disposition(name: str) -> str:
    """`form-data; name="file"; filename="..."` as browsers write it (raw UTF-8, with `"`,
    CR and LF escaped), plus `filename*` (RFC 8187) when the name is not ASCII."""
    value = f'form-data; name="file"; filename="{name.translate(_NAME_ESCAPES)}"'
    if not name.isascii():
        value += f"; filename*=UTF-8''{quote(name, safe=_ATTR_CHARS, encoding='utf-8')}"
    return value


def _part(boundary: str, upload: Upload) -> _Part:
    name = upload.name if upload.name is not None else _default_name(upload.content)
    content_type = upload.content_type or mimetypes.guess_type(name, strict=False)[0]
    lines = [f"--{boundary}", f"Content-Disposition: {content_disposition(name)}"]
    if content_type is not None:
        _check_content_type(content_type)
        lines.append(f"Content-Type: {content_type}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
    return _Part(head, source_of(upload.content))


def _as_upload(item: UploadItem) -> Upload:
    return item if isinstance(item, Upload) else Upload(item)


def _default_name(content: Content) -> str:
    if isinstance(content, str | os.PathLike):
        return Path(content).name
    name = getattr(content, "name", None)
    if isinstance(name, str) and Path(name).name:
        return Path(name).name
    raise ValueError("this upload has no file name to default to: give it a name")


def _check_content_type(content_type: str) -> None:
    # A CR or LF would end the part's header early; the service takes printable ASCII.
    if not content_type.isascii() or not content_type.isprintable():
        raise ValueError(f"a content type is printable ASCII: {content_type!r}")
