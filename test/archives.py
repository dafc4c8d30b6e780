"""Import bodies built by the tests: export archives as the exporter writes them (api.md,
Workspace: `manifest.json` and `chats/<chat_id>/history.md`, `chats/<chat_id>/files/<name>`,
streamed with data descriptors, the manifest last), and hostile ones, byte by byte where
`zipfile` would not write them."""

import hashlib
import io
import json
import struct
import zipfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from uuid import UUID, uuid4

EXPORTED_AT = "2026-03-31T09:30:00Z"
CREATED_AT = "2026-03-01T08:00:00.123456Z"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class FileSpec:
    name: str
    content: bytes
    content_type: str | None = "text/plain"
    file_id: UUID = field(default_factory=uuid4)


@dataclass(frozen=True)
class ChatSpec:
    history: bytes = b""
    files: Sequence[FileSpec] = ()
    title: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    chat_id: UUID = field(default_factory=uuid4)

    def history_path(self) -> str:
        return f"chats/{self.chat_id}/history.md"

    def file_path(self, file: FileSpec) -> str:
        return f"chats/{self.chat_id}/files/{file.name}"

    def entries(self) -> list[tuple[str, bytes]]:
        return [
            (self.history_path(), self.history),
            *((self.file_path(file), file.content) for file in self.files),
        ]


WORKSPACE_ID = UUID("3f0c2b1a-9d8e-4f7a-8b6c-5d4e3f2a1b0c")
USER_ID = UUID("6f1c3a52-6d0e-4a8e-9d1b-2b1a4a7d5e10")


def manifest_of(chats: Sequence[ChatSpec]) -> dict[str, Any]:
    """The manifest the exporter writes for these chats: every resource as the API
    answers it."""
    return {
        "format": "chatstore-export",
        "version": 1,
        "exported_at": EXPORTED_AT,
        "workspace": {
            "workspace_id": str(WORKSPACE_ID),
            "user_id": str(USER_ID),
            "created_at": CREATED_AT,
        },
        "chats": [
            {
                "chat": {
                    "chat_id": str(chat.chat_id),
                    "workspace_id": str(WORKSPACE_ID),
                    "created_at": CREATED_AT,
                    "updated_at": EXPORTED_AT,
                    "title": chat.title,
                    "metadata": dict(chat.metadata),
                    "forked_from": None,
                },
                "history": {"size_bytes": len(chat.history), "sha256": sha256(chat.history)},
                "files": [
                    {
                        "file_id": str(file.file_id),
                        "chat_id": str(chat.chat_id),
                        "name": file.name,
                        "content_type": file.content_type,
                        "size_bytes": len(file.content),
                        "sha256": sha256(file.content),
                        "created_at": CREATED_AT,
                    }
                    for file in chat.files
                ],
            }
            for chat in chats
        ],
    }


def manifest_bytes(document: object) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode()


class _Socket(io.RawIOBase):
    """A sink that cannot seek or tell, as a response body streamed to a socket: zipfile
    then writes each member with a data descriptor."""

    def __init__(self) -> None:
        self.written = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.written += bytes(data)
        return len(data)


def export_archive(
    chats: Sequence[ChatSpec],
    *,
    manifest: object = None,
    manifest_first: bool = False,
    compression: int = zipfile.ZIP_DEFLATED,
    streamed: bool = True,
    zip64: bool = False,
    extra: Iterable[tuple[str, bytes]] = (),
) -> bytes:
    """The archive the exporter writes for `chats` (or with `manifest` in place of theirs):
    deflated, streamed (data descriptors) and the manifest last unless told otherwise;
    `zip64`: Zip64 records for every member and the archive's end. `extra` entries go in
    after the chats' ones."""
    document = manifest_of(chats) if manifest is None else manifest
    entries = [entry for chat in chats for entry in chat.entries()] + list(extra)
    manifest_entry = ("manifest.json", manifest_bytes(document))
    ordered = [manifest_entry, *entries] if manifest_first else [*entries, manifest_entry]
    sink: Any = _Socket() if streamed else io.BytesIO()
    with zipfile.ZipFile(sink, "w", compression=compression) as archive:
        for name, content in ordered:
            info = zipfile.ZipInfo(name, date_time=(2026, 3, 31, 9, 30, 0))
            info.compress_type = compression
            info.external_attr = 0o100644 << 16
            with archive.open(info, "w", force_zip64=zip64) as member:
                member.write(content)
    data = bytes(sink.written) if streamed else sink.getvalue()
    return with_zip64_end(data) if zip64 else data


