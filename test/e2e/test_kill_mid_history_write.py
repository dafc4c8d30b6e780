"""SIGKILL in the middle of a PUT or a restore on a real server, hit on purpose at each
instant after its revisions and usage were recorded (`test.e2e.pause_in_history_write`):
before the replaced history is kept as its run's file, before the new history is renamed
in, and after. The records went ahead of the bytes under the chat's mark (ADR 0022), so
after a restart the chat is as if the change had never started (the first two) or had
finished (the last): the history whole, the change's revision listed exactly when its
bytes landed, every revision readable and agreeing with its ETag, and `used_bytes` and
`revision_bytes` what the disk holds, with no run file kept that nothing needs. A prune
killed before it removed the runs it freed is finished by settling."""

import contextlib
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from test.e2e.client import (
    assert_no_leftovers,
    assert_records_bytes_and_usage_agree,
    assert_revisions_agree,
    chats_dir,
    client,
    listed_revisions,
    new_user_with_chat,
    revisions_dir,
    sha256,
    wait_until,
    write_revisions,
)
from test.e2e.pause_in_history_write import ARMED, DROP, LINK, PAUSED, RENAME, UNMARK
from test.e2e.server import RunningServer, running_server, server_to_kill

pytestmark = pytest.mark.e2e

WAIT_SECONDS = 20.0
# The chat before the change: revisions 1-3 are run 1 (kept apart as 1.md since the PUT of
# revision 4 replaced it), revisions 4-5 are run 4, whose bytes are the history itself.
BEFORE = {
    0: b"",
    1: b"# a\n",
    2: b"# a\nb\n",
    3: b"# a\nb\nc\n",
    4: b"# b\n",
    5: b"# b\nd\n",
}
SOURCES = ["append", "put", "append", "append", "put", "create"]  # revisions 5 down to 0
RESTORED = 2
PUT_BODY = b"# c\n" + b"c" * 1000 + b"\n"


def build_revisions(http: httpx.Client, headers: dict[str, str], chat_id: str) -> None:
    """Revisions 1-5 of BEFORE: a PUT and two appends, then a PUT and an append."""
    write_revisions(http, headers, chat_id, [BEFORE[number] for number in range(6)])


def killed_mid_change(
    server: RunningServer, control: Path, change: Callable[[httpx.Client], object]
) -> None:
    """Arm the pause, send `change` from a thread, and SIGKILL the server once paused."""
    (control / ARMED).touch()

    def send() -> None:
        with client(server) as own, contextlib.suppress(httpx.HTTPError):
            change(own)  # killed mid-request, as intended

    sending = threading.Thread(target=send)
    sending.start()
    wait_until((control / PAUSED).exists, "the change paused")
    os.kill(server.pid, signal.SIGKILL)
    sending.join(timeout=WAIT_SECONDS)


def assert_settled_as(
    data_dir: Path,
    headers: dict[str, str],
    workspace_id: str,
    chat_id: str,
    expected: dict[int, bytes],
) -> None:
    """After a restart, the chat's kept revisions are `expected` (number: content, the
    latest being the history), agreeing with the disk; and a change made now works."""
    url = f"/v1/chats/{chat_id}/history"
    with running_server(data_dir) as restarted, client(restarted) as http:
        latest = max(expected)
        history = http.get(url, headers=headers)
        assert history.content == expected[latest]
        assert history.headers["etag"] == f'"{sha256(expected[latest])}"'
        assert assert_revisions_agree(http, headers, data_dir, workspace_id, chat_id) == expected
        assert_records_bytes_and_usage_agree(http, headers, data_dir, workspace_id)
        assert_no_leftovers(data_dir)
        assert list((data_dir / "unsettled").iterdir()) == []

        appended = http.post(url, headers=headers, content=b"after the restart\n")
        assert appended.status_code == 204, appended.text
        assert int(appended.headers["x-history-revision"]) > latest
        assert_revisions_agree(http, headers, data_dir, workspace_id, chat_id)


