import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapter.fs.commit import PLAN, commit_all, commit_one, undo_cut_short
from adapter.fs.staging import new_token
from domain.errors import StorageUnavailableError
from test.adapter.fs.cut_short import cut_short, mark_renamed

NAMES = ["a.txt", "b.txt", "c.txt"]
JOURNAL = "w_c.commit"
# "a.txt" and "c.txt" hold files the commits replace; "b.txt" is new.
OLD = {"a.txt": b"old a", "c.txt": b"old c"}
NEW = {name: b"new " + name.encode() for name in NAMES}


@dataclass(frozen=True)
class Dirs:
    chat: Path
    staging: Path
    journals: Path
    chat_fd: int
    staging_fd: int
    journals_fd: int

    def stage(self, files: dict[str, bytes]) -> list[tuple[str, str]]:
        pairs = []
        for name, data in files.items():
            token = new_token()
            (self.staging / token).write_bytes(data)
            pairs.append((name, token))
        return pairs

    def commit(self, files: dict[str, bytes]) -> list[int]:
        pairs = self.stage(files)
        return commit_all(self.chat_fd, self.staging_fd, self.journals_fd, JOURNAL, pairs)

    def cut_short(self, files: dict[str, bytes], renamed: int) -> None:
        """What a commit of `files` leaves when its process dies after `renamed` renames."""
        pairs = self.stage(files)
        cut_short(self.chat, self.staging, self.journals, JOURNAL, pairs, renamed)

    def undo_cut_short(self) -> bool:
        return undo_cut_short(self.chat_fd, self.journals_fd, JOURNAL)

    def contents(self) -> dict[str, bytes]:
        return {path.name: path.read_bytes() for path in self.chat.iterdir() if path.is_file()}


@pytest.fixture
def dirs(tmp_path: Path) -> Iterator[Dirs]:
    chat, staging, journals = (tmp_path / name for name in ("chat", "staging", "unsettled"))
    fds = []
    for path in (chat, staging, journals):
        path.mkdir()
        fds.append(os.open(path, os.O_RDONLY | os.O_DIRECTORY))
    for name, data in OLD.items():
        (chat / name).write_bytes(data)
    try:
        yield Dirs(chat, staging, journals, *fds)
    finally:
        for fd in fds:
            os.close(fd)


def test_a_commit_puts_every_file_in_place_and_says_what_each_replaced(dirs: Dirs) -> None:
    (dirs.chat / "b.txt").symlink_to(dirs.staging)

    replaced = dirs.commit(NEW)

    assert replaced == [len(OLD["a.txt"]), 0, len(OLD["c.txt"])]
    assert dirs.contents() == NEW
    assert list(dirs.staging.iterdir()) == []
    assert list(dirs.journals.iterdir()) == []


def test_a_commit_of_one_file_says_what_it_replaced(dirs: Dirs) -> None:
    [(name, token)] = dirs.stage({"a.txt": b"new"})

    assert commit_one(dirs.chat_fd, dirs.staging_fd, name, token) == len(OLD["a.txt"])
    assert (dirs.chat / "a.txt").read_bytes() == b"new"


@pytest.mark.parametrize("failing", range(len(NAMES)), ids=[f"rename {k}" for k in range(3)])
def test_a_failed_rename_puts_back_what_every_earlier_one_replaced(
    dirs: Dirs, failing: int
) -> None:
    blocked = NAMES[failing]
    (dirs.chat / blocked).unlink(missing_ok=True)
    (dirs.chat / blocked).mkdir()  # a rename over a directory fails
    before = dirs.contents()
    pairs = dirs.stage(NEW)

    with pytest.raises(StorageUnavailableError, match="directory"):
        commit_all(dirs.chat_fd, dirs.staging_fd, dirs.journals_fd, JOURNAL, pairs)

    assert dirs.contents() == before
    assert (dirs.chat / blocked).is_dir()
    assert list(dirs.journals.iterdir()) == []
    # The staged files that never moved are the caller's to remove.
    assert sorted(path.name for path in dirs.staging.iterdir()) == sorted(
        token for _, token in pairs[failing:]
    )


