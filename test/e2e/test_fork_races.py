"""Forks raced on one real server: with appends to their source, with its delete, and
with each other up to the workspace's quota. Each fork answered 201 is a whole chat of its
own holding one revision of its source whole (`test.e2e.fork_races`); a fork refused, or
that found its source gone, leaves nothing on disk or in the store; and the usage never
passes the quota and ends equal to the disk. The same race across two processes is in
test_two_processes.py."""

from pathlib import Path
from typing import Any

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
    new_user_with_chat,
    upload,
)
from test.e2e.fork_races import (
    FORK,
    assert_forks_independent,
    assert_forks_whole,
    assert_source_gone,
    assert_source_holds,
    race_forks_with_appends,
)
from test.e2e.forks import (
    assert_fork_holds,
    chat_ids,
    file_records,
    fork,
    stored_rows,
    usage_chat_ids,
)
from test.e2e.revision_races import Racer, run_race
from test.e2e.server import RunningServer, running_server

pytestmark = pytest.mark.e2e

REVISIONS_KEPT = 50  # the server's default: no revision of a race is pruned
QUOTA_BYTES = 200_000
QUOTA_SOURCES = 4
QUOTA_FORKS_PER_SOURCE = 4
QUOTA_USAGE_READS = 30
QUOTA_HISTORY = b"# source\n" + b"h" * 5991
QUOTA_ATTACHMENT = b"a" * 10_000
FORK_BYTES = len(QUOTA_HISTORY) + len(QUOTA_ATTACHMENT)


def test_forks_racing_appends_each_hold_one_revision_of_the_source_whole(
    server: RunningServer,
) -> None:
    race = race_forks_with_appends([server], delete=False)
    assert len(race.forks) == 12
    assert_source_holds([server], server.data_dir, race, REVISIONS_KEPT)
    assert_forks_whole([server], server.data_dir, race)
    assert_forks_independent(server, server.data_dir, race)
    assert_source_holds([server], server.data_dir, race, REVISIONS_KEPT)
    listed = {race.chat.chat_id, *(forked["chat_id"] for forked in race.forks)}
    assert usage_chat_ids(server.data_dir, race.chat.workspace_id) == listed


def test_forks_racing_the_sources_delete_are_whole_chats_or_not_found(
    server: RunningServer,
) -> None:
    race = race_forks_with_appends([server], delete=True)
    assert_source_gone([server], server.data_dir, race)
    assert_forks_whole([server], server.data_dir, race)
    assert_forks_independent(server, server.data_dir, race)
    assert stored_rows(server.data_dir, race.chat.chat_id) == dict.fromkeys(
        ("chats", "chat_usage", "history_revisions", "chat_files"), 0
    )
    listed = {forked["chat_id"] for forked in race.forks}
    assert usage_chat_ids(server.data_dir, race.chat.workspace_id) == listed


def test_forks_racing_for_the_quota_never_pass_it_nor_leave_a_fork_half_made(
    tmp_path: Path,
) -> None:
    """Forks of QUOTA_SOURCES chats at once (those of one chat wait for its lock, so only
    the quota orders the others), while usage is read. Exactly as many forks as fit are
    made, each whole; every other is refused (507) and leaves nothing."""
    data_dir = tmp_path / "data"
    with running_server(data_dir, workspace_quota_bytes=str(QUOTA_BYTES)) as server:
        with client(server) as http:
            headers, workspace_id, first = new_user_with_chat(http)
            sources = [first, *(new_chat(http, headers) for _ in range(QUOTA_SOURCES - 1))]
            for chat_id in sources:
                url = f"/v1/chats/{chat_id}/history"
                assert http.put(url, headers=headers, content=QUOTA_HISTORY).status_code == 204
                attachment = [("attached.bin", QUOTA_ATTACHMENT, None)]
                assert upload(http, headers, chat_id, attachment).status_code == 201

        def forking(chat_id: str) -> Racer:
            return Racer(FORK, b"", lambda http: fork(http, headers, chat_id))

        def reading_usage(http: httpx.Client) -> httpx.Response:
            return http.get("/v1/workspace/usage", headers=headers)

        lanes = [[forking(chat_id)] * QUOTA_FORKS_PER_SOURCE for chat_id in sources]
        lanes.append([Racer("usage", b"", reading_usage)] * QUOTA_USAGE_READS)
        answers = run_race([server], lanes)

        for read in answers[-1]:
            usage = json_of(read)
            assert usage["used_bytes"] + usage["revision_bytes"] <= QUOTA_BYTES, usage
        forks: list[tuple[str, Any]] = []
        for chat_id, answered in zip(sources, answers[:-1], strict=True):
            statuses = [answer.status_code for answer in answered]
            assert statuses == sorted(statuses), statuses  # refused only once it is full
            for answer in answered:
                if answer.status_code == 201:
                    forks.append((chat_id, json_of(answer, 201)))
                else:
                    assert_problem(answer, 507, "workspace_quota_exceeded")
        base = QUOTA_SOURCES * FORK_BYTES
        assert len(forks) == (QUOTA_BYTES - base) // FORK_BYTES

        with client(server) as http:
            usage = json_of(http.get("/v1/workspace/usage", headers=headers))
            assert usage["used_bytes"] == base + len(forks) * FORK_BYTES
            assert usage["revision_bytes"] == 0
            assert QUOTA_BYTES - usage["used_bytes"] < FORK_BYTES
            listed = chat_ids(http, headers)
            assert listed == {*sources, *(forked["chat_id"] for _, forked in forks)}
            for source, forked in forks:
                files = file_records(http, headers, source)
                assert_fork_holds(http, headers, data_dir, forked, source, QUOTA_HISTORY, files)
            assert_records_bytes_and_usage_agree(http, headers, data_dir, workspace_id)
        assert {path.name for path in chats_dir(data_dir, workspace_id).iterdir()} == listed
        assert usage_chat_ids(data_dir, workspace_id) == listed
        assert_no_leftovers(data_dir)
        assert list((data_dir / "unsettled").iterdir()) == []  # a refused fork's mark went
