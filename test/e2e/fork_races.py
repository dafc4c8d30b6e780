"""Forks raced with appends to their source and with its delete, on one server or with
the forks sent through one server and the changes through another on one data directory
and store, and the check that each fork answered 201 is a whole, independent chat and
that nothing is left of any other (api.md `POST /v1/chats/{chat_id}/fork`).

A fork copies one state of its source, under the source's lock: its history is the
content of the revision its `forked_from` names, as the appends' serial order
(`revision_races.assert_one_serial_order`) says that revision was, so never a history
with half an append, nor one an append was landing on. A fork that waited for the lock
while the source was deleted finds no chat (404) and builds nothing."""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from test.e2e.client import (
    assert_no_leftovers,
    assert_problem,
    assert_records_bytes_and_usage_agree,
    chats_dir,
    client,
    json_of,
    revisions_dir,
    upload,
)
from test.e2e.forks import assert_fork_holds, chat_ids, file_records, fork, paths_naming
from test.e2e.revision_races import (
    RacedChat,
    Racer,
    appending_lanes,
    assert_chat_holds,
    assert_one_serial_order,
    run_race,
    started_chat,
    turn,
)
from test.e2e.server import RunningServer

FORK = "fork"
ATTACHMENTS = [("notes.txt", b"n" * 3000, "text/plain"), ("data.bin", b"d" * 5000, None)]
# Each fork lane's forks: the current revision unless a number is given. Revision 2 is
# kept apart as 1.md, revision 3 starts the run the appends continue (START).
FORK_LANES: list[list[int | None]] = [
    [None, 2, None, None],
    [3, None, None, 2],
    [None, None, 2, None],
]


@dataclass(frozen=True)
class ForkRace:
    chat: RacedChat
    # The source's file records, which every fork copies.
    files: list[Any]
    # Each acknowledged fork's 201 body.
    forks: list[Any]
    # The source's revisions' contents, by number, as the serial order of its appends has
    # them.
    contents: dict[int, bytes]


def forking(chat: RacedChat, revision: int | None) -> Racer:
    return Racer(FORK, b"", lambda http: fork(http, chat.headers, chat.chat_id, revision))


def attached_chat(server: RunningServer) -> tuple[RacedChat, list[Any]]:
    """A new user's chat holding START's revisions and ATTACHMENTS, and its file records."""
    chat = started_chat(server)
    with client(server) as http:
        assert upload(http, chat.headers, chat.chat_id, ATTACHMENTS).status_code == 201
        return chat, file_records(http, chat.headers, chat.chat_id)


def race_forks_with_appends(servers: Sequence[RunningServer], *, delete: bool) -> ForkRace:
    """FORK_LANES race three lanes of three appends; with `delete`, the last lane is one
    append and then the source's delete, so that some forks come after it. The lanes
    alternate fork, change, fork...: with two servers every fork goes through the first
    and every change through the second."""
    chat, files = attached_chat(servers[0])
    changes = appending_lanes(chat, 3, 3)
    if delete:
        changes[-1] = [chat.appending(turn(100)), chat.deleting()]
    forks = [[forking(chat, revision) for revision in lane] for lane in FORK_LANES]
    lanes = [lane for pair in zip(forks, changes, strict=True) for lane in pair]
    answers = run_race(servers, lanes)

    for lane, answered in zip(lanes, answers, strict=True):
        statuses = [answer.status_code for answer in answered]
        assert statuses == sorted(statuses), statuses  # 404 only once the source is gone
        for racer, answer in zip(lane, answered, strict=True):
            if answer.status_code not in (201, 204):
                assert delete, answer.text
                assert_problem(answer, 404, "chat_not_found")
            else:
                assert answer.status_code == (201 if racer.kind == FORK else 204), answer.text
    contents = assert_one_serial_order(lanes, answers)
    acknowledged = []
    for requested, answered in zip(FORK_LANES, answers[::2], strict=True):
        numbers = []
        for revision, answer in zip(requested, answered, strict=True):
            if answer.status_code != 201:
                continue
            forked = json_of(answer, 201)
            assert answer.headers["location"] == f"/v1/chats/{forked['chat_id']}"
            number = forked["forked_from"]["revision"]
            assert number in contents, number
            if revision is None:
                numbers.append(number)
            else:
                assert number == revision
            acknowledged.append(forked)
        # A lane's forks of the current revision come one after another.
        assert numbers == sorted(numbers), numbers
    return ForkRace(chat, files, acknowledged, contents)


