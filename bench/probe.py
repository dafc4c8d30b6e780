"""The disk's own pace for what S2 and S2m ask: an atomic 4 KiB replace with fsync of the
file and of its directory (write a temporary file, fsync, rename over the target, fsync
the directory), from one thread and from eight, on the filesystem of the servers' data.
Eight threads replace one file in one directory, as the issue's figure was taken, and,
beside it, each its own file in its own directory, as S2m's writers each have their chat."""

import os
import threading
import time
from pathlib import Path


def _replace_loop(
    directory: Path, worker: int, stop_at: float, counts: list[int], own_directory: bool
) -> None:
    body = os.urandom(4096)
    if own_directory:
        directory = directory / f"writer-{worker}"
        directory.mkdir(exist_ok=True)
    target = directory / "history.md"
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        done = 0
        # Bounded by time, and by count as a backstop.
        while time.monotonic() < stop_at and done < 1_000_000:
            temporary = directory / f".tmp-{worker}-{done}"
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, body)
                os.fsync(fd)
            finally:
                os.close(fd)
            temporary.replace(target)
            os.fsync(dir_fd)
            done += 1
        counts[worker] = done
    finally:
        os.close(dir_fd)


def atomic_replace_rate(
    directory: Path, threads: int, seconds: float = 3.0, *, own_directories: bool = False
) -> float:
    """Atomic 4 KiB replaces per second, all threads together; `own_directories`: each
    thread in a directory of its own instead of all in one."""
    directory.mkdir(parents=True, exist_ok=True)
    counts = [0] * threads
    started = time.monotonic()
    workers = [
        threading.Thread(
            target=_replace_loop,
            args=(directory, n, started + seconds, counts, own_directories),
        )
        for n in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts) / (time.monotonic() - started)


def sequential_write_rate(directory: Path, size: int = 256 << 20) -> float:
    """MB/s of writing `size` bytes in 1 MiB chunks and fdatasync-ing them, as an upload
    that fsyncs must at least pay."""
    directory.mkdir(parents=True, exist_ok=True)
    chunk = os.urandom(1 << 20)
    target = directory / "sequential.bin"
    started = time.monotonic()
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(size // len(chunk)):
            os.write(fd, chunk)
        os.fdatasync(fd)
    finally:
        os.close(fd)
    elapsed = time.monotonic() - started
    target.unlink()
    return size / elapsed / 1e6


def disk_facts(directory: Path) -> dict[str, float]:
    return {
        "atomic_4k_replace_per_s_1_thread": round(atomic_replace_rate(directory / "one", 1)),
        "atomic_4k_replace_per_s_8_threads": round(atomic_replace_rate(directory / "eight", 8)),
        "atomic_4k_replace_per_s_8_threads_own_dirs": round(
            atomic_replace_rate(directory / "eight-dirs", 8, own_directories=True)
        ),
        "write_256mib_fdatasync_mb_per_s": round(
            max(sequential_write_rate(directory / "seq") for _ in range(3))
        ),
    }
