"""SIGKILL while PUTs to many chats are in flight on a real server, so that their metadata
units of work share batches of SQLite's group commit (ADR 0032): after a restart, every
acknowledged PUT is there (its revision listed with its body, the history at least as new
as the last one acknowledged), every chat's history is whole (exactly one body sent to
that chat, never one that was not sent), and the records, usage and disk agree."""

import os
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from test.e2e.client import (
    assert_no_leftovers,
    assert_records_bytes_and_usage_agree,
    assert_revisions_agree,
    client,
    new_chat,
    new_user_with_chat,
    wait_until,
)
from test.e2e.server import running_server, server_to_kill

pytestmark = pytest.mark.e2e

CHATS = 12
# Fewer than the revisions a chat keeps (50 by default), so that every acknowledged PUT
# is still listed after the restart.
PUTS_PER_CHAT = 30
KILL_AFTER_ACKNOWLEDGED = 80


def body(chat: int, number: int) -> bytes:
    return f"# chat {chat}, write {number}\n".encode() + b"x" * (2000 + 37 * number) + b"\n"


@dataclass
class Writer:
    """One chat's writer: PUTs body 1, 2, ... until killed; notes what was acknowledged."""

    chat: int
    chat_id: str
    sent: int = 0
    acknowledged: dict[int, int] = field(default_factory=dict)  # body number: revision
    refused: str | None = None  # an answer other than 204, which no PUT here may get

    def run(self, base_url: str, headers: dict[str, str], stop: threading.Event) -> None:
        with httpx.Client(base_url=base_url, timeout=30) as http:
            for number in range(1, PUTS_PER_CHAT + 1):
                if stop.is_set():
                    return
                self.sent = number
                try:
                    answer = http.put(
                        f"/v1/chats/{self.chat_id}/history",
                        headers=headers,
                        content=body(self.chat, number),
                    )
                except httpx.HTTPError:
                    return  # killed with this PUT in flight
                if answer.status_code != 204:
                    self.refused = f"{answer.status_code} {answer.text}"
                    return
                self.acknowledged[number] = int(answer.headers["x-history-revision"])


@pytest.mark.parametrize("kill_after", [KILL_AFTER_ACKNOWLEDGED, KILL_AFTER_ACKNOWLEDGED * 2])
def test_a_kill_while_many_chats_commit_keeps_every_acknowledged_put_and_no_half_one(
    tmp_path: Path, kill_after: int
) -> None:
    data_dir = tmp_path / "data"
    stop = threading.Event()
    with server_to_kill(data_dir) as server, client(server) as http:
        headers, workspace_id, first = new_user_with_chat(http)
        chat_ids = [first, *(new_chat(http, headers) for _ in range(CHATS - 1))]
        writers = [Writer(n, chat_id) for n, chat_id in enumerate(chat_ids)]
        threads = [
            threading.Thread(target=writer.run, args=(server.base_url, headers, stop))
            for writer in writers
        ]
        for thread in threads:
            thread.start()
        wait_until(
            lambda: (
                sum(len(w.acknowledged) for w in writers) >= kill_after
                or any(w.refused for w in writers)
            ),
            f"{kill_after} PUTs acknowledged",
            seconds=120,
        )
        os.kill(server.pid, signal.SIGKILL)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert [w.refused for w in writers if w.refused] == []
    in_flight = [w for w in writers if w.sent not in w.acknowledged]
    assert len(in_flight) >= 2, "the kill found no PUTs of several chats in flight"

    with running_server(data_dir) as restarted, client(restarted) as http:
        for writer in writers:
            url = f"/v1/chats/{writer.chat_id}/history"
            history = http.get(url, headers=headers)
            assert history.status_code == 200, history.text
            newest_acknowledged = max(writer.acknowledged, default=0)
            whole = [
                n for n in range(1, writer.sent + 1) if body(writer.chat, n) == history.content
            ]
            # Whole: exactly one body sent to this chat, no older than the last acknowledged.
            assert len(whole) == 1, (writer.chat, history.content[:40])
            assert whole[0] >= newest_acknowledged, (writer.chat, whole, newest_acknowledged)
            kept = assert_revisions_agree(http, headers, data_dir, workspace_id, writer.chat_id)
            for number, revision in writer.acknowledged.items():
                assert kept.get(revision) == body(writer.chat, number), (writer.chat, number)
        assert_records_bytes_and_usage_agree(http, headers, data_dir, workspace_id)
        assert_no_leftovers(data_dir)
        assert list((data_dir / "unsettled").iterdir()) == []
        # A chat takes a PUT after the restart.
        again = http.put(f"/v1/chats/{first}/history", headers=headers, content=b"# again\n")
        assert again.status_code == 204, again.text
