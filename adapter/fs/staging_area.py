"""Each process's own directory under `staging/`, so that one instance starting up never
removes what another, still running on the same data directory, is writing.

An area `staging/<name>/` belongs to the process holding an exclusive `flock` on
`staging/<name>.owner` (released by the kernel when the process dies, however it dies).
The owner file is made and locked before the directory, and removed after it, so a
directory without a lockable owner file is always a dead process's leftovers.
"""

import fcntl
import os
import secrets
import stat
from collections.abc import Collection
from contextlib import ExitStack, suppress
from pathlib import Path

from adapter.fs.dirs import (
    CREATE_FLAGS,
    lstat_or_none,
    make_dirs,
    open_existing_dir,
    open_root,
    remove_entry,
)
from adapter.fs.fsync import fsync
from adapter.fs.layout import FILE_MODE, PRIVATE_DIR_MODE, STAGING

_OWNER_SUFFIX = ".owner"
_CLAIM_ATTEMPTS = 5


class StagingArea:
    """This process's staging directory. Every method blocks: call it from a worker thread."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.name = ""
        self._owner_fd: int | None = None

    def claim(self) -> None:
        """Clear the areas of processes that are gone, then make and own a fresh one."""
        with ExitStack() as stack:
            staging_fd = make_dirs(stack, open_root(stack, self.root), (STAGING,), PRIVATE_DIR_MODE)
            clear_dead_areas(staging_fd)
            if self._owner_fd is None:
                self.name, self._owner_fd = _own_new_area(staging_fd)
            make_dirs(stack, staging_fd, (self.name,), PRIVATE_DIR_MODE)

    def open(self, stack: ExitStack, root_fd: int) -> int:
        """A descriptor of the area's directory, closed with `stack`."""
        if not self.name:
            raise NotADirectoryError("the staging area is not claimed yet")
        return open_existing_dir(stack, open_existing_dir(stack, root_fd, STAGING), self.name)

    def close(self) -> None:
        """On a clean stop: remove the area if nothing is left in it, then its owner file
        (in that order, the lock still held, so no other process takes it for a dead one's
        meanwhile), then let it go. An area still holding files is left for the next claim
        to clear, as after a crash. A stopped server then leaves no `leftover` for
        `chatstore-admin check` to report."""
        if self._owner_fd is None:
            return
        # Not empty, or the disk refuses: the next claim clears it.
        try:
            with suppress(OSError), ExitStack() as stack:
                staging_fd = open_existing_dir(stack, open_root(stack, self.root), STAGING)
                with suppress(FileNotFoundError):
                    os.rmdir(self.name, dir_fd=staging_fd)
                os.unlink(self.name + _OWNER_SUFFIX, dir_fd=staging_fd)
                fsync(staging_fd)
        finally:
            self.release()

    def release(self) -> None:
        """Let the area go (a process's exit does the same); the next claim clears it."""
        fd, self._owner_fd = self._owner_fd, None
        if fd is not None:
            os.close(fd)


def _own_new_area(staging_fd: int) -> tuple[str, int]:
    for _ in range(_CLAIM_ATTEMPTS):
        name = secrets.token_hex(8)
        fd = os.open(name + _OWNER_SUFFIX, CREATE_FLAGS, FILE_MODE, dir_fd=staging_fd)
        fcntl.flock(fd, fcntl.LOCK_EX)
        # Another process's clean-up may have taken the file for a dead one's between our
        # create and our lock, and unlinked it; a lock on an unlinked file proves nothing.
        if os.fstat(fd).st_nlink > 0:
            return name, fd
        os.close(fd)
    raise OSError("could not claim a staging area")


def dead_areas(staging_fd: int) -> list[str]:
    """The entries of `staging/` that `clear_dead_areas` would remove, read only: each dead
    process's area (by its name, whether or not its directory is left) and anything else
    no owner file claims."""
    with os.scandir(staging_fd) as entries:
        names = [entry.name for entry in entries]
    found = {
        name.removesuffix(_OWNER_SUFFIX)
        for name in names
        if name.endswith(_OWNER_SUFFIX) and _is_dead(staging_fd, name.removesuffix(_OWNER_SUFFIX))
    }
    for name in names:
        if name.endswith(_OWNER_SUFFIX) or name in found:
            continue
        status = lstat_or_none(staging_fd, name)
        owned = lstat_or_none(staging_fd, name + _OWNER_SUFFIX) is not None
        if status is not None and not (stat.S_ISDIR(status.st_mode) and owned):
            found.add(name)
    return sorted(found)


def _is_dead(staging_fd: int, area: str) -> bool:
    """Whether no process holds the area's owner file (the lock taken to tell is let go
    at once)."""
    try:
        fd = os.open(
            area + _OWNER_SUFFIX, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=staging_fd
        )
    except FileNotFoundError:
        return False  # cleared meanwhile
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def clear_dead_areas(staging_fd: int, only: Collection[str] | None = None) -> None:
    """Remove the areas of processes that are gone, and what no owner file claims; of
    those, only the entries `only` names (as `dead_areas` does) when it is given."""
    with os.scandir(staging_fd) as entries:
        names = [entry.name for entry in entries]
    if only is not None:
        names = [name for name in names if name.removesuffix(_OWNER_SUFFIX) in only]
    for name in names:
        if name.endswith(_OWNER_SUFFIX):
            _clear_if_dead(staging_fd, name.removesuffix(_OWNER_SUFFIX))
    for name in names:
        if name.endswith(_OWNER_SUFFIX):
            continue
        status = lstat_or_none(staging_fd, name)
        if status is None:
            continue
        if stat.S_ISDIR(status.st_mode) and lstat_or_none(staging_fd, name + _OWNER_SUFFIX):
            continue  # owned: alive, or just cleared by the loop above
        remove_entry(staging_fd, name)  # an orphan directory, or a file of an older layout
    fsync(staging_fd)


def _clear_if_dead(staging_fd: int, area: str) -> None:
    try:
        fd = os.open(
            area + _OWNER_SUFFIX, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=staging_fd
        )
    except FileNotFoundError:
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # its process is alive
        remove_entry(staging_fd, area)
        with suppress(FileNotFoundError):
            os.unlink(area + _OWNER_SUFFIX, dir_fd=staging_fd)
    finally:
        os.close(fd)
