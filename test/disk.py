"""Looking at a data directory the way a test needs to, whatever its internal layout."""

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def staged_files(data_dir: Path) -> list[str]:
    """Every file waiting in a staging area (`staging/<area>/`), of any process."""
    staging = data_dir / "staging"
    return sorted(
        entry.name
        for area in staging.iterdir()
        if area.is_dir() and not area.is_symlink()
        for entry in area.iterdir()
    )


def regular_bytes_under(directory: Path) -> int:
    """The logical size of every regular file at any depth under `directory`, links never
    followed or counted: what api.md says `used_bytes` measures."""
    total = 0
    for root, _dirs, names in os.walk(directory, followlinks=False):
        for name in names:
            status = (Path(root) / name).lstat()
            if stat.S_ISREG(status.st_mode):
                total += status.st_size
    return total


def descriptors_under(directory: Path, pid: int | str = "self") -> list[str]:
    """What process `pid` (this one by default) holds open under `directory`."""
    held = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = str(fd.readlink())
        except OSError:
            continue  # closed since the listing
        if target.startswith(f"{directory}/"):
            held.append(target)
    return held


@contextmanager
def tmpfs_dir(fallback: Path) -> Iterator[Path]:
    """A scratch directory on tmpfs (`/dev/shm`), removed on leaving, or `fallback` on a
    machine without one. Large sparse files read from tmpfs at memory speed, where ext4
    reads a hole at some 600 MB/s."""
    shm = Path("/dev/shm")
    if not shm.is_dir():
        yield fallback
        return
    with tempfile.TemporaryDirectory(dir=shm, prefix="chatstore-test-") as scratch:
        yield Path(scratch)
