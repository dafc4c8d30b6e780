"""A keyed lock that holds across every process sharing the data directory."""

import asyncio
import fcntl
import hashlib
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from uuid import UUID

from adapter.locks import InProcessKeyedLock
from domain.errors import StorageUnavailableError
from usecase.ports.runtime import KeyedLock

LOCKS_DIR = "locks"
_STRIPES = 1024
_WAIT_LIMIT_SECONDS = 60.0
_FIRST_PAUSE_SECONDS = 0.0005
_LONGEST_PAUSE_SECONDS = 0.02


class FileKeyedLock(KeyedLock):
    """In-process order first (InProcessKeyedLock), then an exclusive `flock` on one of a
    fixed set of lock files under `<data_dir>/locks/`, which other processes, and other
    hosts on NFSv4, respect too.

    Keys share lock files by hash (so the directory never grows and no lock file is ever
    removed from under a waiter); two keys sharing one only wait for each other across
    processes. The flock is taken without blocking and retried with growing pauses, so a
    waiter never ties up a thread and can be cancelled at any point; after a minute of
    waiting it gives up with StorageUnavailableError.
    """

    def __init__(self, data_dir: Path) -> None:
        self._dir = data_dir / LOCKS_DIR
        self._local = InProcessKeyedLock()

    def __len__(self) -> int:
        """How many keys this process holds or waits for right now."""
        return len(self._local)

    @asynccontextmanager
    async def hold(self, key: UUID) -> AsyncIterator[None]:
        async with self._local.hold(key):
            fd = self._open(key)
            try:
                await self._lock(fd)
                yield
            finally:
                os.close(fd)  # releases the flock

    def _open(self, key: UUID) -> int:
        stripe = int.from_bytes(hashlib.blake2b(key.bytes, digest_size=4).digest()) % _STRIPES
        path = self._dir / f"{stripe:04d}.lock"
        flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
        try:
            try:
                return os.open(path, flags, 0o600)
            except FileNotFoundError:
                self._dir.mkdir(mode=0o700, parents=True, exist_ok=True)
                return os.open(path, flags, 0o600)
        except OSError as error:
            raise StorageUnavailableError(f"cannot open lock file: {error.strerror}") from error

    async def _lock(self, fd: int) -> None:
        deadline = time.monotonic() + _WAIT_LIMIT_SECONDS
        pause = _FIRST_PAUSE_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StorageUnavailableError(
                        "chat is held by another process for too long"
                    ) from None
                await asyncio.sleep(pause)
                pause = min(pause * 2, _LONGEST_PAUSE_SECONDS)
            except OSError as error:
                raise StorageUnavailableError(f"cannot lock: {error.strerror}") from error
            else:
                return
