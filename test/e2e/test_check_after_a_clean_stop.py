"""A server stopped by SIGTERM leaves a data directory that `python -m api.admin check`
finds consistent: no staging area of its own left behind for the check to call a leftover
(found by the soak, ADR 0034)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from test.e2e.client import client, new_user_with_chat, upload
from test.e2e.server import running_server

pytestmark = pytest.mark.e2e


def test_a_cleanly_stopped_server_leaves_nothing_for_the_check_to_report(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with running_server(data_dir) as server, client(server) as http:
        headers, _workspace_id, chat_id = new_user_with_chat(http)
        assert upload(http, headers, chat_id, [("a.txt", b"a" * 100, None)]).status_code == 201
    # Leaving the block stopped the server with SIGTERM and checked it shut down cleanly.

    checked = subprocess.run(
        [sys.executable, "-m", "api.admin", "check"],
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(sys.path),
            "CHATSTORE_DATA_DIR": str(data_dir),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert (checked.returncode, checked.stdout) == (0, ""), checked.stderr
    assert list((data_dir / "staging").iterdir()) == []
