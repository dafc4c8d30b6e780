import os
import threading
import weakref
from collections.abc import AsyncIterator

from adapter.fs.digest import READ_CHUNK_BYTES
from adapter.fs.off_loop import off_loop, storage_call
from usecase.ports.chat_bytes import ContentReader


def _checked_start(start: int) -> int:
    if start < 0:
        raise ValueError(f"a range cannot start at {start}")
    return start


class FdContentReader(ContentReader):
    """Reads a checked regular file through its descriptor, which it owns from construction:
    `aclose` closes it, and so does garbage collection of a reader nobody closed."""

    def __init__(self, fd: int, size_bytes: int) -> None:
        self._fd = fd
        self._size_bytes = size_bytes
        # Held across each read and the close, so that a close arriving during a read (a
        # cancelled download) waits for it: the descriptor number is never reused under a read.
        self._lock = threading.Lock()
        self._close = weakref.finalize(self, os.close, fd)

    @property
    def size_bytes(self) -> int:
        return self._size_bytes

    async def iter_range(self, start: int, end: int) -> AsyncIterator[bytes]:
        offset = _checked_start(start)
        stop = min(end + 1, self._size_bytes)
        while offset < stop:
            length = min(READ_CHUNK_BYTES, stop - offset)
            data = await storage_call("read the file", self._pread, length, offset)
            if not data:
                return  # the file shrank behind the service's back
            yield data
            offset += len(data)

    async def aclose(self) -> None:
        await off_loop(self._close_now)

    def _pread(self, length: int, offset: int) -> bytes:
        with self._lock:
            if not self._close.alive:
                raise ValueError("read from a closed ContentReader")
            return os.pread(self._fd, length, offset)

    def _close_now(self) -> None:
        with self._lock:
            self._close()


class BytesContentReader(ContentReader):
    """Serves bytes already read whole, such as a small history."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    @property
    def size_bytes(self) -> int:
        return len(self._data)

    async def iter_range(self, start: int, end: int) -> AsyncIterator[bytes]:
        stop = min(end + 1, len(self._data))
        for offset in range(_checked_start(start), stop, READ_CHUNK_BYTES):
            yield self._data[offset : min(offset + READ_CHUNK_BYTES, stop)]

    async def aclose(self) -> None:
        return
