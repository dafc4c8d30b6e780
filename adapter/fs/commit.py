"""The all-or-nothing commit of staged files into one chat directory, kept all or nothing
through a crash (ADR 0019). Every function blocks: call them from a worker thread.

A history is one rename, atomic on its own (`commit_one`). Attachments (`commit_all`, one
or several) keep a journal, a directory of the service's own beside the chat's unsettled
mark (never inside the chat directory; `unsettled.journal_name` names it), in these steps:

1. what stands under each name (never a directory) is kept aside: hard-linked into the
   journal, so that putting it back is one rename;
2. the plan is written: per name, its backup (None when nothing stood there) and the
   identity of the staged file that will land under it;
3. the staged files are renamed over their names, in order, and the chat directory
   fsynced;
4. the plan is renamed `renamed`: from here on the commit stands;
5. the journal is removed.

Undoing a commit puts back, for each name still holding the file the commit put there,
what it held before. The same undo serves a failure within the call and a commit that a
crash cut short, found later (`undo_cut_short`); a name that no longer holds the
commit's file is left alone, so undoing twice changes nothing more.
"""

import json
import os
import stat
from collections.abc import Sequence
from contextlib import ExitStack, suppress
from dataclasses import dataclass

from adapter.fs.dirs import CREATE_FLAGS, lstat_or_none, open_dir, regular_size, remove_entry
from adapter.fs.fsync import fsync
from adapter.fs.layout import FILE_MODE, PRIVATE_DIR_MODE
from adapter.fs.staging import write_all
from domain.errors import StorageUnavailableError

PLAN = "plan"
RENAMED = "renamed"

# What tells one file from another under a name: inode numbers are reused once freed, so
# the size and the modification time (which a rename keeps) come with them. Not the device:
# every host's mount of a shared filesystem (NFS, JuiceFS) numbers its device its own way,
# and an instance on another host may be the one that finishes a dead one's journal (ADR
# 0031). One data directory is one filesystem (staged files are renamed into place), so
# the inode number alone names a file there.
Identity = tuple[int, int, int]


def identity(status: os.stat_result) -> Identity:
    return (status.st_ino, status.st_size, status.st_mtime_ns)


@dataclass(frozen=True, slots=True)
class Step:
    """One name of a commit: the staged file that lands under it, and the backup in the
    journal of what it replaces (None when nothing stood there)."""

    name: str
    staged: Identity
    backup: str | None


def commit_one(chat_fd: int, staging_fd: int, name: str, token: str) -> int:
    """Rename the staged file `token` over `name`. Returns the size of the regular file
    it replaced (0 if there was none)."""
    replaced = regular_size(chat_fd, name)
    replace_into(staging_fd, token, chat_fd, name)
    fsync(chat_fd)
    return replaced


def commit_all(
    chat_fd: int, staging_fd: int, journals_fd: int, journal: str, pairs: Sequence[tuple[str, str]]
) -> list[int]:
    """Rename each (name, staging token) pair's staged file over its name, in order, all or
    none, journaled in `journal` under `journals_fd`. Returns, per pair, the size of the
    regular file it replaced (0 if there was none). Staged files not renamed are left to
    the caller."""
    with ExitStack() as stack:
        journal_fd = begin(stack, chat_fd, journals_fd, journal)
        steps: list[Step] = []
        try:
            replaced = keep_aside(chat_fd, staging_fd, journal_fd, pairs, steps)
            write_plan(journal_fd, steps)
            for name, token in pairs:
                replace_into(staging_fd, token, chat_fd, name)
            fsync(chat_fd)
            os.rename(PLAN, RENAMED, src_dir_fd=journal_fd, dst_dir_fd=journal_fd)
        except BaseException:
            # If the undo fails, the journal stays for the chat's next settle or commit.
            with suppress(OSError):
                undo(chat_fd, journal_fd, steps)
                remove_entry(journals_fd, journal)
            raise
    with suppress(OSError):  # the commit stands; a complete journal left is only removed later
        remove_entry(journals_fd, journal)
    return replaced