@pytest.mark.parametrize("instant", [LINK, RENAME, UNMARK])
@pytest.mark.parametrize("kind", ["restore", "put"])
def test_a_kill_mid_replace_leaves_the_chat_before_or_after_it_whole(
    tmp_path: Path, kind: str, instant: str
) -> None:
    """The change replaces run 4 (the history), which a kept revision still needs, so it
    keeps it as 4.md: killed before that link or before the rename, the chat is as it was
    (revision 6 is gone, the link dropped); killed after the rename, the change is whole
    (revision 6 listed, 1.md and 4.md both kept)."""
    data_dir, control = tmp_path / "data", tmp_path / "control"
    control.mkdir()
    paused_server = ("-m", "test.e2e.pause_in_history_write", str(control), instant)
    new_content = BEFORE[RESTORED] if kind == "restore" else PUT_BODY

    def change(http: httpx.Client) -> object:
        url = f"/v1/chats/{chat_id}/history"
        if kind == "restore":
            return http.post(f"{url}/revisions/{RESTORED}/restore", headers=headers)
        return http.put(url, headers=headers, content=new_content)

    with server_to_kill(data_dir, command=paused_server) as server, client(server) as http:
        headers, workspace_id, chat_id = new_user_with_chat(http)
        build_revisions(http, headers, chat_id)
        assert [item["source"] for item in listed_revisions(http, headers, chat_id)] == SOURCES
        history = chats_dir(data_dir, workspace_id) / chat_id / "history.md"
        kept_run = revisions_dir(data_dir, workspace_id, chat_id) / "4.md"
        killed_mid_change(server, control, change)
        # Where the kill landed: the link is made before the rename, the rename before
        # the mark goes.
        assert history.read_bytes() == (BEFORE[5] if instant != UNMARK else new_content)
        assert kept_run.exists() == (instant != LINK)

    landed = instant == UNMARK
    expected = {**BEFORE, 6: new_content} if landed else BEFORE
    assert_settled_as(data_dir, headers, workspace_id, chat_id, expected)
    assert kept_run.exists() == landed
    assert (revisions_dir(data_dir, workspace_id, chat_id) / "1.md").read_bytes() == BEFORE[3]


def test_a_kill_mid_prune_leaves_only_the_current_revision_and_frees_its_runs(
    tmp_path: Path,
) -> None:
    """The prune's records are written (every revision but 5 forgotten, revision_bytes 0)
    and the kill comes before 1.md, which only revisions 1-3 needed, is removed: after a
    restart settling removes it, and the chat agrees with the disk."""
    data_dir, control = tmp_path / "data", tmp_path / "control"
    control.mkdir()
    paused_server = ("-m", "test.e2e.pause_in_history_write", str(control), DROP)

    def prune(http: httpx.Client) -> object:
        return http.delete(f"/v1/chats/{chat_id}/history/revisions", headers=headers)

    with server_to_kill(data_dir, command=paused_server) as server, client(server) as http:
        headers, workspace_id, chat_id = new_user_with_chat(http)
        build_revisions(http, headers, chat_id)
        kept_run = revisions_dir(data_dir, workspace_id, chat_id) / "1.md"
        killed_mid_change(server, control, prune)
        assert kept_run.exists()

    assert_settled_as(data_dir, headers, workspace_id, chat_id, {5: BEFORE[5]})
    assert not kept_run.exists()


@pytest.mark.parametrize(("kind", "instant"), [("put", LINK), ("restore", LINK), ("put", RENAME)])
def test_a_kill_mid_change_to_the_same_content_keeps_the_revisions_it_replaces(
    tmp_path: Path, kind: str, instant: str
) -> None:
    """A PUT of the content the history already holds, or a restore of the latest
    revision, starts a run of its own and keeps run 4's bytes (the history) as 4.md for
    revisions 4 and 5. Killed before that link, the history on disk is the change's
    content as much as the one before: settling may take the change as landed or not, but
    either way revisions 4 and 5 stay readable."""
    data_dir, control = tmp_path / "data", tmp_path / "control"
    control.mkdir()
    paused_server = ("-m", "test.e2e.pause_in_history_write", str(control), instant)

    def change(http: httpx.Client) -> object:
        url = f"/v1/chats/{chat_id}/history"
        if kind == "restore":
            return http.post(f"{url}/revisions/5/restore", headers=headers)
        return http.put(url, headers=headers, content=BEFORE[5])

    with server_to_kill(data_dir, command=paused_server) as server, client(server) as http:
        headers, workspace_id, chat_id = new_user_with_chat(http)
        build_revisions(http, headers, chat_id)
        killed_mid_change(server, control, change)

    with running_server(data_dir) as restarted, client(restarted) as http:
        contents = assert_revisions_agree(http, headers, data_dir, workspace_id, chat_id)
        assert contents in (BEFORE, {**BEFORE, 6: BEFORE[5]})
        assert_records_bytes_and_usage_agree(http, headers, data_dir, workspace_id)
