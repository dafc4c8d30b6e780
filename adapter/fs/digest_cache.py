"""The sha256 of files already hashed, named by a stat key, so that a history GET does not
hash the whole history again while it has not changed (ADR 0020); and the hash states
behind them, so that an append hashes only the bytes it adds (ADR 0021).

A stat key is (device, inode, size, mtime_ns, ctime_ns) of the open descriptor. Any write
to a file moves its ctime, which no caller can set back, so a change a sandbox makes on
disk gives a new key and is hashed afresh: it is always noticed.

The one way two contents could share a key is the clock's grain: the kernel stamps
mtime and ctime from a coarse clock (one tick, 1 to 10 ms), so a write landing in the same
tick as the one before it, keeping the size, keeps the key. Git calls such an entry "racily
clean". A hash read from disk is therefore kept only if the file's ctime is older than the
moment the hash began by RACY_NS, and the key is the same after hashing as before: a write
that could still share the key would have had to start before that ctime and still be
running a second later. A file changed within the last second is hashed on every read
until then. The service's own writes are kept at once (`remember`): it knows the bytes it
wrote; what that leaves open is in ADR 0021.
"""

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import NamedTuple

from adapter.fs.digest import EMPTY_SHA256, HashState

# A write sharing a hashed key would have to run this long (see above).
RACY_NS = 1_000_000_000
# Entries kept: each is about 200 bytes (a hash state about 400 more), one per history
# recently read or written.
CAPACITY = 4096


class StatKey(NamedTuple):
    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int


def stat_key(status: os.stat_result) -> StatKey:
    return StatKey(
        status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns
    )


class DigestCache:
    """Thread-safe, bounded, least recently used first out: stat key -> sha256, and
    sha256 -> the hash state that made it."""

    def __init__(self, capacity: int = CAPACITY, clock_ns: Callable[[], int] = time.time_ns):
        self._capacity = capacity
        self._clock_ns = clock_ns
        self._digests: OrderedDict[StatKey, str] = OrderedDict()
        self._states: OrderedDict[str, HashState] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: StatKey) -> str | None:
        """The sha256 `key` is known to name; an empty file's needs no hashing (a new
        chat's history, before its first append)."""
        if key.size == 0:
            return EMPTY_SHA256
        with self._lock:
            digest = self._digests.get(key)
            if digest is not None:
                self._digests.move_to_end(key)
            return digest

    def state(self, sha256: str) -> "HashState | None":
        """A copy of the hash state whose digest is `sha256`, if one is kept."""
        with self._lock:
            state = self._states.get(sha256)
            if state is None:
                return None
            self._states.move_to_end(sha256)
            return state.copy()

    def hashed(
        self,
        fd: int,
        key: StatKey,
        hash_of: Callable[[int], tuple[HashState, int]],
        *,
        learn: bool = True,
    ) -> tuple[str, int]:
        """The sha256 of the file open on `fd`, whose key was `key` when opened, and the
        count of bytes it names: from the cache, else from `hash_of(fd)` (the hash state
        and the bytes hashed), kept when `learn`, the key is safe to trust (see the
        module's doc) and the file did not change while it was hashed."""
        cached = self.get(key)
        if cached is not None:
            return cached, key.size
        started_ns = self._clock_ns()
        state, hashed_bytes = hash_of(fd)
        digest = state.hexdigest()
        if (
            learn
            and hashed_bytes == key.size
            and key.ctime_ns + RACY_NS < started_ns
            and stat_key(os.fstat(fd)) == key
        ):
            self.remember(key, state)
        else:
            self.keep_state(state)
        return digest, hashed_bytes

    def remember(self, key: StatKey, state: HashState) -> None:
        """`key` names the content `state` hashed: the service wrote it itself, or read it
        and trusts the key."""
        self.remember_digest(key, self.keep_state(state))

    def remember_digest(self, key: StatKey, digest: str) -> None:
        """As `remember`, with only the digest (no appends to it without hashing again)."""
        with self._lock:
            self._digests[key] = digest
            self._digests.move_to_end(key)
            while len(self._digests) > self._capacity:
                self._digests.popitem(last=False)

    def keep_state(self, state: HashState) -> str:
        """Keep `state` for appends to the content it hashed; returns its digest."""
        digest = state.hexdigest()
        with self._lock:
            self._states[digest] = state.copy()
            self._states.move_to_end(digest)
            while len(self._states) > self._capacity:
                self._states.popitem(last=False)
        return digest