def begin(stack: ExitStack, chat_fd: int, journals_fd: int, journal: str) -> int:
    """A new, empty journal. One already there is a dead commit's (the caller holds the
    chat's lock): it is finished first, undone unless it had completed its renames."""
    try:
        os.mkdir(journal, PRIVATE_DIR_MODE, dir_fd=journals_fd)
    except FileExistsError:
        undo_cut_short(chat_fd, journals_fd, journal)
        remove_entry(journals_fd, journal)
        os.mkdir(journal, PRIVATE_DIR_MODE, dir_fd=journals_fd)
    journal_fd = open_dir(stack, journals_fd, journal)
    if journal_fd is None:
        raise StorageUnavailableError("the commit journal vanished as it was made")
    return journal_fd


def keep_aside(
    chat_fd: int,
    staging_fd: int,
    journal_fd: int,
    pairs: Sequence[tuple[str, str]],
    steps: list[Step],
) -> list[int]:
    """Hard-link what stands under each name (never a directory, never following a link)
    into the journal, appending each name's step to `steps`. Returns, per pair, the size
    of the regular file it will replace."""
    replaced = []
    for index, (name, token) in enumerate(pairs):
        staged = identity(os.stat(token, dir_fd=staging_fd, follow_symlinks=False))
        status = lstat_or_none(chat_fd, name)
        backup, size = None, 0
        if status is not None and not stat.S_ISDIR(status.st_mode):
            backup = str(index)
            os.link(name, backup, src_dir_fd=chat_fd, dst_dir_fd=journal_fd, follow_symlinks=False)
            size = status.st_size if stat.S_ISREG(status.st_mode) else 0
        replaced.append(size)
        steps.append(Step(name, staged, backup))
    return replaced


def replace_into(staging_fd: int, token: str, chat_fd: int, name: str) -> None:
    try:
        os.replace(token, name, src_dir_fd=staging_fd, dst_dir_fd=chat_fd)
    except IsADirectoryError as error:
        raise StorageUnavailableError(
            f"a directory stands where {name!r} would be written"
        ) from error


def write_plan(journal_fd: int, steps: Sequence[Step]) -> None:
    """Not fsynced, like the marks (ADR 0011): it guards against the process dying."""
    payload = json.dumps([[step.name, list(step.staged), step.backup] for step in steps])
    fd = os.open(PLAN, CREATE_FLAGS, FILE_MODE, dir_fd=journal_fd)
    try:
        write_all(fd, payload.encode())
    finally:
        os.close(fd)


def read_plan(journal_fd: int) -> list[Step]:
    """The plan's steps; [] when there is none or it was cut short, which happens only
    before the first rename."""
    try:
        fd = os.open(PLAN, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=journal_fd)
    except FileNotFoundError:
        return []
    with os.fdopen(fd, "rb") as opened:
        payload = opened.read()
    try:
        # A plan written before ADR 0031 leads each identity with the device: skipped.
        return [
            Step(str(name), (int(ino), int(size), int(mtime)), backup)
            for name, (*_, ino, size, mtime), backup in json.loads(payload)
        ]
    except (ValueError, TypeError):
        return []


def undo(chat_fd: int, journal_fd: int, steps: Sequence[Step]) -> None:
    """Put back, newest first, what each step's name held before, if it still holds the
    staged file the step put there: the backup renamed over it, or the name removed where
    nothing stood. A name holding anything else (its rename never happened, was already
    undone, or a sandbox changed it since) is left alone. Every step is tried; the first
    OSError is raised after them."""
    failed: OSError | None = None
    for step in reversed(steps):
        try:
            status = lstat_or_none(chat_fd, step.name)
            if status is None or identity(status) != step.staged:
                continue
            if step.backup is None:
                os.unlink(step.name, dir_fd=chat_fd)
            else:
                os.replace(step.backup, step.name, src_dir_fd=journal_fd, dst_dir_fd=chat_fd)
        except OSError as error:
            failed = failed or error
    fsync(chat_fd)
    if failed is not None:
        raise failed


def undo_cut_short(chat_fd: int | None, journals_fd: int, journal: str) -> bool:
    """Undo the commit a crash left in `journal` unless it had completed its renames; the
    journal stays for the caller to remove. Returns whether there was such a commit to
    undo. `chat_fd` None: the chat directory is gone, so there is nothing to put back."""
    with ExitStack() as stack:
        journal_fd = open_dir(stack, journals_fd, journal)
        if journal_fd is None or lstat_or_none(journal_fd, RENAMED) is not None:
            return False
        if chat_fd is not None:
            undo(chat_fd, journal_fd, read_plan(journal_fd))
        return True
