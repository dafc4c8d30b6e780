"""Files being written in this process's staging area before an atomic rename makes them
visible."""

import hashlib
import os
import re
import secrets
import threading
from contextlib import ExitStack, suppress

from adapter.fs.dirs import CREATE_FLAGS, open_root
from adapter.fs.fsync import fsync
from adapter.fs.layout import FILE_MODE
from adapter.fs.staging_area import StagingArea
from usecase.ports.staging import StagedContent

_TOKEN = re.compile(r"[0-9a-f]{32}\.tmp")


def new_token() -> str:
    return f"{secrets.token_hex(16)}.tmp"


def checked_token(token: str) -> str:
    """`token` if it is a staging file name this module could have made, so that it is one
    plain path component; a token from anywhere else is a bug in the caller."""
    if not _TOKEN.fullmatch(token):
        raise ValueError(f"{token!r} is not a staging token")
    return token


def remove_staged(area: StagingArea, token: str) -> None:
    """Blocking. Remove the staging file `token`; a no-op if it is gone."""
    with ExitStack() as stack:
        staging_fd = area.open(stack, open_root(stack, area.root))
        with suppress(FileNotFoundError):
            os.unlink(checked_token(token), dir_fd=staging_fd)


def sync_staged(staging_fd: int, token: str) -> None:
    """Blocking. fsync the staging file `token` (a no-op in cost if it already was)."""
    fd = os.open(
        checked_token(token), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=staging_fd
    )
    try:
        fsync(fd)
    finally:
        os.close(fd)


def probe_staging(area: StagingArea) -> None:
    """Blocking. Create and remove a file in staging, raising OSError if either fails."""
    with ExitStack() as stack:
        staging_fd = area.open(stack, open_root(stack, area.root))
        token = new_token()
        os.close(os.open(token, CREATE_FLAGS, FILE_MODE, dir_fd=staging_fd))
        os.unlink(token, dir_fd=staging_fd)


def write_all(fd: int, data: bytes | bytearray) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class StagingFile:
    """One staging file being written. Every method blocks: call it from a worker thread.

    The file is made by the first `write` or by `finish`, so a body that fits in one write
    costs one trip to a worker thread: made, written and closed there at once.

    A lock orders the methods, so a `remove` issued after a cancelled `write` waits for that
    write to finish before closing the descriptor, and a `write` that a busy pool runs only
    after `remove` creates nothing.
    """

    def __init__(self, area: StagingArea) -> None:
        self.token = new_token()
        self._area = area
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._removed = False
        self._sha256 = hashlib.sha256()
        self._size_bytes = 0

    def write(self, data: bytes | bytearray) -> None:
        with self._lock:
            self._write(data)

    def finish(self, last: bytes | bytearray = b"", *, durable: bool = True) -> StagedContent:
        """Write `last`, then close the file, first making its bytes durable unless told
        not to; it stays in staging until committed."""
        with self._lock:
            self._write(last)
            fd = self._fd
            assert fd is not None  # made by _write
            if durable:
                fsync(fd)
            self._fd = None
            os.close(fd)
            return StagedContent(self.token, self._size_bytes, self._sha256.hexdigest())

    def remove(self) -> None:
        """Close and remove the file, swallowing errors: the caller is already failing, and
        `prepare` clears whatever is left at the next start."""
        with self._lock:
            self._removed = True
            fd, self._fd = self._fd, None
            if fd is not None:
                os.close(fd)
            with suppress(OSError):
                remove_staged(self._area, self.token)

    def _write(self, data: bytes | bytearray) -> None:
        fd = self._opened()
        self._sha256.update(data)
        write_all(fd, data)
        self._size_bytes += len(data)

    def _opened(self) -> int:
        """The file's descriptor, the file made (`O_EXCL`) if this is its first use."""
        if self._removed:
            raise ValueError("the staging file was removed")
        if self._fd is None:
            with ExitStack() as stack:
                staging_fd = self._area.open(stack, open_root(stack, self._area.root))
                self._fd = os.open(self.token, CREATE_FLAGS, FILE_MODE, dir_fd=staging_fd)
        return self._fd
