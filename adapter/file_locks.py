"""A keyed lock that holds across every process sharing the data directory."""

import asyncio
import fcntl
import hashlib
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
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


def stripe_of(key: UUID) -> int:
    """The number of the lock file that `key` shares with the other keys that hash alike."""
    return int.from_bytes(hashlib.blake2b(key.bytes, digest_size=4).digest()) % _STRIPES


@dataclass(slots=True)
class _Stripe:
    """This process's flock of one lock file: taken by the first holder of any of its keys,
    let go with the last one."""

    taking: asyncio.Lock = field(default_factory=asyncio.Lock)
    fd: int | None = None
    holders: int = 0
    # Holders plus those taking it: the entry is dropped when the last of them leaves.
    users: int = 0


class FileKeyedLock(KeyedLock):
    """In-process order first (InProcessKeyedLock), then an exclusive `flock` on one of a
    fixed set of lock files under `<data_dir>/locks/`, which other processes, and other
    hosts on NFSv4, respect too.

    Keys share lock files by hash (so the directory never grows and no lock file is ever
    removed from under a waiter). The holders in one process of keys that share a file
    share its flock, taken by the first and let go by the last, so they never wait for
    each other (nor does a task holding two such keys, say a chat and its fork, wait for
    itself); two keys sharing a file only wait for each other across processes. The flock
    is taken without blocking and retried with growing pauses, so a waiter never ties up a
    thread and can be cancelled at any point; after a minute of waiting it gives up with
    StorageUnavailableError.
    """

    def __init__(self, data_dir: Path) -> None:
        self._dir = data_dir / LOCKS_DIR
        self._local = InProcessKeyedLock()
        self._stripes: dict[int, _Stripe] = {}

    def __len__(self) -> int:
        """How many keys this process holds or waits for right now."""
        return len(self._local)

    @asynccontextmanager
    async def hold(self, key: UUID) -> AsyncIterator[None]:
        async with self._local.hold(key), self._flocked(stripe_of(key)):
            yield

    @asynccontextmanager
    async def _flocked(self, stripe: int) -> AsyncIterator[None]:
        entry = self._stripes.get(stripe)
        if entry is None:
            entry = self._stripes[stripe] = _Stripe()
        entry.users += 1
        try:
            # Only a task that finds the file not flocked by this process waits in here.
            async with entry.taking:
                if entry.fd is None:
                    fd = self._open(stripe)
                    try:
                        await self._lock(fd)
                    except BaseException:
                        os.close(fd)
                        raise
                    entry.fd = fd
                entry.holders += 1
            try:
                yield
            finally:
                entry.holders -= 1
                if entry.holders == 0 and entry.fd is not None:
                    os.close(entry.fd)  # releases the flock
                    entry.fd = None
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._stripes[stripe]

    def _open(self, stripe: int) -> int:
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
