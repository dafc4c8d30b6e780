"""A metadata store the server cannot use stops `python -m api` with one line and status 2."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from test.e2e.server import free_port

pytestmark = pytest.mark.e2e

EXIT_TIMEOUT_SECONDS = 30


def start_and_fail(data_dir: Path, metadata_url: str) -> str:
    """Start the server; it must exit with status 2. Returns what it printed on stderr."""
    env = {
        **os.environ,
        "CHATSTORE_DATA_DIR": str(data_dir),
        "CHATSTORE_PORT": str(free_port()),
        "CHATSTORE_METADATA_URL": metadata_url,
    }
    done = subprocess.run(
        [sys.executable, "-m", "api"],
        env=env,
        capture_output=True,
        text=True,
        timeout=EXIT_TIMEOUT_SECONDS,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    return done.stderr


def test_unreachable_postgres_stops_start_up_with_one_line_hiding_the_password(
    tmp_path: Path,
) -> None:
    url = f"postgresql://chatstore:s3cret@127.0.0.1:{free_port()}/chatstore"

    stderr = start_and_fail(tmp_path, url)

    assert stderr.count("\n") == 1
    assert stderr.startswith("chatstore: cannot reach metadata store postgresql://chatstore:***@")
    assert "s3cret" not in stderr


def test_a_schema_newer_than_the_build_stops_start_up_and_is_left_untouched(
    tmp_path: Path,
) -> None:
    path = tmp_path / "metadata.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description TEXT)")
        db.execute("INSERT INTO schema_migrations VALUES (999, 'from the future')")

    stderr = start_and_fail(tmp_path, f"sqlite:///{path}")

    assert stderr.count("\n") == 1
    assert "metadata schema is at version 999, newer than" in stderr
    with sqlite3.connect(path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert tables == {"schema_migrations"}


def test_an_unknown_metadata_scheme_stops_start_up_naming_the_variable(tmp_path: Path) -> None:
    stderr = start_and_fail(tmp_path, "mysql://localhost/chatstore")

    assert stderr.count("\n") == 1
    assert "CHATSTORE_METADATA_URL" in stderr
