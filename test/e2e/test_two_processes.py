"""Two server processes on ONE data directory and ONE metadata store, raced against each other.

Every race sends its requests at once (one thread and connection each, lined up at a barrier)
and alternates them between the two servers, so each process serves half of them; the two
servers also start together, so a fresh store's schema is migrated by both at once. Each
test says how it would fail if the metadata store or the per-chat lock held only within one
process. A race is not bound to interleave in any one run: where a missing guard leaves only
a narrow window (one store transaction), the race runs on many chats or workspaces at once,
each one more chance. With the flock swapped for the in-process lock, or additionally the
store's own locks dropped, the tests meant to catch that failed in every one of six runs; a
sound guard holds in every interleaving, so on a correct service these tests never fail.
"""

import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from test.disk import regular_bytes_under, staged_files
from test.e2e import fork_races, revision_races
from test.e2e.client import (
    REQUEST_TIMEOUT_SECONDS,
    Request,
    assert_no_leftovers,
    assert_problem,
    chats_dir,
    client,
    json_of,
    multipart,
    new_chat,
    new_user,
    new_user_with_chat,
    race,
    sha256,
    upload,
    user_headers,
)
from test.e2e.placement import juicefs_data_dirs
from test.e2e.server import RunningServer, running_server, running_servers_on
from test.postgres_server import PostgresServer

pytestmark = pytest.mark.e2e

# Where the two servers keep their state: one data directory on the local disk with the
# metadata in one SQLite file or one PostgreSQL database, or (juicefs) the metadata in
# PostgreSQL and each server's data directory on its own mount of one JuiceFS volume (the
# same directory inside it), as two hosts would run them (docs/deployment.md).
BACKENDS = ["sqlite", "postgres", "juicefs"]
QUOTA_BYTES = 100_000
QUOTA_FILE_BYTES = 30_000
QUOTA_WORKSPACES = 8
QUOTA_UPLOADS_PER_WORKSPACE = 8
SANDBOX_CHATS = 8
SANDBOX_ROUNDS = 5
SANDBOX_STARTS_PER_CHAT = 2
HISTORY_CHATS = 16
HISTORY_WRITERS_PER_CHAT = 3
REVISIONS_KEPT = 50  # the servers' default


@dataclass(frozen=True)
class Pair:
    servers: list[RunningServer]
    data_dir: Path  # the first server's; on JuiceFS the second sees it on its own mount
    metadata_url: str  # the one store both use

    def alternate(self, index: int) -> RunningServer:
        """The server the index-th request of a race goes to: every other one."""
        return self.servers[index % len(self.servers)]


@contextmanager
def two_servers(
    backend: str, request: pytest.FixtureRequest, scratch: Path, **settings: str
) -> Iterator[Pair]:
    """Two servers on `scratch/data` sharing one metadata store: an explicit SQLite file
    outside the data directory (an absolute path, so `sqlite:////...`), or one fresh
    PostgreSQL database; on `juicefs`, a fresh PostgreSQL database and a data directory
    named after `scratch` on the JuiceFS volume, each server on its own mount of it."""
    data_dirs = [scratch / "data"] * 2
    if backend == "sqlite":
        store = scratch.resolve() / "store" / "metadata.db"
        url = f"sqlite:///{store}"
        assert url.startswith("sqlite:////")
    else:
        postgres: PostgresServer = request.getfixturevalue("postgres_server")
        url = postgres.create_database()
    if backend == "juicefs":
        data_dirs = juicefs_data_dirs(request, scratch)[:2]
    data_dir = data_dirs[0]
    with running_servers_on(data_dirs, metadata_url=url, **settings) as servers:
        if backend == "sqlite":
            # Both use the URL's file, not the default one in the data directory.
            assert store.is_file()
            assert not (data_dir / "metadata.db").exists()
        yield Pair(servers, data_dir, url)


@pytest.fixture(scope="module", params=BACKENDS)
def pair(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pair]:
    """One pair of servers per backend for the module; each test works as a new user."""
    with two_servers(request.param, request, tmp_path_factory.mktemp("two-processes")) as started:
        yield started


def _user_with_chat(pair: Pair) -> tuple[dict[str, str], str, str]:
    """A new user's headers, workspace id and one chat of theirs."""
    with client(pair.servers[0]) as http:
        return new_user_with_chat(http)


def assert_disk_holds(data_dir: Path, workspace_id: str, expected_bytes: int) -> None:
    """The workspace's chats hold `expected_bytes` in regular files, and no process left
    anything in staging or trash."""
    assert regular_bytes_under(chats_dir(data_dir, workspace_id)) == expected_bytes
    assert_no_leftovers(data_dir)


