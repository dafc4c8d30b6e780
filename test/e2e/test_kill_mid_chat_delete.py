"""SIGKILL in the middle of a chat's deletion on a real server, hit on purpose
(`test.e2e.pause_in_chat_delete`): just before its directory is renamed into the trash, and
just after. The records go first, in one unit of work committed before the directory
moves, so at either instant the chat is already deleted as every client sees it, and
start-up finishes what the kill left: no directory, nothing in the trash, usage and the
admin check agree. Before the fix the rename came before the commit, and a kill after it
left a chat that was listed, with an empty history and its files gone (found by the soak,
ADR 0034)."""

import contextlib
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from test.e2e.client import (
    assert_no_leftovers,
    assert_problem,
    assert_records_bytes_and_usage_agree,
    chats_dir,
    client,
    json_of,
    new_chat,
    new_user,
    upload,
    wait_until,
)
from test.e2e.pause_in_chat_delete import ARMED, INSTANTS
from test.e2e.pausing import PAUSED
from test.e2e.server import running_server, server_to_kill

pytestmark = pytest.mark.e2e

WAIT_SECONDS = 20.0
HISTORY = b"# kept\n\nwhat the chat that stays holds\n"


def filled_chat(http: httpx.Client, headers: dict[str, str], tag: bytes) -> str:
    chat_id = new_chat(http, headers)
    put = http.put(f"/v1/chats/{chat_id}/history", headers=headers, content=HISTORY + tag)
    assert put.status_code == 204, put.text
    json_of(upload(http, headers, chat_id, [("a.bin", tag * 1000, None)]), 201)
    return chat_id


@pytest.mark.parametrize("instant", INSTANTS)
def test_a_chat_delete_killed_around_its_trash_rename_is_finished_at_start_up(
    tmp_path: Path, instant: str
) -> None:
    data_dir, control = tmp_path / "data", tmp_path / "control"
    control.mkdir()
    paused_server = ("-m", "test.e2e.pause_in_chat_delete", str(control), instant)

    with server_to_kill(data_dir, command=paused_server) as server, client(server) as http:
        headers = new_user(http)
        workspace_id = json_of(http.get("/v1/workspace", headers=headers))["workspace_id"]
        doomed = filled_chat(http, headers, b"doomed")
        kept = filled_chat(http, headers, b"kept")
        (control / ARMED).touch()

        def send() -> None:
            with client(server) as own, contextlib.suppress(httpx.HTTPError):
                own.delete(f"/v1/chats/{doomed}", headers=headers)  # killed mid-request

        sending = threading.Thread(target=send)
        sending.start()
        try:
            wait_until((control / PAUSED).exists, "the delete paused")
            assert (control / PAUSED).read_text() == doomed
            # The records went first: the chat is gone for every client already.
            assert_problem(http.get(f"/v1/chats/{doomed}", headers=headers), 404, "chat_not_found")
        finally:
            os.kill(server.pid, signal.SIGKILL)
            sending.join(timeout=WAIT_SECONDS)

    with running_server(data_dir) as server, client(server) as http:
        assert_problem(http.get(f"/v1/chats/{doomed}", headers=headers), 404, "chat_not_found")
        listed = json_of(http.get("/v1/chats", headers=headers))["items"]
        assert [chat["chat_id"] for chat in listed] == [kept]
        assert http.get(f"/v1/chats/{kept}/history", headers=headers).content == HISTORY + b"kept"
        assert sorted(path.name for path in chats_dir(data_dir, workspace_id).iterdir()) == [kept]
        assert_records_bytes_and_usage_agree(http, headers, data_dir, workspace_id)
        assert_no_leftovers(data_dir)
    check = subprocess.run(
        [sys.executable, "-m", "api.admin", "check"],
        env={**os.environ, "CHATSTORE_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS * 3,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
