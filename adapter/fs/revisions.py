"""Blocking steps on what history revisions keep on disk: `revisions/<ws>/<chat>/<run>.md`,
outside every chat directory, so no sandbox sees them (design.md, "On disk").

A run is a series of revisions each a prefix of the next: an append continues the run of
the revision before it, any other change starts one. While a run is current its bytes are
`history.md` itself, and its revisions cost nothing beside it. When a PUT or a restore
replaces the history, the inode that held the run is kept, by a hard link made before the
rename, as `<run>.md`: no copy, and once renamed away no name in the chat directory
reaches it. A history that is not a regular file, or that has a second name a sandbox made
(it could still be written through that name), is copied instead.
"""

import os
import re
import stat
from collections.abc import Sequence
from contextlib import ExitStack

from adapter.fs.digest import sha256_up_to
from adapter.fs.dirs import (
    CREATE_FLAGS,
    lstat_or_none,
    make_dirs,
    open_dirs,
    open_regular,
    open_regular_status,
    regular_size,
)
from adapter.fs.fsync import fsync
from adapter.fs.history_append import copy_range
from adapter.fs.layout import FILE_MODE, PRIVATE_DIR_MODE, REVISIONS
from domain.attachment_name import HISTORY_FILE_NAME
from domain.errors import StorageUnavailableError
from domain.history import HistoryVersion

_RUN_FILE = re.compile(r"(0|[1-9][0-9]*)\.md")


def run_file(run: int) -> str:
    return f"{run}.md"


def open_revisions_dir(
    stack: ExitStack, root_fd: int, workspace_id: str, chat_id: str, *, create: bool
) -> int | None:
    """The chat's revisions directory, closed with `stack`; made if missing when `create`,
    else None when missing."""
    names = (REVISIONS, workspace_id, chat_id)
    if create:
        return make_dirs(stack, root_fd, names, PRIVATE_DIR_MODE)
    return open_dirs(stack, root_fd, names)


def keep_current(chat_fd: int, revisions_fd: int, run: int, *, sync: bool = True) -> int:
    """Keep what `history.md` holds now as the file of `run`, durably (the revisions
    directory fsynced unless `sync` is False: the caller does it); returns its size (0,
    nothing kept, when the history is missing or not a regular file)."""
    status = lstat_or_none(chat_fd, HISTORY_FILE_NAME)
    if status is None or not stat.S_ISREG(status.st_mode):
        return 0
    name = run_file(run)
    if status.st_nlink == 1:
        try:
            os.link(
                HISTORY_FILE_NAME,
                name,
                src_dir_fd=chat_fd,
                dst_dir_fd=revisions_fd,
                follow_symlinks=False,
            )
        except FileExistsError:
            return regular_size(revisions_fd, name)
        kept = lstat_or_none(revisions_fd, name)
        if kept is not None and stat.S_ISREG(kept.st_mode) and kept.st_nlink == 2:
            if sync:
                fsync(revisions_fd)
            return kept.st_size
        # A sandbox swapped the name between the look and the link: keep a copy instead.
        os.unlink(name, dir_fd=revisions_fd)
    return _copy_current(chat_fd, revisions_fd, name, sync)


def _copy_current(chat_fd: int, revisions_fd: int, name: str, sync: bool) -> int:
    with ExitStack() as stack:
        opened = open_regular_status(stack, chat_fd, HISTORY_FILE_NAME)
        if opened is None:
            return 0
        source, status = opened
        target = os.open(name, CREATE_FLAGS, FILE_MODE, dir_fd=revisions_fd)
        stack.callback(os.close, target)
        copied = copy_range(source, 0, target, 0, status.st_size)
        fsync(target)
    if sync:
        fsync(revisions_fd)
    return copied


def keep_bodies(staging_fd: int, revisions_fd: int, bodies: Sequence[tuple[int, str]]) -> None:
    """Make each staged body the file of its run: the bodies of a batch's PUTs that the
    last one replaced at once, each still a revision of its own. The caller fsyncs them
    (`sync_run`) and the revisions directory before anything depends on them."""
    for run, token in bodies:
        os.rename(token, run_file(run), src_dir_fd=staging_fd, dst_dir_fd=revisions_fd)


def sync_run(revisions_fd: int, run: int) -> None:
    """fsync the file of `run` (never through a link)."""
    fd = os.open(run_file(run), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=revisions_fd)
    try:
        fsync(fd)
    finally:
        os.close(fd)


def copy_prefix(source_fd: int, target_fd: int, size: int) -> None:
    """Copy the first `size` bytes of `source_fd` by the kernel, durably; fewer bytes than
    that is a StorageUnavailableError."""
    if copy_range(source_fd, 0, target_fd, 0, size) != size:
        raise StorageUnavailableError("a history revision is shorter than its record says")
    fsync(target_fd)


def starts_with(chat_fd: int, version: HistoryVersion) -> bool:
    """Whether `history.md` is a regular file whose first bytes are `version`'s content."""
    if version.size_bytes == 0:
        return True
    with ExitStack() as stack:
        opened = open_regular(stack, chat_fd, HISTORY_FILE_NAME)
        if opened is None or opened[1] < version.size_bytes:
            return False
        sha256, read = sha256_up_to(opened[0], version.size_bytes)
    return read == version.size_bytes and sha256 == version.sha256


def open_prefix(dir_fd: int, name: str, size: int) -> int | None:
    """A descriptor of the regular file `name` if it holds at least `size` bytes, the
    caller to close it; None otherwise."""
    with ExitStack() as stack:
        opened = open_regular_status(stack, dir_fd, name)
        if opened is None or opened[1].st_size < size:
            return None
        stack.pop_all()
        return opened[0]


def drop_runs(revisions_fd: int, keep: set[int]) -> int:
    """Remove the file of every run not in `keep`; returns the bytes freed."""
    freed = 0
    with os.scandir(revisions_fd) as entries:
        names = [entry.name for entry in entries]
    for name in names:
        matched = _RUN_FILE.fullmatch(name)
        if matched is None or int(matched.group(1)) in keep:
            continue
        freed += regular_size(revisions_fd, name)
        os.unlink(name, dir_fd=revisions_fd)
    if freed:
        fsync(revisions_fd)
    return freed


def run_sizes(revisions_fd: int) -> dict[int, int]:
    """The size of each run's file."""
    sizes: dict[int, int] = {}
    with os.scandir(revisions_fd) as entries:
        for entry in entries:
            matched = _RUN_FILE.fullmatch(entry.name)
            if matched is not None and entry.is_file(follow_symlinks=False):
                sizes[int(matched.group(1))] = entry.stat(follow_symlinks=False).st_size
    return sizes
