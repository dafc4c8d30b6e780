"""Every fsync the service does goes through `fsync`, which times it into `FSYNC_TIMES`.

The record is one per process, not per app: an fsync is a cost of the process's disk, and
the fsyncs happen in free functions on worker threads, many calls below any object that an
app could hand a recorder to (ADR 0028). `/metrics` exports it as a histogram.
"""

import os
import threading
import time

# 50 us (a no-op in cost: the file was already clean) to 1 s (a disk that stalls).
FSYNC_BUCKETS = (
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
)


class FsyncTimes:
    """Counts of fsync durations per bucket (not cumulative; the last one is past 1 s),
    and their sum, safe to update from any thread."""

    __slots__ = ("_counts", "_lock", "_sum")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = [0] * (len(FSYNC_BUCKETS) + 1)
        self._sum = 0.0

    def observe(self, seconds: float) -> None:
        index = next(
            (i for i, bound in enumerate(FSYNC_BUCKETS) if seconds <= bound), len(FSYNC_BUCKETS)
        )
        with self._lock:
            self._counts[index] += 1
            self._sum += seconds

    def snapshot(self) -> tuple[list[int], float]:
        """The count per bucket (the last one past every bound) and the sum of seconds."""
        with self._lock:
            return list(self._counts), self._sum


FSYNC_TIMES = FsyncTimes()


def fsync(fd: int) -> None:
    """`os.fsync(fd)`, timed into FSYNC_TIMES whether it succeeds or fails."""
    started = time.perf_counter()
    try:
        os.fsync(fd)
    finally:
        FSYNC_TIMES.observe(time.perf_counter() - started)