def _used_bytes(server: RunningServer, headers: dict[str, str]) -> int:
    with client(server) as http:
        used: int = json_of(http.get("/v1/workspace/usage", headers=headers))["used_bytes"]
        return used


def test_racing_workspace_creation_from_both_servers_makes_one_workspace(pair: Pair) -> None:
    # Fails if creating a workspace is check-then-insert without a store-wide guard (the
    # unique user index / the lock in add_if_absent), or if each process had its own store:
    # two processes would both find no workspace and both create one, so the answers would
    # name two workspace ids, and more than one would be 201.
    headers = user_headers()

    def ensure(http: httpx.Client) -> httpx.Response:
        return http.put("/v1/workspace", headers=headers)

    answers = race([(pair.alternate(index), ensure) for index in range(20)])

    assert sorted(answer.status_code for answer in answers) == [200] * 19 + [201]
    workspaces = [answer.json() for answer in answers]
    assert all(workspace == workspaces[0] for workspace in workspaces)
    for server in pair.servers:
        with client(server) as http:
            assert json_of(http.get("/v1/workspace", headers=headers)) == workspaces[0]


def test_racing_uploads_of_one_name_from_both_servers_keep_one_consistent_file(
    pair: Pair,
) -> None:
    # The chat's lock must span processes: under it, an upload reads the record it replaces
    # (to count the usage delta), renames its bytes into place and saves its record. If the
    # lock held only within one process, two commits could interleave: one's record saved
    # over the other's bytes (the listed sha256/size would not match the downloaded bytes,
    # or not be the answer of the request that sent them), two records of one name listed,
    # or both counting the replaced file as absent (usage above what the chat holds).
    headers, workspace_id, chat_id = _user_with_chat(pair)
    # Different sizes, so that a usage figure counting the wrong file shows.
    bodies = [os.urandom(200_000 + 1_000 * index) for index in range(10)]

    def uploading(body: bytes) -> Request:
        return lambda http: upload(
            http, headers, chat_id, [("same.bin", body, "application/octet-stream")]
        )

    answers = race([(pair.alternate(index), uploading(body)) for index, body in enumerate(bodies)])

    assert [answer.status_code for answer in answers] == [201] * len(bodies), [
        answer.text for answer in answers
    ]
    sent = [answer.json()["items"][0] for answer in answers]
    for item, body in zip(sent, bodies, strict=True):
        assert (item["name"], item["size_bytes"], item["sha256"]) == (
            "same.bin",
            len(body),
            sha256(body),
        )
    for server in pair.servers:
        with client(server) as http:
            page = json_of(http.get(f"/v1/chats/{chat_id}/files", headers=headers))
            (record,) = page["items"]
            url = f"/v1/chats/{chat_id}/files/{record['file_id']}"
            content = http.get(f"{url}/content", headers=headers)
            assert content.status_code == 200
            assert content.content in bodies
            assert (record["size_bytes"], record["sha256"]) == (
                len(content.content),
                sha256(content.content),
            )
            # The record is the one its bytes' own upload answered with; every other
            # upload's file_id was replaced and answers 404.
            assert record == sent[bodies.index(content.content)]
            for item in sent:
                if item["file_id"] != record["file_id"]:
                    gone = http.get(f"/v1/chats/{chat_id}/files/{item['file_id']}", headers=headers)
                    assert_problem(gone, 404, "chat_file_not_found")
        # The history is empty: the chat holds exactly the one file.
        assert _used_bytes(server, headers) == record["size_bytes"]
    assert_disk_holds(pair.data_dir, workspace_id, record["size_bytes"])