# Hand-made archives


@dataclass
class RawEntry:
    """One member written byte for byte: `data` as it is stored (compressed already when
    `method` is 8), with the sizes and CRC-32 it declares."""

    name: bytes
    data: bytes
    size: int
    crc: int
    method: int = 0
    flags: int = 0x0800
    external_attr: int = 0o100644 << 16
    made_by: int = (3 << 8) | 20
    local_name: bytes | None = None
    # Bytes written before its local header, which no record accounts for.
    before: bytes = b""
    # A data descriptor after its data, of this many bytes (12 or 20 without its
    # signature, 16 or 24 with it); its local header then holds zeros for CRC and sizes.
    descriptor: int | None = None


def stored(name: str, content: bytes, **fields: Any) -> RawEntry:
    return RawEntry(name.encode(), content, len(content), zlib.crc32(content), **fields)


def deflated(name: str, content: bytes, **fields: Any) -> RawEntry:
    squeezer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    data = squeezer.compress(content) + squeezer.flush()
    return RawEntry(name.encode(), data, len(content), zlib.crc32(content), method=8, **fields)


def raw_zip(entries: Iterable[RawEntry]) -> bytes:
    """The members, a central directory and its end record (Zip64 end records too when
    the count needs them), with no data descriptors."""
    out = bytearray()
    central = bytearray()
    count = 0
    for entry in entries:
        out += entry.before
        offset = len(out)
        local_name = entry.name if entry.local_name is None else entry.local_name
        flags = entry.flags | (0x0008 if entry.descriptor else 0)
        local = (0, 0, 0) if entry.descriptor else (entry.crc, len(entry.data), entry.size)
        out += struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            20,
            flags,
            entry.method,
            0,
            0x5A21,
            *local,
            len(local_name),
            0,
        )
        out += local_name + entry.data + _descriptor(entry)
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            entry.made_by,
            20,
            entry.flags | (0x0008 if entry.descriptor else 0),
            entry.method,
            0,
            0x5A21,
            entry.crc,
            len(entry.data),
            entry.size,
            len(entry.name),
            0,
            0,
            0,
            0,
            entry.external_attr,
            offset,
        )
        central += entry.name
        count += 1
    return bytes(out + central + _end(count, len(central), len(out)))


def _descriptor(entry: RawEntry) -> bytes:
    if entry.descriptor is None:
        return b""
    wide = "Q" if entry.descriptor in (20, 24) else "I"
    values = struct.pack(f"<I{wide}{wide}", entry.crc, len(entry.data), entry.size)
    signed = entry.descriptor in (16, 24)
    return (struct.pack("<I", 0x08074B50) if signed else b"") + values


def _end(count: int, size: int, offset: int) -> bytes:
    if count < 0xFFFF:
        return struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, size, offset, 0)
    return _zip64_end(count, size, offset)


def _zip64_end(count: int, size: int, offset: int) -> bytes:
    end64_at = offset + size
    record = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, size, offset)
    locator = struct.pack("<IIQI", 0x07064B50, 0, end64_at, 1)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return record + locator + end


def with_zip64_end(archive: bytes) -> bytes:
    """The archive with Zip64 end records in place of its plain end record (as a writer
    that does not know the count ahead writes them)."""
    fields = struct.unpack("<IHHHHIIH", archive[-22:])
    count, size, offset = fields[4], fields[5], fields[6]
    return archive[:-22] + _zip64_end(count, size, offset)


@cache
def deflated_zeros(size_mib: int) -> bytes:
    """A raw deflate stream that inflates to `size_mib` MiB of zeros, about 1 KiB per MiB,
    built in a few milliseconds: after a full flush, deflate writes the same bytes for
    the same input, so one compressed MiB is repeated, then a final empty block ends it."""
    squeezer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = squeezer.compress(bytes(1 << 20)) + squeezer.flush(zlib.Z_FULL_FLUSH)
    return block * size_mib + b"\x03\x00"


def replaced_once(data: bytes, old: bytes, new: bytes) -> bytes:
    """`data` with its only occurrence of `old` replaced by `new`."""
    assert data.count(old) == 1, (old, data.count(old))
    return data.replace(old, new)
