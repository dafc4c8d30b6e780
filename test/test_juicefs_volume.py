"""The JuiceFS volume the tests get from the juicefs_volume fixture: what one mount does is
seen by another at once, as docs/deployment.md requires of the shared filesystem."""

import fcntl
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from test.juicefs_volume import JuiceFsVolume, metadata_url


@pytest.fixture
def hosts(juicefs_volume: JuiceFsVolume) -> tuple[Path, Path]:
    """A fresh directory of the volume, as the first and the second mount see it."""
    first, second, *_ = juicefs_volume.directories(f"probe-{uuid.uuid4().hex}")
    first.mkdir()
    return first, second


@contextmanager
def opened(path: Path) -> Iterator[int]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        yield fd
    finally:
        os.close(fd)


def test_the_volume_is_mounted_as_many_times_as_asked(juicefs_volume: JuiceFsVolume) -> None:
    points = juicefs_volume.mount_points
    assert len(points) == 3
    assert all(point.is_mount() for point in points)


def test_a_rename_over_a_name_on_one_mount_is_seen_whole_on_the_other_at_once(
    hosts: tuple[Path, Path],
) -> None:
    first, second = hosts
    for round_ in range(5):
        body = f"version {round_}\n".encode() * (round_ + 1)
        staged = first / f"staged-{round_}"
        staged.write_bytes(body)
        staged.replace(first / "history.md")

        assert (second / "history.md").stat().st_size == len(body)
        assert (second / "history.md").read_bytes() == body
        assert not (second / f"staged-{round_}").exists()


def test_a_file_has_one_inode_number_on_every_mount_though_each_mount_has_its_device(
    hosts: tuple[Path, Path],
) -> None:
    # Why a multi-file commit's journal names files by inode, not device (ADR 0031).
    first, second = hosts
    (first / "file").write_bytes(b"x")
    here, there = (first / "file").stat(), (second / "file").stat()
    assert here.st_ino == there.st_ino
    assert (here.st_size, here.st_mtime_ns) == (there.st_size, there.st_mtime_ns)
    assert here.st_dev != there.st_dev


def test_a_hard_link_made_on_one_mount_is_seen_on_the_other(hosts: tuple[Path, Path]) -> None:
    first, second = hosts
    (first / "history.md").write_bytes(b"kept")
    os.link(first / "history.md", first / "kept.md")

    assert (second / "kept.md").read_bytes() == b"kept"
    assert (second / "history.md").stat().st_nlink == 2


def test_a_flock_on_one_mount_excludes_the_other_until_it_is_let_go(
    hosts: tuple[Path, Path],
) -> None:
    first, second = hosts
    with opened(first / "lock") as mine, opened(second / "lock") as theirs:
        fcntl.flock(mine, fcntl.LOCK_EX)
        with pytest.raises(BlockingIOError):
            fcntl.flock(theirs, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(mine, fcntl.LOCK_UN)
        fcntl.flock(theirs, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(theirs, fcntl.LOCK_UN)


def test_a_posix_lock_on_one_mount_excludes_the_other(hosts: tuple[Path, Path]) -> None:
    first, second = hosts
    with opened(first / "lock") as mine, opened(second / "lock") as theirs:
        fcntl.lockf(mine, fcntl.LOCK_EX)
        with pytest.raises(BlockingIOError):
            fcntl.lockf(theirs, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.lockf(mine, fcntl.LOCK_UN)
        fcntl.lockf(theirs, fcntl.LOCK_EX | fcntl.LOCK_NB)


@pytest.mark.parametrize(
    ("dsn", "url"),
    [
        pytest.param(
            "postgresql://postgres@127.0.0.1:5432/meta",
            "postgres://postgres@127.0.0.1:5432/meta?sslmode=disable",
            id="plain",
        ),
        pytest.param(
            "postgresql://u:p@h:1/db?application_name=x",
            "postgres://u:p@h:1/db?application_name=x&sslmode=disable",
            id="with-a-query",
        ),
    ],
)
def test_metadata_url_is_the_databases_dsn_in_juicefs_s_scheme_without_tls(
    dsn: str, url: str
) -> None:
    assert metadata_url(dsn) == url