def test_racing_sandbox_starts_from_both_servers_leave_one_active_session(pair: Pair) -> None:
    # Fails if "no session active, so add one" is not atomic across processes: two
    # processes would both see no active session and both insert one, so a chat would get
    # more than one 201, and after ending the winner another session would still be active.
    # Two guards stand in the way (the chat's flock, and the store's own per-chat lock in
    # sessions.add); breaking one alone must not break this. The window when both are
    # broken is the store's check-then-insert, a millisecond or so, so the race runs on
    # several chats at once, and again on the same chats once their sessions have ended.
    headers, _, first_chat = _user_with_chat(pair)
    with client(pair.servers[1]) as http:
        chat_ids = [first_chat] + [new_chat(http, headers) for _ in range(SANDBOX_CHATS - 1)]
    racers = [chat_id for chat_id in chat_ids for _ in range(SANDBOX_STARTS_PER_CHAT)]

    def starting(chat_id: str) -> Request:
        url = f"/v1/chats/{chat_id}/sandbox-sessions"
        return lambda http: http.post(url, headers=headers, json={"ttl_seconds": 600})

    for _ in range(SANDBOX_ROUNDS):
        answers = race(
            [(pair.alternate(index), starting(chat_id)) for index, chat_id in enumerate(racers)]
        )

        with client(pair.servers[0]) as first, client(pair.servers[1]) as second:
            for chat_id in chat_ids:
                tried = [
                    answer
                    for racer, answer in zip(racers, answers, strict=True)
                    if racer == chat_id
                ]
                started = [answer for answer in tried if answer.status_code == 201]
                assert len(started) == 1, [answer.status_code for answer in tried]
                for answer in tried:
                    if answer.status_code != 201:
                        assert_problem(answer, 409, "sandbox_already_active")
                winner = started[0].json()
                sessions = f"/v1/chats/{chat_id}/sandbox-sessions"
                for http in (first, second):
                    assert json_of(http.get(f"{sessions}/active", headers=headers)) == winner
                ended = second.delete(f"{sessions}/{winner['session_id']}", headers=headers)
                assert ended.status_code == 204
                none_left = first.get(f"{sessions}/active", headers=headers)
                assert_problem(none_left, 404, "sandbox_session_not_found")


