"""ZIP archives written as a stream (ADR 0023): the standard library's `zipfile`, writing to
a sink that cannot seek, so that every member is stored with a data descriptor after its
bytes (its CRC and sizes are known only once they have gone out) and Zip64 records where
a size or an offset needs them. The sink hands the bytes on instead of keeping them.

Each member's bytes are checksummed twice as they pass, in one worker thread for any chunk
worth the hop: zipfile's CRC-32 and the sha256 the manifest names them by. (Running the two
in two threads at once measured no faster, even with a second core free.)"""

import hashlib
import stat
import zipfile
from collections.abc import AsyncIterable, AsyncIterator
from datetime import UTC, datetime
from typing import IO

from adapter.fs.off_loop import off_loop
from usecase.ports.archive import ArchiveFormat, ArchiveMember, ArchiveWriter

# Bytes are handed on once this many are pending: small members go out together, a large
# one in the chunks it is read in.
FLUSH_BYTES = 256 * 1024
# A chunk smaller than this is checksummed on the event loop: the hop to a worker thread
# would cost more than the work (about 30 microseconds for 64 KiB).
INLINE_BYTES = 64 * 1024
# -rw-r--r--, a regular file, in the Unix half of the external attributes.
_MEMBER_MODE = (stat.S_IFREG | 0o644) << 16
# A DOS date counts years from 1980 in seven bits.
_FIRST_YEAR, _LAST_YEAR = 1980, 2107


def _dos_date_time(moment: datetime) -> tuple[int, int, int, int, int, int]:
    """`moment` in UTC, as a ZIP member's modification time can hold it."""
    utc = moment.astimezone(UTC)
    if utc.year < _FIRST_YEAR:
        return (_FIRST_YEAR, 1, 1, 0, 0, 0)
    if utc.year > _LAST_YEAR:
        return (_LAST_YEAR, 12, 31, 23, 59, 58)
    return (utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second)


class _Sink:
    """What zipfile writes to: the bytes wait here until they are taken. It has no `tell`
    or `seek`, so zipfile writes as to a pipe (data descriptors, no rewriting)."""

    def __init__(self) -> None:
        self._pieces: list[bytes] = []
        self.pending = 0

    def write(self, data: bytes) -> int:
        self._pieces.append(data)
        self.pending += len(data)
        return len(data)

    def flush(self) -> None:
        return

    def close(self) -> None:
        return

    def take(self) -> bytes:
        pieces, self._pieces, self.pending = self._pieces, [], 0
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)


def _checksummed(out: IO[bytes], digest: "hashlib._Hash", chunk: bytes) -> None:
    out.write(chunk)  # zipfile's CRC-32, then into the sink
    digest.update(chunk)


class _ZipMember(ArchiveMember):
    def __init__(
        self,
        writer: "ZipArchiveWriter",
        info: zipfile.ZipInfo,
        content: AsyncIterable[bytes],
    ) -> None:
        self._writer = writer
        self._info = info
        self._content = content
        self._written: tuple[int, str] | None = None

    @property
    def size_bytes(self) -> int:
        return self._result()[0]

    @property
    def sha256(self) -> str:
        return self._result()[1]

    def _result(self) -> tuple[int, str]:
        if self._written is None:
            raise RuntimeError("the member has not been written whole yet")
        return self._written

    async def __aiter__(self) -> AsyncIterator[bytes]:
        writer = self._writer
        sink = writer.sink
        out = writer.open_member(self._info)
        digest = hashlib.sha256()
        size = 0
        async for chunk in self._content:
            if len(chunk) < INLINE_BYTES:
                _checksummed(out, digest, chunk)
            else:
                await off_loop(_checksummed, out, digest, chunk)
            size += len(chunk)
            if sink.pending >= FLUSH_BYTES:
                yield sink.take()
        writer.close_member()
        self._written = (size, digest.hexdigest())
        if sink.pending >= FLUSH_BYTES:
            yield sink.take()


class ZipArchiveWriter(ArchiveWriter):
    def __init__(self) -> None:
        self.sink = _Sink()
        self._zip = zipfile.ZipFile(
            self.sink,
            mode="w",
            compression=zipfile.ZIP_STORED,
            allowZip64=True,
        )
        self._open: IO[bytes] | None = None

    def member(
        self,
        path: str,
        modified: datetime,
        size_hint: int,
        content: AsyncIterable[bytes],
    ) -> ArchiveMember:
        info = zipfile.ZipInfo(path, date_time=_dos_date_time(modified))
        info.external_attr = _MEMBER_MODE
        # What zipfile decides Zip64 by; it then counts the bytes really written.
        info.file_size = size_hint
        return _ZipMember(self, info, content)

    def open_member(self, info: zipfile.ZipInfo) -> IO[bytes]:
        """Write the member's local header and return where its bytes go."""
        if self._open is not None:
            raise RuntimeError("the member before is not written whole yet")
        self._open = self._zip.open(info, mode="w")
        return self._open

    def close_member(self) -> None:
        """Write the open member's data descriptor."""
        if self._open is not None:
            opened, self._open = self._open, None
            opened.close()

    async def finish(self) -> bytes:
        self.close_member()
        self._zip.close()
        return self.sink.take()

    async def aclose(self) -> None:
        # zipfile refuses to close an archive with a member open; both writes go to the sink,
        # which is dropped with the writer.
        self.close_member()
        self._zip.close()
        self.sink.take()


class ZipArchives(ArchiveFormat):
    def writer(self) -> ArchiveWriter:
        return ZipArchiveWriter()
