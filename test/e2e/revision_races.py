"""Appends raced with the other changes of a chat's history (PUT, restore, prune, the
chat's delete), on one server or alternating between several on one data directory and
store, and the check that each race ended as some serial order of its changes would
(api.md "History", "History revisions").

A race is sent at once (`client.race`). Every change that is acknowledged takes the next
revision number, so the numbers order them: played one by one in that order from the
chat's content before the race, each must have made the ETag it answered with, the
history must be the last one's content, and every kept revision the content it had then.
An append whose bytes interleaved with another's, or landed on a history a PUT or restore
had replaced, or a change that two processes numbered alike, cannot pass that."""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from test.e2e.client import (
    Request,
    assert_no_leftovers,
    assert_problem,
    assert_records_bytes_and_usage_agree,
    assert_revisions_agree,
    chats_dir,
    client,
    json_of,
    new_user_with_chat,
    race,
    revisions_dir,
    sha256,
)
from test.e2e.server import RunningServer

APPEND, PUT, RESTORE, PRUNE, DELETE = "append", "put", "restore", "prune", "delete"
# What makes a revision when acknowledged (a prune and a delete make none).
_CHANGES = (APPEND, PUT, RESTORE)
_TURN_BYTES = 2048

# The chat every race starts from: revision 1 is a PUT, 2 an append onto it, and the PUT
# of 3 keeps that run (1-2) as 1.md beside the history.
START = {0: b"", 1: b"# base\n", 2: b"# base\nmore\n", 3: b"# other\n"}


@dataclass(frozen=True)
class Racer:
    kind: str
    # What an append adds, or what a PUT or a restore makes the history; b"" otherwise.
    content: bytes
    request: Request


@dataclass(frozen=True)
class RacedChat:
    headers: dict[str, str]
    workspace_id: str
    chat_id: str

    @property
    def history(self) -> str:
        return f"/v1/chats/{self.chat_id}/history"

    def appending(self, body: bytes) -> Racer:
        return Racer(APPEND, body, lambda http: self._post(http, self.history, body))

    def putting(self, body: bytes) -> Racer:
        url, headers = self.history, self.headers
        return Racer(PUT, body, lambda http: http.put(url, headers=headers, content=body))

    def restoring(self, revision: int) -> Racer:
        url = f"{self.history}/revisions/{revision}/restore"
        return Racer(RESTORE, START[revision], lambda http: self._post(http, url, b""))

    def pruning(self) -> Racer:
        url, headers = f"{self.history}/revisions", self.headers
        return Racer(PRUNE, b"", lambda http: http.delete(url, headers=headers))

    def deleting(self) -> Racer:
        url, headers = f"/v1/chats/{self.chat_id}", self.headers
        return Racer(DELETE, b"", lambda http: http.delete(url, headers=headers))

    def _post(self, http: httpx.Client, url: str, body: bytes) -> httpx.Response:
        return http.post(url, headers=self.headers, content=body)


def turn(writer: int) -> bytes:
    """One append, a line naming its writer, long enough to show an interleaving."""
    head = f"append {writer:03d} ".encode()
    return head + b"." * (_TURN_BYTES - len(head) - 1) + b"\n"


def started_chat(server: RunningServer) -> RacedChat:
    """A new user's chat holding START's revisions."""
    with client(server) as http:
        chat = RacedChat(*new_user_with_chat(http))
        for number in (1, 2, 3):
            previous, content = START[number - 1], START[number]
            if previous and content.startswith(previous):
                answer = chat.appending(content[len(previous) :]).request(http)
            else:
                answer = chat.putting(content).request(http)
            assert answer.headers["x-history-revision"] == str(number), answer.text
    return chat


def run_race(
    servers: Sequence[RunningServer], lanes: Sequence[Sequence[Racer]]
) -> list[list[httpx.Response]]:
    """Start every lane at once, each from its own thread and connection, alternating
    between `servers`; a lane sends its requests one after another. Each lane's answers."""
    answers: list[list[httpx.Response]] = [[] for _ in lanes]

    def sending(lane: Sequence[Racer], into: list[httpx.Response]) -> Request:
        def send(http: httpx.Client) -> httpx.Response:
            for racer in lane:
                into.append(racer.request(http))
            return into[-1]

        return send

    race(
        [
            (servers[index % len(servers)], sending(lane, answers[index]))
            for index, lane in enumerate(lanes)
        ]
    )
    return answers


def assert_one_serial_order(
    lanes: Sequence[Sequence[Racer]], answers: Sequence[Sequence[httpx.Response]]
) -> dict[int, bytes]:
    """The acknowledged changes took the numbers after START's, one each, none skipped,
    each lane's in the order it sent them, and each answered with the ETag its content has
    when they happen one by one in their numbers' order. Returns each revision's content in
    that order, START's included."""
    made: dict[int, tuple[Racer, str]] = {}
    for lane, answered in zip(lanes, answers, strict=True):
        numbers = []
        for racer, answer in zip(lane, answered, strict=True):
            if racer.kind in _CHANGES and answer.status_code == 204:
                number = int(answer.headers["x-history-revision"])
                assert number not in made, f"revision {number} acknowledged twice"
                made[number] = (racer, answer.headers["etag"])
                numbers.append(number)
        assert numbers == sorted(numbers), f"a lane's changes numbered out of order: {numbers}"
    first = max(START) + 1
    assert sorted(made) == list(range(first, first + len(made))), sorted(made)
    contents = dict(START)
    history = START[max(START)]
    for number in sorted(made):
        racer, etag = made[number]
        history = history + racer.content if racer.kind == APPEND else racer.content
        assert etag == f'"{sha256(history)}"', (number, racer.kind)
        contents[number] = history
    return contents


