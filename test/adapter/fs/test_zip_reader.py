"""The strict ZIP reader on real files (adapter/fs/zip_reader.py): every form of data
descriptor a writer may leave, members read back in bounded chunks, and the damage only
inflating can find."""

import os
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from adapter.fs.zip_reader import CHUNK_BYTES, MemberReading, read_members
from domain.errors import InvalidArchiveError
from test.archives import RawEntry, deflated, deflated_zeros, raw_zip, stored
from usecase.ports.archives import ArchiveMember

MAX_MEMBERS, MAX_PATH_BYTES = 100, 512


@pytest.fixture
def opened(tmp_path: Path) -> Iterator[tuple[Path, list[int]]]:
    """Where to write an archive, and the descriptors opened on it (closed after)."""
    fds: list[int] = []
    yield tmp_path / "archive.zip", fds
    for fd in fds:
        os.close(fd)


def members_of(opened: tuple[Path, list[int]], archive: bytes) -> tuple[int, list[ArchiveMember]]:
    path, fds = opened
    path.write_bytes(archive)
    fd = os.open(path, os.O_RDONLY)
    fds.append(fd)
    return fd, read_members(fd, MAX_MEMBERS, MAX_PATH_BYTES)


def read_back(fd: int, member: ArchiveMember) -> list[bytes]:
    reading = MemberReading(member)
    chunks = []
    while (chunk := reading.next_chunk(fd)) is not None:
        chunks.append(chunk)
    return chunks


@pytest.mark.parametrize("form", [12, 16, 20, 24], ids=["32-bit", "signed", "64-bit", "signed-64"])
def test_every_form_of_data_descriptor_is_read(opened: tuple[Path, list[int]], form: int) -> None:
    content = b"streamed bytes " * 100
    archive = raw_zip(
        [deflated("a.txt", content, descriptor=form), stored("b.txt", b"b", descriptor=form)]
    )

    fd, members = members_of(opened, archive)

    assert [member.path for member in members] == ["a.txt", "b.txt"]
    assert b"".join(read_back(fd, members[0])) == content
    assert b"".join(read_back(fd, members[1])) == b"b"


def test_a_data_descriptor_that_disagrees_with_its_record_is_refused(
    opened: tuple[Path, list[int]],
) -> None:
    entry = stored("a.txt", b"abc", descriptor=16)
    archive = raw_zip([entry])
    wrong = archive.replace(
        zlib.crc32(b"abc").to_bytes(4, "little") + (3).to_bytes(4, "little"),
        zlib.crc32(b"abd").to_bytes(4, "little") + (3).to_bytes(4, "little"),
        1,
    )

    with pytest.raises(InvalidArchiveError, match="data descriptor"):
        members_of(opened, wrong)


def test_a_member_is_handed_on_in_bounded_chunks(opened: tuple[Path, list[int]]) -> None:
    content = os.urandom(CHUNK_BYTES) * 3 + b"tail"
    fd, [member] = members_of(opened, raw_zip([deflated("big.bin", content)]))

    chunks = read_back(fd, member)

    assert b"".join(chunks) == content
    assert max(len(chunk) for chunk in chunks) <= CHUNK_BYTES


def test_a_member_inflating_past_its_declared_size_is_refused_before_a_byte_is_handed_on(
    opened: tuple[Path, list[int]],
) -> None:
    declared = bytes(10)
    entry = RawEntry(b"bomb", deflated_zeros(64), len(declared), zlib.crc32(declared), method=8)
    fd, [member] = members_of(opened, raw_zip([entry]))

    with pytest.raises(InvalidArchiveError, match="inflates past the 10 bytes"):
        MemberReading(member).next_chunk(fd)


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        pytest.param(lambda data: data[:-4], "ends before its deflate stream", id="cut-short"),
        pytest.param(lambda data: data + b"more", "bytes after its deflate stream", id="trailing"),
        pytest.param(lambda data: b"\xff" * len(data), "corrupt deflate data", id="corrupt"),
    ],
)
def test_deflate_data_that_is_not_whole_is_refused(
    opened: tuple[Path, list[int]], damage: Callable[[bytes], bytes], reason: str
) -> None:
    content = b"some text that deflates " * 50
    entry = deflated("a.txt", content)
    entry.data = damage(entry.data)
    fd, [member] = members_of(opened, raw_zip([entry]))

    with pytest.raises(InvalidArchiveError, match=reason):
        read_back(fd, member)


def test_a_local_header_that_disagrees_on_the_sizes_is_refused(
    opened: tuple[Path, list[int]],
) -> None:
    archive = raw_zip([stored("a.txt", b"abc")])
    # The local header's compressed and uncompressed sizes (3, 3) said 4, 4.
    head = archive[:30]
    wrong = head[:18] + (4).to_bytes(4, "little") * 2 + head[26:] + archive[30:]

    with pytest.raises(InvalidArchiveError, match="local header"):
        members_of(opened, wrong)


def test_an_entry_path_past_the_bound_is_refused_before_it_is_kept(
    opened: tuple[Path, list[int]],
) -> None:
    with pytest.raises(InvalidArchiveError, match="entry path of 513 bytes"):
        members_of(opened, raw_zip([stored("x" * 513, b"")]))


def test_an_entry_path_that_is_not_utf8_is_refused(opened: tuple[Path, list[int]]) -> None:
    entry = stored("x", b"")
    entry.name = b"\xff\xfe"

    with pytest.raises(InvalidArchiveError, match="not UTF-8"):
        members_of(opened, raw_zip([entry]))
