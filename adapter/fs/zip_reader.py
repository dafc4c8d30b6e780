"""A strict reader of ZIP archives staged whole: the directory listed and checked before
anything is inflated, then each member inflated in bounded chunks, never past the size it
declares (ADR 0025). Every function blocks: call them from a worker thread.

The stdlib's `zipfile` is not used: it reads the whole central directory into memory
before anything can be checked, trusts a member to end where its deflate stream ends
(bytes past the declared size are silently cut, not refused), and accepts data before the
first member and between members. This reader takes the directory in bounded pieces, the
member count from the end record before any of it, and refuses an archive whose members
and directory do not tile it exactly (APPNOTE.TXT 4.3.6: local header, data, optional data
descriptor, for each member in turn; then the central directory, the Zip64 end records if
any, and the end record)."""

import os
import stat
import struct
import zlib

from domain.errors import InvalidArchiveError
from usecase.ports.archives import ArchiveMember

_END = struct.Struct("<IHHHHIIH")
_END_SIGNATURE = 0x06054B50
_LOCATOR = struct.Struct("<IIQI")
_LOCATOR_SIGNATURE = 0x07064B50
_ZIP64_END = struct.Struct("<IQHHIIQQQQ")
_ZIP64_END_SIGNATURE = 0x06064B50
# The Zip64 end record's size field counts what follows its first 12 bytes.
_ZIP64_END_LEAD = 12
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_CENTRAL_SIGNATURE = 0x02014B50
_LOCAL = struct.Struct("<IHHHHHIIIHH")
_LOCAL_SIGNATURE = 0x04034B50
_DESCRIPTOR_SIGNATURE = 0x08074B50
_ZIP64_EXTRA = 0x0001
_MAX_COMMENT = 0xFFFF
_MAX16 = 0xFFFF
_MAX32 = 0xFFFFFFFF

_STORED, _DEFLATED = 0, 8
_ENCRYPTED = 0x0001
_HAS_DESCRIPTOR = 0x0008
_STRONG_ENCRYPTION = 0x0040
_MASKED_HEADERS = 0x2000
_DOS_DIRECTORY = 0x10
# A data descriptor's size tells its form: CRC-32 and two 4- or 8-byte sizes, with or
# without its signature in front.
_DESCRIPTOR_FORMS = {12: (False, "<II"), 16: (True, "<II"), 20: (False, "<QQ"), 24: (True, "<QQ")}
_NON_REGULAR = {
    stat.S_IFLNK: "a symbolic link",
    stat.S_IFDIR: "a directory",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
}

# The directory is read in pieces of this size; a member's compressed bytes too.
READ_BYTES = 256 * 1024
# A member's bytes are handed on in chunks of at most this size.
CHUNK_BYTES = 1024 * 1024


def _invalid(detail: str) -> InvalidArchiveError:
    return InvalidArchiveError(f"the body is not a valid archive: {detail}")


def _read_at(fd: int, size: int, offset: int) -> bytes:
    """Exactly `size` bytes at `offset`, or InvalidArchiveError: the archive is cut short."""
    data = os.pread(fd, size, offset)
    if len(data) != size:
        raise _invalid("it is cut short")
    return data


class _Directory:
    """Sequential reads of the central directory, `READ_BYTES` at a time."""

    def __init__(self, fd: int, start: int, size: int) -> None:
        self._fd = fd
        self._next = start
        self._end = start + size
        self._buffer = b""
        self._at = 0

    def take(self, size: int) -> bytes:
        while len(self._buffer) - self._at < size:
            want = min(max(READ_BYTES, size), self._end - self._next)
            if want <= 0:
                raise _invalid("the central directory is cut short")
            data = _read_at(self._fd, want, self._next)
            self._buffer = self._buffer[self._at :] + data
            self._at = 0
            self._next += want
        piece = self._buffer[self._at : self._at + size]
        self._at += size
        return piece

    @property
    def used_up(self) -> bool:
        return self._next == self._end and self._at == len(self._buffer)


class _End:
    """What the end records say: how many members, and where the directory is."""

    def __init__(self, count: int, directory_offset: int, directory_size: int, end: int) -> None:
        self.count = count
        self.directory_offset = directory_offset
        self.directory_size = directory_size
        # Where the directory must end: at the Zip64 end record, else at the end record.
        self.directory_end = end


