"""SIGKILL in the middle of a workspace's erasure on a real server, hit on purpose at each
instant (`test.e2e.pause_in_erasure`): once it is noted but before its records go, once
they are gone but every byte is in place, once the bytes are out of sight in the trash,
and once they are removed but the note is not. Killed before the records go, the erasure
never happened: after a restart the workspace is whole and the note gone. Killed after,
the workspace answers as erased at once (before the restart), and start-up removes what
was left: no path, no byte in any file of the data directory and no row of the store
names it. The other user's workspace is as it was throughout."""

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from test.e2e.client import assert_problem, client, json_of, wait_until
from test.e2e.erasures import Filled, entries_of, filled, seen
from test.e2e.pause_in_erasure import ARMED, COMMITTED, INSTANTS, NOTED, PURGED
from test.e2e.pausing import PAUSED
from test.e2e.server import RunningServer, running_server, server_to_kill
from test.leftovers import (
    files_holding,
    paths_naming,
    rows_mentioning,
    sqlite_rows,
    traces_of,
    tree,
)

pytestmark = pytest.mark.e2e

WAIT_SECONDS = 20.0
OUTSIDE_BYTES = b"what a link a sandbox planted points at"


@contextlib.contextmanager
def paused_erasure(server: RunningServer, control: Path, mine: Filled) -> Iterator[None]:
    """Arm the pause and send the erasure of `mine` from a thread; the block runs once it
    has paused, and the server is SIGKILLed as the block ends."""
    (control / ARMED).touch()

    def send() -> None:
        with client(server) as own, contextlib.suppress(httpx.HTTPError):
            own.delete("/v1/workspace", headers=mine.headers)  # killed mid-request

    sending = threading.Thread(target=send)
    sending.start()
    try:
        wait_until((control / PAUSED).exists, "the erasure paused")
        assert (control / PAUSED).read_text() == mine.workspace_id
        yield
    finally:
        os.kill(server.pid, signal.SIGKILL)
        sending.join(timeout=WAIT_SECONDS)


def assert_erased_answers(http: httpx.Client, mine: Filled) -> None:
    assert_problem(http.get("/v1/workspace", headers=mine.headers), 404, "workspace_not_found")
    for chat_id in mine.chat_ids:
        answer = http.get(f"/v1/chats/{chat_id}/history", headers=mine.headers)
        assert_problem(answer, 404, "workspace_not_found")


@pytest.mark.parametrize("instant", INSTANTS)
def test_an_erasure_killed_at_any_step_is_undone_or_finished_at_start_up(
    tmp_path: Path, instant: str
) -> None:
    data_dir, control, outside = tmp_path / "data", tmp_path / "control", tmp_path / "outside"
    control.mkdir()
    outside.mkdir()
    (outside / "target.txt").write_bytes(OUTSIDE_BYTES)
    paused_server = ("-m", "test.e2e.pause_in_erasure", str(control), instant)

    with server_to_kill(data_dir, command=paused_server) as server, client(server) as http:
        mine = filled(http, data_dir, outside / "target.txt", "alpha")
        theirs = filled(http, data_dir, outside / "target.txt", "omega")
        my_view, my_entries = seen(http, mine.headers), entries_of(data_dir, mine.workspace_id)
        their_view = seen(http, theirs.headers)
        their_entries = entries_of(data_dir, theirs.workspace_id)
        with paused_erasure(server, control, mine):
            note = f"erasures/{mine.workspace_id}"
            if instant == NOTED:  # not decided yet: the workspace is whole
                # (Its chats wait for the erasure's locks; the workspace itself does not.)
                assert json_of(http.get("/v1/workspace", headers=mine.headers)) == my_view[0]
                assert entries_of(data_dir, mine.workspace_id) == {
                    **my_entries,
                    note: ("file", 0o644, b""),
                }
            else:  # decided: erased, for every request, before the bytes are gone
                assert_erased_answers(http, mine)
                in_sight = [
                    path
                    for path in paths_naming(data_dir, mine.ids)
                    if not path.startswith("trash/")
                ]
                if instant == COMMITTED:
                    assert sorted(in_sight) == sorted([*my_entries, note])
                else:
                    assert in_sight == [note]
                if instant == PURGED:
                    assert paths_naming(data_dir / "trash", mine.ids) == []
            assert seen(http, theirs.headers) == their_view

    with running_server(data_dir) as restarted, client(restarted) as http:
        if instant == NOTED:
            assert seen(http, mine.headers) == my_view
            assert entries_of(data_dir, mine.workspace_id) == my_entries
            assert "finished erasing" not in restarted.log()
        else:
            assert_erased_answers(http, mine)
            assert paths_naming(data_dir, mine.ids) == []
            assert files_holding(data_dir, traces_of(mine.ids, *mine.texts)) == {}
            assert rows_mentioning(sqlite_rows(data_dir / "metadata.db"), mine.ids) == {}
            assert "finished erasing 1 workspace(s)" in restarted.log()
        assert seen(http, theirs.headers) == their_view
        assert entries_of(data_dir, theirs.workspace_id) == their_entries
        assert tree(outside) == {"target.txt": ("file", 0o644, OUTSIDE_BYTES)}
        for service_owned in ("trash", "erasures"):
            assert list((data_dir / service_owned).iterdir()) == []
