import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapter.fs.commit import commit_all
from adapter.fs.staging import new_token
from domain.errors import StorageUnavailableError

NAMES = ["a.txt", "b.txt", "c.txt"]


@dataclass(frozen=True)
class Dirs:
    chat: Path
    staging: Path
    aside: Path
    chat_fd: int
    staging_fd: int
    aside_fd: int

    def stage(self, data: bytes) -> str:
        token = new_token()
        (self.staging / token).write_bytes(data)
        return token

    def commit(self, files: dict[str, bytes]) -> list[int]:
        pairs = [(name, self.stage(data)) for name, data in files.items()]
        return commit_all(self.chat_fd, self.staging_fd, self.aside_fd, pairs)

    def contents(self) -> dict[str, bytes]:
        return {path.name: path.read_bytes() for path in self.chat.iterdir() if path.is_file()}


@pytest.fixture
def dirs(tmp_path: Path) -> Iterator[Dirs]:
    chat, staging, aside = (tmp_path / name for name in ("chat", "staging", "aside"))
    fds = []
    for path in (chat, staging, aside):
        path.mkdir()
        fds.append(os.open(path, os.O_RDONLY | os.O_DIRECTORY))
    try:
        yield Dirs(chat, staging, aside, *fds)
    finally:
        for fd in fds:
            os.close(fd)


def test_a_commit_puts_every_file_in_place_and_says_what_each_replaced(dirs: Dirs) -> None:
    (dirs.chat / "b.txt").write_bytes(b"old b")
    (dirs.chat / "c.txt").symlink_to(dirs.staging)

    replaced = dirs.commit({"a.txt": b"new a", "b.txt": b"new b", "c.txt": b"new c"})

    assert replaced == [0, len(b"old b"), 0]
    assert dirs.contents() == {"a.txt": b"new a", "b.txt": b"new b", "c.txt": b"new c"}
    assert list(dirs.staging.iterdir()) == []
    assert list(dirs.aside.iterdir()) == []


@pytest.mark.parametrize("failing", range(len(NAMES)), ids=[f"rename {k}" for k in range(3)])
def test_a_failed_rename_puts_back_what_every_earlier_one_replaced(
    dirs: Dirs, failing: int
) -> None:
    (dirs.chat / "a.txt").write_bytes(b"old a")  # "b.txt" is new, "c.txt" replaced too
    (dirs.chat / "c.txt").write_bytes(b"old c")
    blocked = NAMES[failing]
    (dirs.chat / blocked).unlink(missing_ok=True)
    (dirs.chat / blocked).mkdir()  # a rename over a directory fails
    before = dirs.contents()
    tokens = {name: dirs.stage(b"new " + name.encode()) for name in NAMES}

    with pytest.raises(StorageUnavailableError, match="directory"):
        commit_all(dirs.chat_fd, dirs.staging_fd, dirs.aside_fd, list(tokens.items()))

    assert dirs.contents() == before
    assert (dirs.chat / blocked).is_dir()
    assert list(dirs.aside.iterdir()) == []
    # The staged files that never moved are the caller's to remove.
    assert sorted(path.name for path in dirs.staging.iterdir()) == sorted(
        tokens[name] for name in NAMES[failing:]
    )


def test_a_replaced_link_is_put_back_as_the_link_it_was(dirs: Dirs, tmp_path: Path) -> None:
    target = tmp_path / "outside.txt"
    target.write_bytes(b"outside")
    (dirs.chat / "a.txt").symlink_to(target)
    (dirs.chat / "b.txt").mkdir()

    with pytest.raises(StorageUnavailableError):
        dirs.commit({"a.txt": b"new a", "b.txt": b"new b"})

    assert (dirs.chat / "a.txt").readlink() == target
    assert target.read_bytes() == b"outside"
