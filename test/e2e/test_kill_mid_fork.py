"""SIGKILL in the middle of a fork on a real server, hit on purpose at each instant after
its copies are staged and its bytes reserved (`test.e2e.pause_in_fork`): before the new
chat's directory is made, once its history and attachments are in place but before its
records, and after its records. A fork killed half-way is never visible as a chat
(api.md), so until its records are saved no request sees it, and after a restart nothing
of it is left anywhere (directory, revisions, usage row, staging file, mark); once they
are, it is a whole chat of its own. Either way the source is as it was, and the usage and
`revision_bytes` are what the disk holds."""

import contextlib
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from test.disk import regular_bytes_under, staged_files
from test.e2e.client import (
    assert_no_leftovers,
    assert_problem,
    assert_records_bytes_and_usage_agree,
    assert_revisions_agree,
    chats_dir,
    client,
    json_of,
    new_user_with_chat,
    sha256,
    upload,
    wait_until,
    write_revisions,
)
from test.e2e.forks import (
    assert_fork_holds,
    chat_ids,
    file_records,
    fork,
    paths_naming,
    stored_rows,
)
from test.e2e.pause_in_fork import ARMED, PLACED, STAGED, WHOLE
from test.e2e.pausing import PAUSED
from test.e2e.server import RunningServer, running_server, server_to_kill

pytestmark = pytest.mark.e2e

WAIT_SECONDS = 20.0
# The source before the fork: revisions 1-2 are run 1, kept apart as 1.md since the PUT of
# revision 3 replaced it; revisions 3-4 are run 3, the history itself.
BEFORE = {0: b"", 1: b"# a\n", 2: b"# a\nb\n", 3: b"# b\n", 4: b"# b\nc\n"}
FORKED = 2
# Two attachments, so that the fork commits them under a journal, as a multi-file upload.
ATTACHMENTS = [
    ("notes.txt", b"n" * 3000, "text/plain"),
    ("data.bin", b"d" * 5000, "application/octet-stream"),
]
FORK_BYTES = len(BEFORE[FORKED]) + sum(len(content) for _, content, _ in ATTACHMENTS)


def build_source(http: httpx.Client, headers: dict[str, str], chat_id: str) -> None:
    """BEFORE's revisions 1-4 (a PUT and an append, twice) and ATTACHMENTS."""
    write_revisions(http, headers, chat_id, [BEFORE[number] for number in range(5)])
    assert upload(http, headers, chat_id, ATTACHMENTS).status_code == 201


def killed_mid_fork(
    server: RunningServer, control: Path, send_fork: Callable[[httpx.Client], object]
) -> tuple[str, Callable[[], None]]:
    """Arm the pause and send the fork from a thread. Once it is paused: the new chat's id,
    and what SIGKILLs the server."""
    (control / ARMED).touch()

    def send() -> None:
        with client(server) as own, contextlib.suppress(httpx.HTTPError):
            send_fork(own)  # killed mid-request, as intended

    sending = threading.Thread(target=send)
    sending.start()
    wait_until((control / PAUSED).exists, "the fork paused")

    def kill() -> None:
        os.kill(server.pid, signal.SIGKILL)
        sending.join(timeout=WAIT_SECONDS)

    return (control / PAUSED).read_text(), kill


def assert_source_as_before(
    http: httpx.Client,
    headers: dict[str, str],
    data_dir: Path,
    workspace_id: str,
    chat_id: str,
    files: list[Any],
) -> None:
    history = http.get(f"/v1/chats/{chat_id}/history", headers=headers)
    assert history.content == BEFORE[4]
    assert assert_revisions_agree(http, headers, data_dir, workspace_id, chat_id) == BEFORE
    assert file_records(http, headers, chat_id) == files
    directory = chats_dir(data_dir, workspace_id) / chat_id
    for name, content, _ in ATTACHMENTS:
        assert (directory / name).read_bytes() == content


