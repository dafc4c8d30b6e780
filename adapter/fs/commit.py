"""The all-or-nothing commit of several staged files into one chat directory.

Every function blocks: call them from a worker thread. Each staged file is renamed over
its name in turn. Before that rename, what stands under the name (never a directory) is
kept aside, hard-linked into a directory of the service's own, so that undoing the rename
is one rename back. If any step fails, the renames already done are undone, newest first,
and the error propagates.
"""

import os
import stat
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass

from adapter.fs.dirs import lstat_or_none, regular_size
from adapter.fs.staging import new_token
from domain.errors import StorageUnavailableError


@dataclass(frozen=True, slots=True)
class Renamed:
    """A name a staged file was renamed over, and where what it replaced is kept aside
    (None when nothing stood there)."""

    name: str
    backup: str | None


def commit_all(
    chat_fd: int, staging_fd: int, aside_fd: int, pairs: Sequence[tuple[str, str]]
) -> list[int]:
    """Rename each (name, staging token) pair's staged file over its name, in order, all
    or none; what they replaced is kept aside in `aside_fd` until all are in place.
    Returns, per pair, the size of the regular file it replaced (0 if there was none).
    Staged files not renamed are left to the caller."""
    done: list[Renamed] = []
    replaced: list[int] = []
    try:
        for name, token in pairs:
            replaced.append(regular_size(chat_fd, name))
            done.append(rename_keeping_aside(chat_fd, staging_fd, aside_fd, name, token))
        os.fsync(chat_fd)
    except BaseException:
        undo(chat_fd, aside_fd, done)
        raise
    drop_backups(aside_fd, done)
    return replaced


def rename_keeping_aside(
    chat_fd: int, staging_fd: int, aside_fd: int, name: str, token: str
) -> Renamed:
    """Keep aside what stands under `name`, then rename the staged file over it; if the
    rename fails, the backup goes and the error propagates."""
    renamed = Renamed(name, keep_aside(chat_fd, aside_fd, name))
    try:
        replace_into(staging_fd, token, chat_fd, name)
    except BaseException:
        drop_backups(aside_fd, [renamed])
        raise
    return renamed


def replace_into(staging_fd: int, token: str, chat_fd: int, name: str) -> None:
    try:
        os.replace(token, name, src_dir_fd=staging_fd, dst_dir_fd=chat_fd)
    except IsADirectoryError as error:
        raise StorageUnavailableError(
            f"a directory stands where {name!r} would be written"
        ) from error


def keep_aside(chat_fd: int, aside_fd: int, name: str) -> str | None:
    """Hard-link the entry `name` (never a directory, never following a link) into
    `aside_fd`; the backup's name there, or None when there is nothing to keep."""
    status = lstat_or_none(chat_fd, name)
    if status is None or stat.S_ISDIR(status.st_mode):
        return None
    backup = new_token()
    os.link(name, backup, src_dir_fd=chat_fd, dst_dir_fd=aside_fd, follow_symlinks=False)
    return backup


def undo(chat_fd: int, aside_fd: int, done: Sequence[Renamed]) -> None:
    """Put back what the renames in `done` replaced, newest first: the backup renamed back
    over the name, or the name removed where nothing stood. Best effort: the caller is
    already failing, and a crash here is what start-up recovery is for."""
    for renamed in reversed(done):
        with suppress(OSError):
            if renamed.backup is None:
                os.unlink(renamed.name, dir_fd=chat_fd)
            else:
                os.replace(renamed.backup, renamed.name, src_dir_fd=aside_fd, dst_dir_fd=chat_fd)
    with suppress(OSError):
        os.fsync(chat_fd)


def drop_backups(aside_fd: int, done: Sequence[Renamed]) -> None:
    for renamed in done:
        if renamed.backup is not None:
            with suppress(OSError):
                os.unlink(renamed.backup, dir_fd=aside_fd)