def _end_records(fd: int, size: int) -> _End:
    if size < _END.size:
        raise _invalid("it is too short to be a ZIP archive")
    tail_size = min(size, _END.size + _MAX_COMMENT)
    tail_start = size - tail_size
    tail = _read_at(fd, tail_size, tail_start)
    at = tail.rfind(b"PK\x05\x06")
    while at >= 0:
        if at + _END.size <= tail_size:
            fields = _END.unpack_from(tail, at)
            if at + _END.size + fields[7] == tail_size:  # its comment reaches the end
                return _checked_end(fd, tail_start + at, fields)
        at = tail.rfind(b"PK\x05\x06", 0, at)
    raise _invalid("it has no ZIP end of central directory record")


def _checked_end(fd: int, position: int, fields: tuple[int, ...]) -> _End:
    _, disk, directory_disk, on_disk, count, directory_size, directory_offset, _ = fields
    if disk != 0 or directory_disk != 0 or on_disk != count:
        raise _invalid("it spans several disks")
    if position >= _LOCATOR.size:
        locator = _LOCATOR.unpack(_read_at(fd, _LOCATOR.size, position - _LOCATOR.size))
        if locator[0] == _LOCATOR_SIGNATURE:
            return _zip64_end(fd, position - _LOCATOR.size, locator)
    return _End(count, directory_offset, directory_size, position)


def _zip64_end(fd: int, locator_position: int, locator: tuple[int, ...]) -> _End:
    _, disk, offset, disks = locator
    if disk != 0 or disks > 1:
        raise _invalid("it spans several disks")
    if offset + _ZIP64_END.size > locator_position:
        raise _invalid("its Zip64 end record is out of place")
    fields = _ZIP64_END.unpack(_read_at(fd, _ZIP64_END.size, offset))
    signature, record_size, _, _, disk, directory_disk, on_disk, count, size, start = fields
    if signature != _ZIP64_END_SIGNATURE or offset + _ZIP64_END_LEAD + record_size != (
        locator_position
    ):
        raise _invalid("its Zip64 end record is out of place")
    if disk != 0 or directory_disk != 0 or on_disk != count:
        raise _invalid("it spans several disks")
    return _End(count, start, size, offset)


def read_members(fd: int, max_members: int, max_path_bytes: int) -> list[ArchiveMember]:
    """The members of the archive open as `fd`, checked as the StagedArchives port says."""
    size = os.fstat(fd).st_size
    end = _end_records(fd, size)
    if end.count > max_members:
        raise InvalidArchiveError(
            f"the archive has {end.count} entries; at most {max_members} are taken"
        )
    if end.directory_offset + end.directory_size != end.directory_end:
        raise _invalid("its central directory is not where its end record says")
    directory = _Directory(fd, end.directory_offset, end.directory_size)
    entries = [_central_entry(directory, max_path_bytes) for _ in range(end.count)]
    if not directory.used_up:
        raise _invalid("its central directory holds more than its end record counts")
    names = set()
    for entry in entries:
        if entry.name in names:
            raise InvalidArchiveError(f"the archive holds {entry.path!r} twice")
        names.add(entry.name)
    return _tiled(fd, entries, end.directory_offset)


class _Entry:
    """A central directory record, as far as this reader needs it."""

    def __init__(self, name: bytes, path: str, fields: tuple[int, ...], sizes: list[int]) -> None:
        self.name = name
        self.path = path
        self.flags = fields[3]
        self.method = fields[4]
        self.crc32 = fields[7]
        self.compressed, self.size, self.offset = sizes


def _central_entry(directory: _Directory, max_path_bytes: int) -> _Entry:
    fields = _CENTRAL.unpack(directory.take(_CENTRAL.size))
    if fields[0] != _CENTRAL_SIGNATURE:
        raise _invalid("its central directory is corrupt")
    name_size, extra_size, comment_size = fields[10], fields[11], fields[12]
    if name_size > max_path_bytes:
        raise InvalidArchiveError(
            f"the archive holds an entry path of {name_size} bytes; at most {max_path_bytes}"
        )
    name = directory.take(name_size)
    extra = directory.take(extra_size)
    directory.take(comment_size)
    try:
        path = name.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidArchiveError("the archive holds an entry path that is not UTF-8") from None
    shown = repr(path[:80])
    compressed, size, offset, disk = fields[8], fields[9], fields[16], fields[13]
    wide = [value == _MAX32 for value in (size, compressed, offset)] + [disk == _MAX16]
    if any(wide):
        values = iter(_zip64_values(extra, sum(wide), shown))
        size, compressed, offset, disk = (
            next(values) if is_wide else value
            for value, is_wide in zip((size, compressed, offset, disk), wide, strict=True)
        )
    if disk != 0:
        raise _invalid(f"{shown} is on another disk")
    _check_kind(fields, name, shown)
    return _Entry(name, path, fields, [compressed, size, offset])


