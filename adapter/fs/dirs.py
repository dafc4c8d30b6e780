"""Blocking helpers that reach files through directory descriptors, one component at a time.

Every name handed to these helpers is a single path component; `O_NOFOLLOW` guards only the
last component, so a name never holds `/`. Callers run them in a worker thread.
"""

import errno
import os
import shutil
import stat
from collections.abc import Iterable
from contextlib import ExitStack
from pathlib import Path

from adapter.fs.fsync import fsync
from adapter.fs.layout import FILE_MODE

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK makes a planted FIFO open at once instead of waiting for a writer.
READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC

# What opening a name answers when it is absent, a link, or not the kind of file asked for.
MISSING_ERRNOS = frozenset(
    {errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.ENXIO, errno.EISDIR, errno.ENODEV}
)


def open_root(stack: ExitStack, root: Path) -> int:
    """The data root itself is the operator's choice, so links on its path are followed."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    stack.callback(os.close, fd)
    return fd


def open_dir_fd(parent_fd: int, name: str) -> int | None:
    """A descriptor, for the caller to close, of the real directory `name` in `parent_fd`;
    None if there is none (absent, a link, or not a directory)."""
    try:
        return os.open(name, DIR_FLAGS, dir_fd=parent_fd)
    except OSError as error:
        if error.errno in MISSING_ERRNOS:
            return None
        raise


def open_dir(stack: ExitStack, parent_fd: int, name: str) -> int | None:
    """Like `open_dir_fd`, the descriptor closed with `stack`."""
    fd = open_dir_fd(parent_fd, name)
    if fd is not None:
        stack.callback(os.close, fd)
    return fd


def open_dirs(stack: ExitStack, parent_fd: int, names: Iterable[str]) -> int | None:
    fd: int | None = parent_fd
    for name in names:
        if fd is None:
            return None
        fd = open_dir(stack, fd, name)
    return fd


def open_existing_dir(stack: ExitStack, parent_fd: int, name: str) -> int:
    """Like `open_dir`, for a directory the service made and cannot do without."""
    fd = open_dir(stack, parent_fd, name)
    if fd is None:
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), name)
    return fd


def make_dirs(stack: ExitStack, parent_fd: int, names: Iterable[str], mode: int) -> int:
    """Open the chain of directories, creating each missing one durably."""
    fd = parent_fd
    for name in names:
        child = open_dir(stack, fd, name)
        if child is None:
            try:
                os.mkdir(name, mode, dir_fd=fd)
            except FileExistsError:
                pass  # made by a concurrent caller, or something else stands there
            else:
                fsync(fd)
            child = open_existing_dir(stack, fd, name)
        fd = child
    return fd


def open_regular(stack: ExitStack, dir_fd: int, name: str) -> tuple[int, int] | None:
    """The descriptor and size of the regular file `name`, closed with `stack`.

    None when the name is missing or is a link, FIFO, socket, device or directory; only the
    checked descriptor is ever read, never the name again.
    """
    opened = open_regular_status(stack, dir_fd, name)
    return None if opened is None else (opened[0], opened[1].st_size)


def open_regular_status(
    stack: ExitStack, dir_fd: int, name: str
) -> tuple[int, os.stat_result] | None:
    """As `open_regular`, with the descriptor's whole `fstat`."""
    try:
        fd = os.open(name, READ_FLAGS, dir_fd=dir_fd)
    except OSError as error:
        if error.errno in MISSING_ERRNOS:
            return None
        raise
    stack.callback(os.close, fd)
    status = os.fstat(fd)
    if not stat.S_ISREG(status.st_mode):
        return None
    return fd, status


def lstat_or_none(dir_fd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def regular_size(dir_fd: int, name: str) -> int:
    """The size of the regular file `name` (never following a link); 0 for anything else."""
    status = lstat_or_none(dir_fd, name)
    return status.st_size if status is not None and stat.S_ISREG(status.st_mode) else 0


def create_empty(dir_fd: int, name: str) -> None:
    """Durably create the empty file `name` unless something (even a link) stands there."""
    try:
        fd = os.open(name, CREATE_FLAGS, FILE_MODE, dir_fd=dir_fd)
    except FileExistsError:
        return
    try:
        fsync(fd)
    finally:
        os.close(fd)
    fsync(dir_fd)


def remove_entry(dir_fd: int, name: str) -> None:
    """Remove `name` and, for a real directory, everything under it, never following a link."""
    status = lstat_or_none(dir_fd, name)
    if status is None:
        return
    if stat.S_ISDIR(status.st_mode):
        shutil.rmtree(name, dir_fd=dir_fd)
    else:
        os.unlink(name, dir_fd=dir_fd)


def clear_dir(dir_fd: int) -> None:
    """Remove everything in the directory, durably, never following a link."""
    with os.scandir(dir_fd) as entries:
        names = [entry.name for entry in entries]
    for name in names:
        remove_entry(dir_fd, name)
    fsync(dir_fd)
