"""The streamed ZIP writer: what it writes reads back, with zipfile and `unzip -t`, exactly
as given; it tells each member's size and sha256; it never needs to seek; and an archive
dropped half-way costs nothing."""

import io
import os
import stat
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from adapter.zip_archive import FLUSH_BYTES, INLINE_BYTES, ZipArchives, ZipArchiveWriter
from test.export_archives import assert_unzip_accepts, sha256

pytestmark = pytest.mark.anyio

NOON = datetime(2026, 4, 1, 12, 0, 30, tzinfo=UTC)


async def chunks_of(data: bytes, size: int) -> AsyncIterator[bytes]:
    for offset in range(0, len(data), size):
        yield data[offset : offset + size]


async def written(members: list[tuple[str, bytes, int]]) -> tuple[bytes, list[tuple[int, str]]]:
    """An archive of `members` (path, bytes, chunk size), and what each member told."""
    writer = ZipArchives().writer()
    out = bytearray()
    told = []
    for path, data, chunk in members:
        member = writer.member(path, NOON, len(data), chunks_of(data, chunk))
        async for piece in member:
            out += piece
        told.append((member.size_bytes, member.sha256))
    out += await writer.finish()
    await writer.aclose()
    return bytes(out), told


@pytest.mark.parametrize(
    "chunk",
    [
        pytest.param(1000, id="small-chunks-on-the-loop"),
        pytest.param(INLINE_BYTES, id="chunks-off-the-loop"),
        pytest.param(FLUSH_BYTES * 3, id="chunks-past-the-flush"),
    ],
)
async def test_members_read_back_as_written_and_tell_their_size_and_sha256(chunk: int) -> None:
    members = [
        ("history.md", b"# hello\n", chunk),
        ("files/empty", b"", chunk),
        ("files/Übersicht €.bin", os.urandom(FLUSH_BYTES * 2 + 17), chunk),
    ]

    data, told = await written(members)

    assert_unzip_accepts(data)
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    assert archive.namelist() == [path for path, _, _ in members]
    for (path, content, _), (size, digest) in zip(members, told, strict=True):
        assert archive.read(path) == content
        assert (size, digest) == (len(content), sha256(content))
        info = archive.getinfo(path)
        assert info.compress_type == zipfile.ZIP_STORED
        assert info.date_time == (2026, 4, 1, 12, 0, 30)
        assert info.external_attr >> 16 == stat.S_IFREG | 0o644
        assert info.flag_bits & 0x08  # a data descriptor: sizes and CRC after the bytes
    assert archive.getinfo("files/Übersicht €.bin").flag_bits & 0x800  # a UTF-8 name


async def test_small_members_go_out_gathered_and_large_ones_in_pieces() -> None:
    writer = ZipArchives().writer()
    pieces = []
    for number in range(200):
        content = f"member {number}".encode()
        async for piece in writer.member(f"m{number}", NOON, len(content), chunks_of(content, 64)):
            pieces.append(piece)
    big = os.urandom(4 * FLUSH_BYTES)
    async for piece in writer.member("big", NOON, len(big), chunks_of(big, FLUSH_BYTES)):
        pieces.append(piece)
    pieces.append(await writer.finish())

    assert len(pieces) <= 6
    assert zipfile.ZipFile(io.BytesIO(b"".join(pieces))).read("big") == big


@pytest.mark.parametrize(
    ("moment", "stored"),
    [
        pytest.param(datetime(1970, 1, 1, tzinfo=UTC), (1980, 1, 1, 0, 0, 0), id="before-1980"),
        pytest.param(datetime(2200, 1, 1, tzinfo=UTC), (2107, 12, 31, 23, 59, 58), id="after-2107"),
        pytest.param(
            datetime(2026, 4, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))),
            (2026, 4, 1, 12, 0, 0),
            id="in-utc",
        ),
    ],
)
async def test_a_members_time_is_stored_in_utc_within_what_zip_can_hold(
    moment: datetime, stored: tuple[int, ...]
) -> None:
    writer = ZipArchives().writer()
    async for _ in writer.member("a", moment, 1, chunks_of(b"a", 1)):
        pass

    archive = zipfile.ZipFile(io.BytesIO(await writer.finish()))

    assert archive.getinfo("a").date_time == stored


async def test_a_member_tells_nothing_before_it_is_written_whole() -> None:
    writer = ZipArchives().writer()
    member = writer.member("a", NOON, 3, chunks_of(b"abc", 1))

    with pytest.raises(RuntimeError):
        _ = member.size_bytes
    await writer.aclose()


async def test_a_member_must_be_whole_before_the_next_one_starts() -> None:
    writer = ZipArchives().writer()
    first = aiter(writer.member("a", NOON, FLUSH_BYTES * 2, chunks_of(b"a" * FLUSH_BYTES * 2, 1)))
    await anext(first)

    with pytest.raises(RuntimeError):
        await anext(aiter(writer.member("b", NOON, 1, chunks_of(b"b", 1))))
    await writer.aclose()


async def test_an_archive_dropped_mid_member_closes_quietly() -> None:
    """zipfile refuses to close an archive with a member open, also when it is collected
    (an "exception ignored" that pytest turns into a failure)."""
    writer = ZipArchiveWriter()
    member = aiter(writer.member("a", NOON, FLUSH_BYTES * 2, chunks_of(b"a" * FLUSH_BYTES * 2, 9)))
    await anext(member)

    await writer.aclose()
    await writer.aclose()  # a second close is a no-op

    assert writer.sink.pending == 0  # nothing kept
