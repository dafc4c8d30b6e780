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
from contextlib import ExitStack

from adapter.fs.dirs import (
    CREATE_FLAGS,
    lstat_or_none,
    make_dirs,
    open_dirs,
    open_regular_status,
    regular_size,
)
from adapter.fs.history_append import copy_range
from adapter.fs.layout import FILE_MODE, PRIVATE_DIR_MODE, REVISIONS
from domain.attachment_name import HISTORY_FILE_NAME

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


def keep_current(chat_fd: int, revisions_fd: int, run: int) -> int:
    """Keep what `history.md` holds now as the file of `run`, durably; returns its size
    (0, nothing kept, when the history is missing or not a regular file)."""
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
            os.fsync(revisions_fd)
            return kept.st_size
        # A sandbox swapped the name between the look and the link: keep a copy instead.
        os.unlink(name, dir_fd=revisions_fd)
    return _copy_current(chat_fd, revisions_fd, name)


def _copy_current(chat_fd: int, revisions_fd: int, name: str) -> int:
    with ExitStack() as stack:
        opened = open_regular_status(stack, chat_fd, HISTORY_FILE_NAME)
        if opened is None:
            return 0
        source, status = opened
        target = os.open(name, CREATE_FLAGS, FILE_MODE, dir_fd=revisions_fd)
        stack.callback(os.close, target)
        copied = copy_range(source, 0, target, 0, status.st_size)
        os.fsync(target)
    os.fsync(revisions_fd)
    return copied


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
        os.fsync(revisions_fd)
    return freed


def kept_bytes(revisions_fd: int) -> int:
    """What the runs' files hold in all."""
    with os.scandir(revisions_fd) as entries:
        return sum(
            entry.stat(follow_symlinks=False).st_size
            for entry in entries
            if _RUN_FILE.fullmatch(entry.name) and entry.is_file(follow_symlinks=False)
        )
