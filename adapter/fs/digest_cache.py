"""The sha256 of files already hashed, named by a stat key, so that a history GET does not
hash the whole history again while it has not changed (ADR 0020).

A stat key is (device, inode, size, mtime_ns, ctime_ns) of the open descriptor. Any write
to a file moves its ctime, which no caller can set back, so a change a sandbox makes on
disk gives a new key and is hashed afresh: it is always noticed.

The one way two contents could share a key is the clock's grain: the kernel stamps
mtime and ctime from a coarse clock (one tick, 1 to 10 ms), so a write landing in the same
tick as the one before it, keeping the size, keeps the key. Git calls such an entry "racily
clean". The cache therefore keeps a hash only if the file's ctime is older than the moment
the hash began by RACY_NS, and the key is the same after hashing as before: a write that
could still share the key would have had to start before that ctime and still be running
a second later. A file changed within the last second is hashed on every read until then.
"""

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import NamedTuple


class StatKey(NamedTuple):
    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int


# A write sharing a hashed key would have to run this long (see above).
RACY_NS = 1_000_000_000
# Entries kept: each is about 200 bytes, one per history recently read.
CAPACITY = 4096


def stat_key(status: os.stat_result) -> StatKey:
    return StatKey(
        status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns
    )


class DigestCache:
    """Thread-safe, bounded, least recently used first out."""

    def __init__(self, capacity: int = CAPACITY, clock_ns: Callable[[], int] = time.time_ns):
        self._capacity = capacity
        self._clock_ns = clock_ns
        self._entries: OrderedDict[StatKey, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: StatKey) -> str | None:
        with self._lock:
            digest = self._entries.get(key)
            if digest is not None:
                self._entries.move_to_end(key)
            return digest

    def hashed(
        self, fd: int, key: StatKey, digest_of: Callable[[int], tuple[str, int]]
    ) -> tuple[str, int]:
        """The sha256 of the file open on `fd`, whose key was `key` when opened, and the
        count of bytes it names: from the cache, else from `digest_of(fd)` (which says the
        same), kept when the key is safe to trust (see the module's doc) and the file did
        not change while it was hashed."""
        cached = self.get(key)
        if cached is not None:
            return cached, key.size
        started_ns = self._clock_ns()
        digest, hashed_bytes = digest_of(fd)
        if (
            hashed_bytes == key.size
            and key.ctime_ns + RACY_NS < started_ns
            and stat_key(os.fstat(fd)) == key
        ):
            self._keep(key, digest)
        return digest, hashed_bytes

    def _keep(self, key: StatKey, digest: str) -> None:
        with self._lock:
            self._entries[key] = digest
            self._entries.move_to_end(key)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