def _check_kind(fields: tuple[int, ...], name: bytes, shown: str) -> None:
    flags, method, external = fields[3], fields[4], fields[15]
    if flags & (_ENCRYPTED | _STRONG_ENCRYPTION | _MASKED_HEADERS):
        raise InvalidArchiveError(f"the archive's entry {shown} is encrypted")
    if method not in (_STORED, _DEFLATED):
        raise InvalidArchiveError(
            f"the archive's entry {shown} uses compression method {method}; only stored"
            " (0) and deflate (8) are read"
        )
    if method == _STORED and fields[8] != fields[9]:
        raise _invalid(f"the stored entry {shown} declares two sizes")
    kind = _NON_REGULAR.get(stat.S_IFMT(external >> 16))
    if kind is None and (external & _DOS_DIRECTORY or name.endswith(b"/")):
        kind = "a directory"
    if kind is not None:
        raise InvalidArchiveError(f"the archive's entry {shown} is {kind}, not a regular file")


def _zip64_values(extra: bytes, count: int, shown: str) -> list[int]:
    """The first `count` 8-byte values of the Zip64 extra field (APPNOTE.TXT 4.5.3)."""
    at = 0
    while at + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, at)
        at += 4
        if at + size > len(extra):
            break
        if tag == _ZIP64_EXTRA:
            if size < 8 * count:
                break
            return list(struct.unpack_from(f"<{count}Q", extra, at))
        at += size
    raise _invalid(f"the Zip64 sizes of {shown} are missing or cut short")


def _tiled(fd: int, entries: list[_Entry], directory_offset: int) -> list[ArchiveMember]:
    """Each entry's member, once its local header agrees with its record and the members
    are found laid end to end from the archive's first byte to its directory."""
    order = sorted(range(len(entries)), key=lambda index: entries[index].offset)
    # Where the member after each one must begin: the next member, or the directory.
    starts = [entries[index].offset for index in order[1:]] + [directory_offset][: len(order)]
    members: dict[int, ArchiveMember] = {}
    expected = 0
    for index, next_start in zip(order, starts, strict=True):
        entry = entries[index]
        if entry.offset != expected:
            raise _invalid("it holds bytes no entry accounts for, or entries that overlap")
        data_offset = _local_data_offset(fd, entry)
        data_end = data_offset + entry.compressed
        if data_end > next_start:
            raise _invalid(f"the entry {entry.path[:80]!r} runs into the next one")
        _check_descriptor(fd, entry, data_end, next_start)
        members[index] = ArchiveMember(
            path=entry.path,
            size_bytes=entry.size,
            data_offset=data_offset,
            data_bytes=entry.compressed,
            deflated=entry.method == _DEFLATED,
            crc32=entry.crc32,
        )
        expected = next_start
    if expected != directory_offset:  # no entries, and bytes before the directory
        raise _invalid("it holds bytes no entry accounts for")
    return [members[index] for index in range(len(entries))]


def _local_data_offset(fd: int, entry: _Entry) -> int:
    """Where the entry's data begins, once its local header is found to agree with its
    central record: the same name, method, flags that matter and, unless a data descriptor
    follows, the same CRC-32 and sizes."""
    shown = repr(entry.path[:80])
    head = _read_at(fd, _LOCAL.size + len(entry.name), entry.offset)
    fields: tuple[int, ...] = _LOCAL.unpack_from(head)
    signature, _, flags, method, _, _, crc32, compressed, size, name_size, extra_size = fields
    if signature != _LOCAL_SIGNATURE:
        raise _invalid(f"the local header of {shown} is missing")
    if name_size != len(entry.name) or head[_LOCAL.size :] != entry.name:
        raise _invalid(f"the local header of {shown} names another path")
    if flags & (_ENCRYPTED | _STRONG_ENCRYPTION | _MASKED_HEADERS):
        raise InvalidArchiveError(f"the archive's entry {shown} is encrypted")
    if method != entry.method or (flags ^ entry.flags) & _HAS_DESCRIPTOR:
        raise _invalid(f"the local header of {shown} disagrees with its record")
    data_offset = entry.offset + _LOCAL.size + name_size + extra_size
    if not flags & _HAS_DESCRIPTOR:
        if _MAX32 in (compressed, size):
            extra = _read_at(fd, extra_size, entry.offset + _LOCAL.size + name_size)
            size, compressed = _zip64_values(extra, 2, shown)
        if (crc32, compressed, size) != (entry.crc32, entry.compressed, entry.size):
            raise _invalid(f"the local header of {shown} disagrees with its record")
    return data_offset


