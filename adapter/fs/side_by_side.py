"""The threads that run a write's fsyncs side by side.

The disk completes concurrent fsyncs together (one journal commit for all of them, on ext4
and XFS), so the fsyncs a write needs before its rename run at once, in a bounded pool.
The pool belongs to the storage that uses it: built on its first use with more than one
fsync (nothing is built at import, style.md), and shut down by `close`.
"""

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

# About what the disk completes at once; more would only queue in the kernel.
SYNC_THREADS = 8


class SideBySide:
    """Runs a write's fsyncs at once and waits for all of them."""

    def __init__(self, threads: int = SYNC_THREADS) -> None:
        self._threads = threads
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def run(self, fsyncs: Sequence[Callable[[], None]]) -> None:
        """Run every fsync of `fsyncs` at once and wait for all; the first error
        propagates. One alone runs in the calling thread."""
        if len(fsyncs) == 1:
            fsyncs[0]()
            return
        for _ in self._started().map(lambda step: step(), fsyncs):
            pass

    def close(self) -> None:
        """Wait for the fsyncs under way and stop the threads; a later `run` starts anew."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def _started(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self._threads, thread_name_prefix="chatstore-fsync"
                )
            return self._pool