@pytest.mark.parametrize("instant", [STAGED, PLACED, WHOLE])
def test_a_fork_killed_half_way_is_never_a_chat_and_leaves_nothing(
    tmp_path: Path, instant: str
) -> None:
    data_dir, control = tmp_path / "data", tmp_path / "control"
    control.mkdir()
    paused_server = ("-m", "test.e2e.pause_in_fork", str(control), instant)

    with server_to_kill(data_dir, command=paused_server) as server, client(server) as http:
        headers, workspace_id, source = new_user_with_chat(http)
        build_source(http, headers, source)
        files = file_records(http, headers, source)
        source_bytes = regular_bytes_under(chats_dir(data_dir, workspace_id))
        fork_id, kill = killed_mid_fork(
            server, control, lambda own: fork(own, headers, source, FORKED)
        )
        # Where the kill lands: the three copies wait in staging until they are put in
        # place, and the fork is a chat from its records on, not before.
        fork_dir = chats_dir(data_dir, workspace_id) / fork_id
        assert len(staged_files(data_dir)) == (3 if instant == STAGED else 0)
        assert fork_dir.exists() == (instant != STAGED)
        if instant != STAGED:
            assert (fork_dir / "history.md").read_bytes() == BEFORE[FORKED]
            for name, content, _ in ATTACHMENTS:
                assert (fork_dir / name).read_bytes() == content
        # Its bytes are counted from before the copy is put in place.
        usage = json_of(http.get("/v1/workspace/usage", headers=headers))
        assert usage["used_bytes"] == source_bytes + FORK_BYTES
        if instant == WHOLE:
            assert chat_ids(http, headers) == {source, fork_id}
        else:
            assert chat_ids(http, headers) == {source}
            answer = http.get(f"/v1/chats/{fork_id}", headers=headers)
            assert_problem(answer, 404, "chat_not_found")
        kill()

    with running_server(data_dir) as restarted, client(restarted) as http:
        assert_source_as_before(http, headers, data_dir, workspace_id, source, files)
        assert_records_bytes_and_usage_agree(http, headers, data_dir, workspace_id)
        assert_no_leftovers(data_dir)
        assert list((data_dir / "unsettled").iterdir()) == []
        if instant != WHOLE:
            assert chat_ids(http, headers) == {source}
            assert paths_naming(data_dir, fork_id) == []
            assert stored_rows(data_dir, fork_id) == dict.fromkeys(
                ("chats", "chat_usage", "history_revisions", "chat_files"), 0
            )
            return
        assert chat_ids(http, headers) == {source, fork_id}
        fork_path = str(fork_dir.relative_to(data_dir))
        assert all(path.startswith(fork_path) for path in paths_naming(data_dir, fork_id))
        forked = json_of(http.get(f"/v1/chats/{fork_id}", headers=headers))
        assert forked["forked_from"] == {"chat_id": source, "revision": FORKED}
        assert_fork_holds(http, headers, data_dir, forked, source, BEFORE[FORKED], files)
        assert stored_rows(data_dir, fork_id) == {
            "chats": 1,
            "chat_usage": 1,
            "history_revisions": 2,
            "chat_files": 2,
        }
        assert_forks_are_independent(http, headers, data_dir, workspace_id, source, fork_id)
        assert_source_as_before(http, headers, data_dir, workspace_id, source, files)


def assert_forks_are_independent(
    http: httpx.Client,
    headers: dict[str, str],
    data_dir: Path,
    workspace_id: str,
    source: str,
    fork_id: str,
) -> None:
    """Changes to the fork's history and attachments land in it and never in the source
    (which the caller checks after)."""
    url = f"/v1/chats/{fork_id}/history"
    appended = http.post(url, headers=headers, content=b"only in the fork\n")
    assert appended.status_code == 204, appended.text
    assert appended.headers["x-history-revision"] == "2"
    replaced = upload(http, headers, fork_id, [("notes.txt", b"changed in the fork\n", None)])
    assert replaced.status_code == 201, replaced.text
    assert http.get(url, headers=headers).content == BEFORE[FORKED] + b"only in the fork\n"
    fork_notes = chats_dir(data_dir, workspace_id) / fork_id / "notes.txt"
    assert fork_notes.read_bytes() == b"changed in the fork\n"
    records = {record["name"]: record for record in file_records(http, headers, fork_id)}
    assert records["notes.txt"]["sha256"] == sha256(b"changed in the fork\n")
    assert_revisions_agree(http, headers, data_dir, workspace_id, fork_id)
    assert_records_bytes_and_usage_agree(http, headers, data_dir, workspace_id)