@pytest.mark.parametrize("backend", BACKENDS)
def test_racing_uploads_from_both_servers_never_pass_the_workspace_quota(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    # Each workspace's uploads go to three of its chats, so the per-chat lock does not order
    # them: only the store's atomic check-and-add on the workspace's usage does. If that
    # check and the add could interleave across processes, two uploads would each see room
    # for one more file and both be accepted: more than three files, over the quota, and
    # usage above it. The window is one store transaction wide and a workspace crosses its
    # quota once, so the race runs for several workspaces at once, several chances.
    #
    # Exactly three are accepted per workspace, whatever the interleaving: an upload is
    # refused only when its workspace already holds more than quota - 30_000 bytes, i.e.
    # three files.
    with two_servers(
        backend, request, tmp_path, workspace_quota_bytes=str(QUOTA_BYTES)
    ) as quota_pair:
        users = []
        for _ in range(QUOTA_WORKSPACES):
            headers, workspace_id, first_chat = _user_with_chat(quota_pair)
            with client(quota_pair.servers[1]) as http:
                chat_ids = [first_chat, new_chat(http, headers), new_chat(http, headers)]
            users.append((headers, workspace_id, chat_ids))
        racers = [
            (user, chat_ids[index % len(chat_ids)], f"part-{index:02d}.bin")
            for user, (_, _, chat_ids) in enumerate(users)
            for index in range(QUOTA_UPLOADS_PER_WORKSPACE)
        ]

        def uploading(user: int, chat_id: str, name: str) -> Request:
            headers = users[user][0]
            body = os.urandom(QUOTA_FILE_BYTES)
            return lambda http: upload(http, headers, chat_id, [(name, body, None)])

        answers = race(
            [(quota_pair.alternate(index), uploading(*racer)) for index, racer in enumerate(racers)]
        )

        for answer in answers:
            if answer.status_code != 201:
                assert_problem(answer, 507, "workspace_quota_exceeded")
        with client(quota_pair.servers[0]) as first, client(quota_pair.servers[1]) as second:
            for user, (headers, workspace_id, chat_ids) in enumerate(users):
                accepted = [
                    name
                    for (racer, _, name), answer in zip(racers, answers, strict=True)
                    if racer == user and answer.status_code == 201
                ]
                assert len(accepted) == QUOTA_BYTES // QUOTA_FILE_BYTES, sorted(accepted)
                used = len(accepted) * QUOTA_FILE_BYTES
                assert used <= QUOTA_BYTES
                for http in (first, second):
                    usage = json_of(http.get("/v1/workspace/usage", headers=headers))
                    assert (usage["used_bytes"], usage["quota_bytes"]) == (used, QUOTA_BYTES)
                listed = [
                    item
                    for chat_id in chat_ids
                    for item in json_of(first.get(f"/v1/chats/{chat_id}/files", headers=headers))[
                        "items"
                    ]
                ]
                assert sorted(item["name"] for item in listed) == sorted(accepted)
                assert sum(item["size_bytes"] for item in listed) == used
                assert regular_bytes_under(chats_dir(quota_pair.data_dir, workspace_id)) == used
        assert_no_leftovers(quota_pair.data_dir)


def test_racing_history_writes_with_one_if_match_from_both_servers_let_one_win(
    pair: Pair,
) -> None:
    # The If-Match check and the write it guards must happen under one lock that both
    # processes respect. If they did not, writers in both processes would each find the
    # history still at the ETag they hold and each replace it: more than one 204 on a chat,
    # and the history left as one of them while another was told it won. Within a process
    # the writers queue anyway, so only each process's first writer can slip through; the
    # race runs on several chats at once to give that several chances.
    headers, workspace_id, first_chat = _user_with_chat(pair)
    with client(pair.servers[1]) as http:
        chat_ids = [first_chat] + [new_chat(http, headers) for _ in range(HISTORY_CHATS - 1)]
    with client(pair.servers[0]) as http:
        for chat_id in chat_ids:
            draft = http.put(f"/v1/chats/{chat_id}/history", headers=headers, content=b"# draft\n")
            assert draft.status_code == 204
    etag = draft.headers["etag"]  # the ETag names the content, so every chat's is this one
    racers = [
        (chat_id, f"# draft\n\nrevision {writer} of {chat_id}\n".encode() * (writer + 1))
        for chat_id in chat_ids
        for writer in range(HISTORY_WRITERS_PER_CHAT)
    ]

    def writing(chat_id: str, body: bytes) -> Request:
        url = f"/v1/chats/{chat_id}/history"
        return lambda http: http.put(url, headers={**headers, "If-Match": etag}, content=body)

    answers = race([(pair.alternate(index), writing(*racer)) for index, racer in enumerate(racers)])

    with client(pair.servers[0]) as first, client(pair.servers[1]) as second:
        stored_bytes = 0
        for chat_id in chat_ids:
            tried = [
                (body, answer)
                for (racer, body), answer in zip(racers, answers, strict=True)
                if racer == chat_id
            ]
            won = [(body, answer) for body, answer in tried if answer.status_code == 204]
            assert len(won) == 1, [answer.status_code for _, answer in tried]
            ((body, answer),) = won
            for _, lost in tried:
                if lost.status_code != 204:
                    assert_problem(lost, 412, "precondition_failed")
            for http in (first, second):
                stored = http.get(f"/v1/chats/{chat_id}/history", headers=headers)
                assert stored.status_code == 200
                assert stored.content == body
                assert stored.headers["etag"] == answer.headers["etag"]
            stored_bytes += len(body)
    for server in pair.servers:
        assert _used_bytes(server, headers) == stored_bytes
    assert_disk_holds(pair.data_dir, workspace_id, stored_bytes)


def test_racing_appends_from_both_servers_all_land_whole(pair: Pair) -> None:
    # Each process batches the appends it receives under the chat's lock; the two batches
    # must take turns on that lock across processes and each start from the history the
    # other left. If they did not, an append in one process would copy its bytes at the
    # offset where the other's went (one lost, or two interleaved), or name a version the
    # other had changed.
    headers, workspace_id, first_chat = _user_with_chat(pair)
    with client(pair.servers[1]) as http:
        chat_ids = [first_chat] + [new_chat(http, headers) for _ in range(HISTORY_CHATS - 1)]
    racers = [
        (chat_id, f"append {writer} to {chat_id}\n".encode() * (writer + 1))
        for chat_id in chat_ids
        for writer in range(2 * HISTORY_WRITERS_PER_CHAT)
    ]

    def appending(chat_id: str, body: bytes) -> Request:
        return lambda http: http.post(f"/v1/chats/{chat_id}/history", headers=headers, content=body)

    answers = race(
        [(pair.alternate(index), appending(*racer)) for index, racer in enumerate(racers)]
    )

    assert [answer.status_code for answer in answers] == [204] * len(racers)
    with client(pair.servers[0]) as first, client(pair.servers[1]) as second:
        stored_bytes = 0
        for chat_id in chat_ids:
            sent = [body for racer, body in racers if racer == chat_id]
            stored = [
                http.get(f"/v1/chats/{chat_id}/history", headers=headers)
                for http in (first, second)
            ]
            assert stored[0].content == stored[1].content
            assert stored[0].headers["etag"] == stored[1].headers["etag"]
            assert stored[0].headers["etag"] == f'"{sha256(stored[0].content)}"'
            content = stored[0].content
            found = sorted(body for body in sent if body in content)
            assert found == sorted(sent)
            assert len(content) == sum(len(body) for body in sent)  # none twice, none cut
            stored_bytes += len(content)
    for server in pair.servers:
        assert _used_bytes(server, headers) == stored_bytes
    assert_disk_holds(pair.data_dir, workspace_id, stored_bytes)


def test_racing_patches_of_different_keys_from_both_servers_all_land(pair: Pair) -> None:
    # A merge patch reads the chat and saves it whole under the chat's lock. If the lock
    # held only within one process, two patches read the same metadata and the second save
    # would drop the first one's key; appends racing them move updated_at in their own
    # units and must not drop a key either.
    headers, _, chat_id = _user_with_chat(pair)
    keys = [f"key-{index}" for index in range(12)]

    def patching(key: str) -> Request:
        return lambda http: http.patch(
            f"/v1/chats/{chat_id}",
            headers={**headers, "content-type": "application/merge-patch+json"},
            content=f'{{"metadata": {{"{key}": "{key}"}}}}'.encode(),
        )

    def appending(number: int) -> Request:
        body = f"turn {number}\n".encode()
        return lambda http: http.post(f"/v1/chats/{chat_id}/history", headers=headers, content=body)

    requests = [patching(key) for key in keys] + [appending(number) for number in range(6)]
    answers = race([(pair.alternate(index), request) for index, request in enumerate(requests)])

    assert [answer.status_code for answer in answers] == [200] * len(keys) + [204] * 6
    with client(pair.servers[1]) as http:
        chat = json_of(http.get(f"/v1/chats/{chat_id}", headers=headers))
        recent = json_of(http.get("/v1/chats", headers=headers, params={"order": "-updated"}))
    assert chat["metadata"] == {key: key for key in keys}
    patched_at = [datetime.fromisoformat(answer.json()["updated_at"]) for answer in answers[:12]]
    assert datetime.fromisoformat(chat["updated_at"]) >= max(patched_at)
    assert [item["chat_id"] for item in recent["items"]] == [chat_id]


def test_appends_and_restores_from_both_servers_end_as_one_serial_order(pair: Pair) -> None:
    # Lanes of appends and one of restores, alternating between the servers. The restore
    # reads the revisions, copies a kept run and records its revision before its bytes,
    # all under the chat's lock; if that lock or the store's view held only within one
    # process, an append in the other would number its revision like the restore's, land
    # its bytes on the history the restore then replaced (lost, though acknowledged), or
    # leave a run the restore kept counted wrongly: the serial-order check fails on the
    # ETags, the numbers or revision_bytes against the disk.
    revision_races.race_appends_with_restores(pair.servers, pair.data_dir, REVISIONS_KEPT)


def test_appends_and_prunes_from_both_servers_end_as_one_serial_order(pair: Pair) -> None:
    # A prune forgets every revision but the current one and frees their runs; if it could
    # read the revisions while an append in the other process was recording its own, it
    # would forget that append's revision (a gap in the listing) or keep the usage of a
    # run it dropped (revision_bytes above the disk).
    revision_races.race_appends_with_prune(pair.servers, pair.data_dir, REVISIONS_KEPT)


def test_appends_and_puts_from_both_servers_end_as_one_serial_order(pair: Pair) -> None:
    # Each PUT keeps the run it replaces by a link before its rename; an append in the
    # other process copying onto the history at the same time would land in the kept run
    # instead of the new history (its bytes lost from the history, though acknowledged).
    revision_races.race_appends_with_puts(pair.servers, pair.data_dir, REVISIONS_KEPT)


def test_appends_and_the_chats_delete_from_both_servers_leave_nothing_of_it(pair: Pair) -> None:
    # An append that waited for the lock while the other process deleted the chat must find
    # it gone (404): one that went on would bring back its directory, its revisions'
    # directory or its records and usage.
    revision_races.race_appends_with_delete(pair.servers, pair.data_dir)


def test_forks_through_one_server_while_the_other_appends_and_deletes_the_source(
    pair: Pair,
) -> None:
    # Every fork goes through the first server, every append and the delete through the
    # second. A fork copies the source under its lock; if that lock held only within one
    # process, a fork could copy a history an append in the other was landing on (a
    # history with part of an append: no revision's content), or copy from a source the
    # other was deleting under it (an answer other than 201 or 404 chat_not_found, or a
    # fork missing attachments). A fork that found the source gone must leave no
    # directory, usage or staging file.
    race = fork_races.race_forks_with_appends(pair.servers, delete=True)
    fork_races.assert_source_gone(pair.servers, pair.data_dir, race)
    fork_races.assert_forks_whole(pair.servers, pair.data_dir, race)
    fork_races.assert_forks_independent(pair.servers[1], pair.data_dir, race)


def test_a_chat_deleted_through_one_server_during_an_upload_through_the_other_stays_gone(
    pair: Pair,
) -> None:
    # The serial order is the delete, then the upload, which finds no chat: 404 and no
    # bytes. Fails if the upload committed into a chat another process deleted meanwhile
    # (a commit that does not re-check the chat under the cross-process lock): its bytes
    # would come back as a directory, usage and records of a chat that no longer exists.
    headers, workspace_id, chat_id = _user_with_chat(pair)
    body = multipart([("late.bin", os.urandom(2 * 1024 * 1024), None)])

    with client(pair.servers[0]) as uploader, client(pair.servers[1]) as deleter:
        with upload_paused_half_way(uploader, headers, chat_id, body) as paused:
            assert deleter.delete(f"/v1/chats/{chat_id}", headers=headers).status_code == 204
            answer = paused.finish()

        assert_problem(answer, 404, "chat_not_found")
        for http in (uploader, deleter):
            gone = http.get(f"/v1/chats/{chat_id}/files", headers=headers)
            assert gone.status_code == 404
    assert not (chats_dir(pair.data_dir, workspace_id) / chat_id).exists()
    assert _used_bytes(pair.servers[0], headers) == 0
    assert staged_files(pair.data_dir) == []


def test_a_server_starting_on_the_data_dir_spares_another_servers_upload_in_flight(
    tmp_path: Path,
) -> None:
    # A server clears what a previous run left in staging when it starts. If it cleared
    # files that another live process is still writing (one shared staging directory
    # emptied at start-up), the first server's upload would lose its staged bytes and fail
    # (503) or commit nothing. The store plays no part here: the default SQLite file.
    data_dir = tmp_path / "data"
    content = os.urandom(3 * 1024 * 1024)
    body = multipart([("in-flight.bin", content, None)])

    with running_server(data_dir) as first, client(first) as http:
        headers = new_user(http)
        chat_id = new_chat(http, headers)
        with upload_paused_half_way(http, headers, chat_id, body) as paused:
            _wait_for(lambda: bool(staged_files(data_dir)), "the upload to be staged")
            with running_server(data_dir) as second:
                answer = paused.finish()
                (stored,) = json_of(answer, 201)["items"]
                assert (stored["size_bytes"], stored["sha256"]) == (len(content), sha256(content))
                with client(second) as other:
                    url = f"/v1/chats/{chat_id}/files/{stored['file_id']}/content"
                    assert other.get(url, headers=headers).content == content
        assert_no_leftovers(data_dir)


@dataclass(frozen=True)
class PausedUpload:
    resume: threading.Event
    sending: Future[httpx.Response]

    def finish(self) -> httpx.Response:
        """Send the rest, and the answer."""
        self.resume.set()
        return self.sending.result(timeout=2 * REQUEST_TIMEOUT_SECONDS)


@contextmanager
def upload_paused_half_way(
    http: httpx.Client, headers: dict[str, str], chat_id: str, body: tuple[bytes, str]
) -> Iterator[PausedUpload]:
    """Send the upload of `body` (a multipart body and its Content-Type) from a thread: in
    the block, half of it has been sent and the rest waits for `finish()` or the block's
    end."""
    content, content_type = body
    half_sent, resume = threading.Event(), threading.Event()
    with ThreadPoolExecutor(max_workers=1) as pool:
        sending = pool.submit(
            http.post,
            f"/v1/chats/{chat_id}/files",
            headers={**headers, "Content-Type": content_type},
            content=_paused_half_way(content, half_sent, resume),
        )
        try:
            assert half_sent.wait(timeout=REQUEST_TIMEOUT_SECONDS)
            yield PausedUpload(resume, sending)
        finally:
            resume.set()


def _paused_half_way(
    body: bytes, half_sent: threading.Event, resume: threading.Event
) -> Iterator[bytes]:
    """`body` in two halves: after the first, set `half_sent` and wait for `resume`."""
    yield body[: len(body) // 2]
    half_sent.set()
    if not resume.wait(timeout=REQUEST_TIMEOUT_SECONDS):
        raise TimeoutError("the upload was never resumed")
    yield body[len(body) // 2 :]


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + REQUEST_TIMEOUT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.01)
