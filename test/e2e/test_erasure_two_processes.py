"""Erasing a workspace with two server processes on ONE data directory and ONE metadata
store (SQLite, PostgreSQL), as in test_two_processes.py.

An instance remembers the workspaces it has found; after an erasure through the other one
it must answer every workspace route from the store (404, then the user's new workspace)
and every route of an erased chat `404 workspace_not_found`, and still find the chats of
the user's new workspace. An erasure through one process racing uploads, appends, PUTs,
chat creation, session starts and deletes through the other must end as some serial order
of them: nothing of the workspace left on disk or in the store."""

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import httpx
import pytest

from test.e2e.client import (
    Request,
    assert_no_leftovers,
    assert_problem,
    client,
    json_of,
    new_chat,
    new_user_with_chat,
    race,
    upload,
)
from test.e2e.server import RunningServer
from test.e2e.test_two_processes import BACKENDS, Pair, two_servers
from test.leftovers import Rows, paths_naming, postgres_rows, rows_mentioning, sqlite_rows

pytestmark = pytest.mark.e2e

CHATS = 3


@pytest.fixture(scope="module", params=BACKENDS)
def pair(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pair]:
    """One pair of servers per backend for the module; each test works as new users."""
    with two_servers(request.param, request, tmp_path_factory.mktemp("erase-two")) as started:
        yield started


def store_rows(pair: Pair) -> Rows:
    """Every row of the pair's one metadata store."""
    url = pair.metadata_url
    if url.startswith("sqlite:///"):
        return sqlite_rows(Path(url.removeprefix("sqlite:///")))
    return asyncio.run(postgres_rows(url))


def test_after_an_erasure_through_one_server_the_other_answers_from_the_store(
    pair: Pair,
) -> None:
    first, second = pair.servers
    with client(first) as one, client(second) as other:
        headers, workspace_id, chat_id = new_user_with_chat(one)
        # The other instance finds, and remembers, the workspace.
        assert json_of(other.get(f"/v1/chats/{chat_id}", headers=headers))["chat_id"] == chat_id
        assert other.get(f"/v1/chats/{chat_id}/history", headers=headers).status_code == 200

        assert one.delete("/v1/workspace", headers=headers).status_code == 204

        for path in ("/v1/workspace", "/v1/workspace/usage", "/v1/chats"):
            assert_problem(other.get(path, headers=headers), 404, "workspace_not_found")
        assert_problem(other.post("/v1/chats", headers=headers), 404, "workspace_not_found")
        for path in ("", "/history", "/files", "/history/revisions"):
            answer = other.get(f"/v1/chats/{chat_id}{path}", headers=headers)
            assert_problem(answer, 404, "workspace_not_found")
        sent = upload(other, headers, chat_id, [("a.txt", b"a", "text/plain")])
        assert_problem(sent, 404, "workspace_not_found")
        assert_problem(other.delete("/v1/workspace", headers=headers), 404, "workspace_not_found")

        new = json_of(one.put("/v1/workspace", headers=headers), 201)
        assert new["workspace_id"] != workspace_id
        new_chat_id = new_chat(one, headers)
        assert json_of(other.get("/v1/workspace", headers=headers)) == new
        assert json_of(other.get(f"/v1/chats/{new_chat_id}", headers=headers))["chat_id"] == (
            new_chat_id
        )
        answer = other.get(f"/v1/chats/{chat_id}", headers=headers)
        assert_problem(answer, 404, "chat_not_found")
        # And the other way round: erased through the second, made anew through it.
        assert other.delete("/v1/workspace", headers=headers).status_code == 204
        assert_problem(
            one.get(f"/v1/chats/{new_chat_id}", headers=headers), 404, "workspace_not_found"
        )
        newer = json_of(other.put("/v1/workspace", headers=headers), 201)
        assert json_of(one.get("/v1/workspace", headers=headers)) == newer
    assert paths_naming(pair.data_dir, [UUID(workspace_id), UUID(new["workspace_id"])]) == []


def call(
    method: str, path: str, headers: dict[str, str], body: bytes | None = None, *, after: float = 0
) -> Request:
    """The request, sent `after` seconds once the race starts."""

    def send(http: httpx.Client) -> httpx.Response:
        time.sleep(after)
        return http.request(method, path, headers=headers, content=body)

    return send


