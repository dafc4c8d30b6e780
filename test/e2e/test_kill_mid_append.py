"""SIGKILL in the middle of a batch of appends on a real server, hit on purpose: the first
append of the batch is on the history, the second not yet (`test.e2e.pause_mid_append`).
After a restart the history is as it was before the batch, whole, with its ETag and usage
agreeing with the disk (ADR 0021), and so are its revisions (ADR 0022)."""

import contextlib
import os
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from test.disk import staged_files
from test.e2e.client import (
    assert_no_leftovers,
    assert_records_bytes_and_usage_agree,
    assert_revisions_agree,
    chats_dir,
    client,
    new_user_with_chat,
    sha256,
    wait_until,
)
from test.e2e.pause_mid_append import ARMED, GO, HOLDING, PAUSED
from test.e2e.placement import PLACEMENTS, Placement
from test.e2e.server import running_server, server_to_kill

pytestmark = pytest.mark.e2e

WAIT_SECONDS = 20.0
BEFORE = b"# before\n"
FIRST = b"**user**: the one held\n"
BATCH = [b"**assistant**: " + b"b" * 4000 + b"\n", b"**user**: " + b"c" * 4000 + b"\n"]


@pytest.mark.parametrize("placement", PLACEMENTS, indirect=True)
def test_a_kill_in_the_middle_of_a_batch_of_appends_leaves_the_history_before_it(
    tmp_path: Path, placement: Placement
) -> None:
    # On JuiceFS the server restarted after the kill runs on another host's mount.
    data_dir, control = placement.first, tmp_path / "control"
    control.mkdir()
    paused_mid_append = ("-m", "test.e2e.pause_mid_append", str(control))
    with (
        server_to_kill(data_dir, command=paused_mid_append, **placement.settings) as server,
        client(server) as http,
    ):
        headers, workspace_id, chat_id = new_user_with_chat(http)
        url = f"/v1/chats/{chat_id}/history"
        assert http.post(url, headers=headers, content=BEFORE).status_code == 204
        history = chats_dir(data_dir, workspace_id) / chat_id / "history.md"
        (control / ARMED).touch()

        def append(body: bytes) -> None:
            with client(server) as own, contextlib.suppress(httpx.HTTPError):
                own.post(url, headers=headers, content=body)  # killed mid-request, as intended

        threads = [threading.Thread(target=append, args=(FIRST,))]
        threads[0].start()
        wait_until((control / HOLDING).exists, "the first append held before its copy")
        for body in BATCH:
            threads.append(threading.Thread(target=append, args=(body,)))
            threads[-1].start()
        # Both staged, beside the held one's body: they queue behind it as one batch.
        wait_until(lambda: len(staged_files(data_dir)) == 3, "the batch staged")
        time.sleep(0.2)
        (control / GO).touch()
        wait_until((control / PAUSED).exists, "the batch paused between its two copies")
        # The batch's first append is on the history (in whichever order the two queued).
        on_disk = history.read_bytes()
        assert on_disk in {BEFORE + FIRST + body for body in BATCH}, "not paused mid-batch"
        os.kill(server.pid, signal.SIGKILL)
        for thread in threads:
            thread.join(timeout=WAIT_SECONDS)

    with (
        running_server(placement.second, **placement.settings) as restarted,
        client(restarted) as http,
    ):
        answer = http.get(url, headers=headers)
        assert answer.content == BEFORE + FIRST
        assert answer.headers["etag"] == f'"{sha256(BEFORE + FIRST)}"'
        assert_records_bytes_and_usage_agree(http, headers, data_dir, workspace_id)
        # The batch's revisions, recorded before its bytes, are gone with them.
        kept = assert_revisions_agree(http, headers, data_dir, workspace_id, chat_id)
        assert kept == {0: b"", 1: BEFORE, 2: BEFORE + FIRST}
        assert_no_leftovers(data_dir)
        assert list((data_dir / "unsettled").iterdir()) == []
