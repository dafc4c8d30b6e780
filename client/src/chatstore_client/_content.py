"""Request bodies read in chunks, never whole: bytes, a path, a binary file, an iterable of
bytes or (async client only) an async iterable of bytes. `replayable` says whether the
same bytes can be sent again, which a retry needs."""

import os
from collections.abc import AsyncGenerator, AsyncIterable, Generator, Iterable
from pathlib import Path
from typing import BinaryIO, cast

import anyio
import anyio.to_thread

CHUNK_BYTES = 256 * 1024

# What a streamed body can be made of. A `str` is a path here; history bodies encode text
# themselves before they get here.
Content = bytes | str | os.PathLike[str] | BinaryIO | Iterable[bytes] | AsyncIterable[bytes]


class Source:
    """Bytes to send, as often as `replayable` allows, by the sync or the async client."""

    replayable: bool = True
    # The number of bytes, when known before sending (None for an iterable).
    size: int | None = None

    def chunks(self) -> Generator[bytes, None, None]:
        raise NotImplementedError

    def achunks(self) -> AsyncGenerator[bytes, None]:
        raise NotImplementedError


class BytesSource(Source):
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.size = len(data)

    def chunks(self) -> Generator[bytes, None, None]:
        yield self.data

    async def achunks(self) -> AsyncGenerator[bytes, None]:
        yield self.data


class PathSource(Source):
    """A file by name, opened afresh (and closed) on every pass."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def chunks(self) -> Generator[bytes, None, None]:
        with self.path.open("rb") as file:
            yield from _read_all(file)

    async def achunks(self) -> AsyncGenerator[bytes, None]:
        async with await anyio.open_file(self.path, "rb") as file:
            while chunk := await file.read(CHUNK_BYTES):
                yield chunk


class FileSource(Source):
    """An open binary file, read from where it stood when handed over. The caller keeps
    it open and closes it; it is replayable when it can seek back."""

    def __init__(self, file: BinaryIO) -> None:
        self.file = file
        self.start = file.tell() if file.seekable() else None
        self.replayable = self.start is not None

    def _rewind(self) -> None:
        if self.start is not None:
            self.file.seek(self.start)

    def chunks(self) -> Generator[bytes, None, None]:
        self._rewind()
        yield from _read_all(self.file)

    async def achunks(self) -> AsyncGenerator[bytes, None]:
        self._rewind()
        while chunk := await anyio.to_thread.run_sync(self.file.read, CHUNK_BYTES):
            yield chunk


class IterableSource(Source):
    """Replayable when iterating it twice gives the bytes twice (a list, not a generator)."""

    def __init__(self, iterable: Iterable[bytes]) -> None:
        self.iterable = iterable
        self.replayable = iter(iterable) is not iterable

    def chunks(self) -> Generator[bytes, None, None]:
        for chunk in self.iterable:
            if chunk:
                yield bytes(chunk)

    async def achunks(self) -> AsyncGenerator[bytes, None]:
        for chunk in self.chunks():
            yield chunk


class AsyncIterableSource(Source):
    def __init__(self, iterable: AsyncIterable[bytes]) -> None:
        self.iterable = iterable
        self.replayable = aiter(iterable) is not iterable

    def chunks(self) -> Generator[bytes, None, None]:
        raise TypeError("an async iterable body needs AsyncClient")

    async def achunks(self) -> AsyncGenerator[bytes, None]:
        async for chunk in self.iterable:
            if chunk:
                yield bytes(chunk)


def source_of(content: Content) -> Source:
    if isinstance(content, bytes | bytearray | memoryview):
        return BytesSource(bytes(content))
    if isinstance(content, str | os.PathLike):
        return PathSource(content)
    if hasattr(content, "read"):
        return FileSource(cast("BinaryIO", content))
    if isinstance(content, AsyncIterable):
        return AsyncIterableSource(content)
    if isinstance(content, Iterable):
        return IterableSource(content)
    raise TypeError(f"cannot send a {type(content).__name__} as a body")


def _read_all(file: BinaryIO) -> Generator[bytes, None, None]:
    while chunk := file.read(CHUNK_BYTES):
        yield chunk