def assert_all_acknowledged(answers: Sequence[Sequence[httpx.Response]]) -> None:
    for answered in answers:
        for answer in answered:
            assert answer.status_code == 204, answer.text


def assert_chat_holds(
    servers: Sequence[RunningServer],
    data_dir: Path,
    chat: RacedChat,
    contents: dict[int, bytes],
    limit: int,
    *,
    pruned: bool = False,
) -> None:
    """Through every server: the history is the latest of `contents`; the kept revisions
    are its newest numbers with no gap, `limit` of them (at most, once `pruned`), each
    holding its content; and they, the usage and `revision_bytes` agree with the disk."""
    latest = max(contents)
    for server in servers:
        with client(server) as http:
            kept = assert_revisions_agree(
                http, chat.headers, data_dir, chat.workspace_id, chat.chat_id
            )
            assert kept == {number: contents[number] for number in kept}
            assert sorted(kept) == list(range(latest - len(kept) + 1, latest + 1))
            if pruned:
                assert len(kept) <= limit
            else:
                assert len(kept) == min(limit, latest + 1)
            assert_records_bytes_and_usage_agree(http, chat.headers, data_dir, chat.workspace_id)
    assert_no_leftovers(data_dir)


def assert_chat_gone(servers: Sequence[RunningServer], data_dir: Path, chat: RacedChat) -> None:
    """Through every server the chat, its history and its revisions answer 404; nothing
    of it is left on disk, and the workspace counts nothing."""
    for server in servers:
        with client(server) as http:
            for url in (chat.history, f"{chat.history}/revisions", f"{chat.history}/revisions/3"):
                assert_problem(http.get(url, headers=chat.headers), 404, "chat_not_found")
            usage: Any = json_of(http.get("/v1/workspace/usage", headers=chat.headers))
            assert (usage["used_bytes"], usage["revision_bytes"]) == (0, 0)
    assert not (chats_dir(data_dir, chat.workspace_id) / chat.chat_id).exists()
    assert not revisions_dir(data_dir, chat.workspace_id, chat.chat_id).exists()
    assert_no_leftovers(data_dir)


def appending_lanes(chat: RacedChat, lanes: int, each: int) -> list[list[Racer]]:
    """`lanes` lanes of `each` appends, every one of them distinct."""
    return [
        [chat.appending(turn(lane * each + number)) for number in range(each)]
        for lane in range(lanes)
    ]


def race_appends_with_puts(servers: Sequence[RunningServer], data_dir: Path, limit: int) -> None:
    """More changes than the chat keeps: old revisions, and the runs of PUTs they kept,
    are pruned and dropped as the race goes."""
    chat = started_chat(servers[0])
    lanes = appending_lanes(chat, 6, 4)
    lanes.insert(1, [chat.putting(b"# put %d\n" % number * 40) for number in range(3)])
    answers = run_race(servers, lanes)
    assert_all_acknowledged(answers)
    assert_chat_holds(servers, data_dir, chat, assert_one_serial_order(lanes, answers), limit)


def race_appends_with_restores(
    servers: Sequence[RunningServer], data_dir: Path, limit: int
) -> None:
    """Restores of revision 2 (kept apart as 1.md) and of 3 (the history's own run at the
    start, kept apart once replaced); fewer changes than the chat keeps, so both stay."""
    chat = started_chat(servers[0])
    lanes = appending_lanes(chat, 4, 3)
    lanes.insert(1, [chat.restoring(2), chat.restoring(3), chat.restoring(2)])
    answers = run_race(servers, lanes)
    assert_all_acknowledged(answers)
    assert_chat_holds(servers, data_dir, chat, assert_one_serial_order(lanes, answers), limit)


def race_appends_with_prune(servers: Sequence[RunningServer], data_dir: Path, limit: int) -> None:
    """A PUT between two prunes, so a run is kept apart and then freed, or not."""
    chat = started_chat(servers[0])
    lanes = appending_lanes(chat, 4, 3)
    lanes.insert(1, [chat.pruning(), chat.putting(b"# put\n" * 40), chat.pruning()])
    answers = run_race(servers, lanes)
    assert_all_acknowledged(answers)
    contents = assert_one_serial_order(lanes, answers)
    assert_chat_holds(servers, data_dir, chat, contents, limit, pruned=True)


def race_appends_with_delete(servers: Sequence[RunningServer], data_dir: Path) -> RacedChat:
    """The deleting lane appends twice first, so the chat has grown when it goes. In every
    lane the appends land (204, numbered in order) until the delete, then find no chat."""
    chat = started_chat(servers[0])
    lanes = appending_lanes(chat, 4, 4)
    lanes.insert(1, [chat.appending(turn(100)), chat.appending(turn(101)), chat.deleting()])
    answers = run_race(servers, lanes)
    for answered in answers:
        statuses = [answer.status_code for answer in answered]
        assert statuses == sorted(statuses), statuses  # 404 only once the chat is gone
        for answer in answered:
            if answer.status_code != 204:
                assert_problem(answer, 404, "chat_not_found")
    assert [answer.status_code for answer in answers[1]] == [204] * 3
    assert_one_serial_order(lanes, answers)
    assert_chat_gone(servers, data_dir, chat)
    return chat