def _check_descriptor(fd: int, entry: _Entry, data_end: int, next_start: int) -> None:
    """The bytes between the entry's data and the next member (or the directory): none
    without a data descriptor, else exactly one, whose form is told by its size and whose
    values are the entry's."""
    room = next_start - data_end
    if not entry.flags & _HAS_DESCRIPTOR:
        if room:
            raise _invalid("it holds bytes no entry accounts for")
        return
    shown = repr(entry.path[:80])
    form = _DESCRIPTOR_FORMS.get(room)
    if form is None:
        raise _invalid(f"the data descriptor of {shown} is malformed")
    signed, layout = form
    descriptor = _read_at(fd, room, data_end)
    if signed:
        if struct.unpack_from("<I", descriptor)[0] != _DESCRIPTOR_SIGNATURE:
            raise _invalid(f"the data descriptor of {shown} is malformed")
        descriptor = descriptor[4:]
    crc32 = struct.unpack_from("<I", descriptor)[0]
    compressed, size = struct.unpack_from(layout, descriptor, 4)
    if (crc32, compressed, size) != (entry.crc32, entry.compressed, entry.size):
        raise _invalid(f"the data descriptor of {shown} disagrees with its record")


class MemberReading:
    """Where the reading of one member stands between two chunks: its compressed bytes
    read so far, what they inflated to, and that output's CRC-32."""

    def __init__(self, member: ArchiveMember) -> None:
        self._member = member
        self._at = member.data_offset
        self._left = member.data_bytes
        self._produced = 0
        self._crc32 = 0
        self._inflater = zlib.decompressobj(-zlib.MAX_WBITS) if member.deflated else None
        self._done = False

    def next_chunk(self, fd: int) -> bytes | None:
        """The member's next bytes, or None once they are all handed on and checked."""
        if self._done:
            return None
        chunk = self._stored(fd) if self._inflater is None else self._inflated(fd, self._inflater)
        if chunk:
            self._produced += len(chunk)
            if self._produced > self._member.size_bytes:
                raise self._refusal(
                    f"inflates past the {self._member.size_bytes} bytes it declares"
                )
            self._crc32 = zlib.crc32(chunk, self._crc32)
            return chunk
        self._done = True
        self._check_whole()
        return None

    def _stored(self, fd: int) -> bytes:
        size = min(CHUNK_BYTES, self._left)
        chunk = _read_at(fd, size, self._at)
        self._at += size
        self._left -= size
        return chunk

    def _inflated(self, fd: int, inflater: "zlib._Decompress") -> bytes:
        # One byte past the declared size is enough to tell a member that inflates past it.
        room = min(CHUNK_BYTES, self._member.size_bytes + 1 - self._produced)
        pieces: list[bytes] = []
        got = 0
        while got < room and not inflater.eof:
            data = inflater.unconsumed_tail
            if not data:
                if not self._left:
                    break
                data = _read_at(fd, min(READ_BYTES, self._left), self._at)
                self._at += len(data)
                self._left -= len(data)
            try:
                piece = inflater.decompress(data, room - got)
            except zlib.error:
                raise self._refusal("holds corrupt deflate data") from None
            if not piece and inflater.unconsumed_tail == data:
                raise self._refusal("holds corrupt deflate data")
            pieces.append(piece)
            got += len(piece)
        return b"".join(pieces)

    def _check_whole(self) -> None:
        inflater = self._inflater
        if inflater is not None:
            if not inflater.eof:
                raise self._refusal("ends before its deflate stream does")
            if inflater.unused_data or self._left:
                raise self._refusal("holds bytes after its deflate stream")
        if self._produced != self._member.size_bytes:
            raise self._refusal(
                f"inflates to {self._produced} bytes, not the {self._member.size_bytes} it declares"
            )
        if self._crc32 != self._member.crc32:
            raise self._refusal("does not match its CRC-32")

    def _refusal(self, what: str) -> InvalidArchiveError:
        return InvalidArchiveError(f"the archive's entry {self._member.path[:80]!r} {what}")
