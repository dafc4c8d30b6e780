"""What a sandbox can leave in a chat directory instead of a regular file.

Each planter takes the path to plant at and a regular file outside the data root that
nothing may ever read, count or change."""

import os
import socket
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

Planter = Callable[[Path, Path], None]

# The character device that /dev/zero is: endless bytes to anyone who reads it.
ZERO_DEVICE = os.makedev(1, 5)


def plant_symlink(path: Path, outside: Path) -> None:
    path.symlink_to(outside)


def plant_directory_symlink(path: Path, outside: Path) -> None:
    path.symlink_to(outside.parent, target_is_directory=True)


def plant_fifo(path: Path, outside: Path) -> None:
    os.mkfifo(path)


def plant_directory(path: Path, outside: Path) -> None:
    path.mkdir()
    (path / "inner.txt").write_bytes(b"inner")


def plant_socket(path: Path, outside: Path) -> None:
    # A socket path is limited to about 100 bytes: bind it short, then move it into place.
    short = outside.parent / "s"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(short))
    short.rename(path)


def plant_device(path: Path, outside: Path) -> None:
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, ZERO_DEVICE)
    except PermissionError:
        pytest.skip("making a device node needs CAP_MKNOD (root)")


PLANTERS = [
    pytest.param(plant_symlink, id="symlink"),
    pytest.param(plant_directory_symlink, id="directory-symlink"),
    pytest.param(plant_fifo, id="fifo"),
    pytest.param(plant_directory, id="directory"),
    pytest.param(plant_socket, id="socket"),
    pytest.param(plant_device, id="device"),
]