def test_a_replaced_link_is_put_back_as_the_link_it_was(dirs: Dirs, tmp_path: Path) -> None:
    target = tmp_path / "outside.txt"
    target.write_bytes(b"outside")
    (dirs.chat / "a.txt").unlink()
    (dirs.chat / "a.txt").symlink_to(target)
    (dirs.chat / "b.txt").mkdir()

    with pytest.raises(StorageUnavailableError):
        dirs.commit({"a.txt": b"new a", "b.txt": b"new b"})

    assert (dirs.chat / "a.txt").readlink() == target
    assert target.read_bytes() == b"outside"


@pytest.mark.parametrize("renamed", range(len(NAMES) + 1), ids=lambda k: f"{k} renamed")
def test_a_commit_cut_short_before_it_stands_is_undone_whole(dirs: Dirs, renamed: int) -> None:
    dirs.cut_short(NEW, renamed)

    assert dirs.undo_cut_short()

    assert dirs.contents() == OLD


def test_a_commit_cut_short_is_undone_through_another_hosts_mount_of_the_directory(
    dirs: Dirs,
) -> None:
    # Each host's mount of a shared filesystem gives the same file its own device number;
    # the plan must name the staged files so that an instance on another host finds them.
    dirs.cut_short(NEW, renamed=2)
    plan = dirs.journals / JOURNAL / PLAN
    steps = json.loads(plan.read_bytes())
    for _, staged, _ in steps:
        assert len(staged) == 3  # inode, size, mtime: no device

    assert dirs.undo_cut_short()

    assert dirs.contents() == OLD


def test_a_plan_written_with_device_numbers_is_still_undone(dirs: Dirs) -> None:
    # A plan written before ADR 0031 led each staged file's identity with its device.
    dirs.cut_short(NEW, renamed=2)
    plan = dirs.journals / JOURNAL / PLAN
    steps = json.loads(plan.read_bytes())
    plan.write_text(
        json.dumps([[name, [12345, *staged], backup] for name, staged, backup in steps])
    )

    assert dirs.undo_cut_short()

    assert dirs.contents() == OLD


def test_undoing_a_commit_cut_short_again_changes_nothing_more(dirs: Dirs) -> None:
    dirs.cut_short(NEW, renamed=2)
    dirs.undo_cut_short()
    # A crash before the journal was removed: the next start undoes it again.
    assert dirs.undo_cut_short()

    assert dirs.contents() == OLD


def test_an_undo_cut_short_by_a_crash_is_finished_by_the_next(dirs: Dirs) -> None:
    dirs.cut_short(NEW, renamed=3)
    # The first undo died after putting back "c.txt" only.
    journal = dirs.journals / JOURNAL
    (journal / "2").rename(dirs.chat / "c.txt")

    assert dirs.undo_cut_short()

    assert dirs.contents() == OLD


def test_a_commit_that_had_done_its_renames_stands(dirs: Dirs) -> None:
    dirs.cut_short(NEW, renamed=3)
    mark_renamed(dirs.journals / JOURNAL)

    assert not dirs.undo_cut_short()

    assert dirs.contents() == NEW


def test_a_name_changed_since_the_crash_is_left_as_it_is(dirs: Dirs) -> None:
    dirs.cut_short(NEW, renamed=2)
    (dirs.chat / "a.txt").unlink()
    (dirs.chat / "a.txt").write_bytes(b"a sandbox's own")

    dirs.undo_cut_short()

    assert dirs.contents() == {**OLD, "a.txt": b"a sandbox's own"}


def test_no_journal_is_no_commit_to_undo(dirs: Dirs) -> None:
    assert not dirs.undo_cut_short()
    assert dirs.contents() == OLD


def test_a_commit_finishes_a_dead_commit_s_journal_before_its_own(dirs: Dirs) -> None:
    dirs.cut_short(NEW, renamed=2)

    assert dirs.commit({"b.txt": b"later b", "d.txt": b"later d"}) == [0, 0]

    assert dirs.contents() == {**OLD, "b.txt": b"later b", "d.txt": b"later d"}
    assert list(dirs.journals.iterdir()) == []