def assert_forks_whole(servers: Sequence[RunningServer], data_dir: Path, race: ForkRace) -> None:
    """Through every server each acknowledged fork holds its revision's content and the
    source's attachments; the workspace lists the source (unless deleted) and those forks
    only; no directory or revisions of any other chat is on disk; usage and
    `revision_bytes` agree with the disk."""
    chat = race.chat
    forks = {forked["chat_id"]: forked for forked in race.forks}
    for server in servers:
        with client(server) as http:
            listed = chat_ids(http, chat.headers)
            assert listed - {chat.chat_id} == set(forks)
            for forked in race.forks:
                content = race.contents[forked["forked_from"]["revision"]]
                assert_fork_holds(
                    http, chat.headers, data_dir, forked, chat.chat_id, content, race.files
                )
            assert_records_bytes_and_usage_agree(http, chat.headers, data_dir, chat.workspace_id)
    on_disk = {path.name for path in chats_dir(data_dir, chat.workspace_id).iterdir()}
    assert on_disk == listed
    # Only the source keeps runs apart: a fork's revisions are its history's own run.
    runs = data_dir / "revisions" / chat.workspace_id
    kept = {path.name for path in runs.iterdir()} if runs.is_dir() else set()
    assert kept <= listed & {chat.chat_id}
    assert_no_leftovers(data_dir)
    assert list((data_dir / "unsettled").iterdir()) == []  # no crash mark, no journal


def assert_forks_independent(server: RunningServer, data_dir: Path, race: ForkRace) -> None:
    """An append to each fork lands in it alone: the source's history, if it is still
    there, is as it was."""
    chat = race.chat
    with client(server) as http:
        source = http.get(chat.history, headers=chat.headers)
        for forked in race.forks:
            url = f"/v1/chats/{forked['chat_id']}/history"
            before = http.get(url, headers=chat.headers).content
            answer = http.post(url, headers=chat.headers, content=b"only in this fork\n")
            assert answer.status_code == 204, answer.text
            after = http.get(url, headers=chat.headers).content
            assert after == before + b"only in this fork\n"
        again = http.get(chat.history, headers=chat.headers)
        assert (again.status_code, again.content) == (source.status_code, source.content)
        assert_records_bytes_and_usage_agree(http, chat.headers, data_dir, chat.workspace_id)


def assert_source_holds(
    servers: Sequence[RunningServer], data_dir: Path, race: ForkRace, limit: int
) -> None:
    """The source is every append, in the serial order, its revisions agreeing with the
    disk, and its attachments as they were."""
    assert_chat_holds(servers, data_dir, race.chat, race.contents, limit)
    chat = race.chat
    for server in servers:
        with client(server) as http:
            assert file_records(http, chat.headers, chat.chat_id) == race.files


def assert_source_gone(servers: Sequence[RunningServer], data_dir: Path, race: ForkRace) -> None:
    """The source answers 404 through every server and nothing on disk names it."""
    chat = race.chat
    for server in servers:
        with client(server) as http:
            for url in (f"/v1/chats/{chat.chat_id}", chat.history):
                assert_problem(http.get(url, headers=chat.headers), 404, "chat_not_found")
    assert not revisions_dir(data_dir, chat.workspace_id, chat.chat_id).exists()
    assert paths_naming(data_dir, chat.chat_id) == []