def sending(headers: dict[str, str], chat_id: str, name: str, *, after: float = 0) -> Request:
    def send(http: httpx.Client) -> httpx.Response:
        time.sleep(after)
        return upload(http, headers, chat_id, [(name, name.encode() * 3000, None)])

    return send


def erase_while_writing(
    pair: Pair, eraser: RunningServer, writer: RunningServer, lag: float
) -> None:
    """A new user's workspace erased through `eraser` while `writer` (and `eraser` too)
    uploads, appends, PUTs, creates chats and deletes a chat in it, half of those sent
    `lag` seconds after the erasure: each write answers 2xx or 404, the erasure 204, and
    nothing of the workspace is left, whatever landed before it."""
    with client(eraser) as http:
        headers, workspace_id, first = new_user_with_chat(http)
        chat_ids = [first, *(new_chat(http, headers) for _ in range(CHATS - 1))]
    history = [f"/v1/chats/{chat_id}/history" for chat_id in chat_ids]
    sent: list[tuple[RunningServer, Request]] = [
        (eraser, call("DELETE", "/v1/workspace", headers)),
        (writer, sending(headers, chat_ids[0], "a.bin")),
        (eraser, sending(headers, chat_ids[0], "b.bin", after=lag)),
        (writer, call("POST", history[1], headers, b"**user**: hi\n")),
        (eraser, call("POST", history[1], headers, b"**bot**: hello\n", after=lag)),
        (writer, call("PUT", history[2], headers, b"# new\n", after=lag)),
        (writer, call("POST", "/v1/chats", headers)),
        (eraser, call("POST", "/v1/chats", headers, after=lag)),
        (writer, call("DELETE", f"/v1/chats/{chat_ids[1]}", headers, after=lag)),
    ]

    erased, *answers = race(sent)

    assert erased.status_code == 204, erased.text
    for answer in answers:
        assert answer.status_code in {200, 201, 204, 404}, answer.text
        if answer.status_code == 404:
            assert answer.json()["code"] in {"workspace_not_found", "chat_not_found"}
    made = [answer.json()["chat_id"] for answer in answers[5:7] if answer.status_code == 201]
    assert_erased(pair, headers, [workspace_id, *chat_ids, *made])


def assert_erased(pair: Pair, headers: dict[str, str], ids: list[str]) -> None:
    """No path or row names any of the ids, and both servers answer the user 404."""
    uuids = [UUID(each) for each in ids]
    assert paths_naming(pair.data_dir, uuids) == []
    assert rows_mentioning(store_rows(pair), uuids) == {}
    for server in pair.servers:
        with client(server) as http:
            assert_problem(http.get("/v1/workspace", headers=headers), 404, "workspace_not_found")


# Seconds the later half of the writes lag behind the erasure, one round each: the erasure
# lands before them all, among them, or after them all.
LAGS = [0.0, 0.005, 0.01, 0.02, 0.04, 0.08]


def test_an_erasure_racing_writes_through_the_other_server_leaves_nothing(pair: Pair) -> None:
    for round_, lag in enumerate(LAGS):
        erase_while_writing(pair, pair.alternate(round_), pair.alternate(round_ + 1), lag)
    assert_no_leftovers(pair.data_dir)
    assert list((pair.data_dir / "erasures").iterdir()) == []


def test_an_erasure_racing_a_session_start_through_the_other_server_is_refused_or_wins(
    pair: Pair,
) -> None:
    for round_, lag in enumerate(LAGS):
        eraser, starter = pair.alternate(round_), pair.alternate(round_ + 1)
        with client(eraser) as http:
            headers, workspace_id, chat_id = new_user_with_chat(http)
        url = f"/v1/chats/{chat_id}/sandbox-sessions"

        erased, started = race(
            [
                (eraser, call("DELETE", "/v1/workspace", headers, after=lag)),
                (starter, call("POST", url, headers)),
            ]
        )

        if started.status_code == 201:  # the session came first: the erasure is refused
            assert_problem(erased, 409, "chat_has_active_sandbox")
            with client(starter) as http:
                ended = http.delete(f"{url}/{started.json()['session_id']}", headers=headers)
                assert ended.status_code == 204
                erased = http.delete("/v1/workspace", headers=headers)
        else:
            assert_problem(started, 404, "workspace_not_found")
        assert erased.status_code == 204, erased.text
        assert_erased(pair, headers, [workspace_id, chat_id])
