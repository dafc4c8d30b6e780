"""Where a test's server keeps its state, and where the server after it does: one data
directory on the local disk with the default SQLite store, or the same directory of the
JuiceFS volume on two of its mounts (two hosts) with the metadata in PostgreSQL, so that a
server killed on one host is restarted on the other (docs/deployment.md)."""

from dataclasses import dataclass
from pathlib import Path

import pytest

from test.juicefs_volume import JuiceFsVolume
from test.postgres_server import PostgresServer

LOCAL = "local"
JUICEFS = "juicefs"
PLACEMENTS = [LOCAL, JUICEFS]


@dataclass(frozen=True)
class Placement:
    first: Path  # the data directory of the server a test starts (and kills) first
    second: Path  # the same directory as the host of the server started after it sees it
    settings: dict[str, str]  # the servers' further CHATSTORE_ settings: their store


def juicefs_data_dirs(request: pytest.FixtureRequest, scratch: Path) -> list[Path]:
    """A data directory named after `scratch` on the session's JuiceFS volume, as each of
    its mounts sees it."""
    volume: JuiceFsVolume = request.getfixturevalue("juicefs_volume")
    return volume.directories(f"{scratch.name}/data")


def place(kind: str, request: pytest.FixtureRequest, scratch: Path) -> Placement:
    """`scratch/data` (local), or a JuiceFS directory named after `scratch` and a fresh
    PostgreSQL database (juicefs)."""
    if kind == LOCAL:
        return Placement(scratch / "data", scratch / "data", {})
    first, second, *_ = juicefs_data_dirs(request, scratch)
    postgres: PostgresServer = request.getfixturevalue("postgres_server")
    return Placement(first, second, {"metadata_url": postgres.create_database()})
