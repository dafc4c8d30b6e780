"""Two instances on two mounts of one JuiceFS volume, and a sandbox host on a third mount.

Each instance's data directory is the same directory of the volume as its own mount (its
own host) sees it, both on one PostgreSQL store (docs/deployment.md). What one instance
wrote must be read whole through the other at once, with no sleep or retry between: that
is the close-to-open consistency the mount options give (no kernel cache of attributes or
entries, ADR 0031). With the default one-second attribute cache, the reader's stat of the
history would still give the old size and mtime, so its ETag (a stat key's digest) or its
bytes would be the old ones.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from test.disk import regular_bytes_under
from test.e2e.client import (
    assert_no_leftovers,
    chats_dir,
    client,
    json_of,
    new_user_with_chat,
    sha256,
    upload,
)
from test.e2e.placement import juicefs_data_dirs
from test.e2e.test_two_processes import Pair, two_servers

pytestmark = pytest.mark.e2e

# Past JuiceFS's 4 MiB block, so a body spans two blocks of the data store.
LARGE_BYTES = 5 * 1024 * 1024 + 17
ROUNDS = 4


@dataclass(frozen=True)
class Hosts:
    pair: Pair
    sandbox_data_dir: Path  # the instances' data directory, as the sandbox host mounts it


@pytest.fixture(scope="module")
def hosts(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Hosts]:
    scratch = tmp_path_factory.mktemp("juicefs-hosts")
    with two_servers("juicefs", request, scratch) as pair:
        sandbox_data_dir = juicefs_data_dirs(request, scratch)[2]
        assert sandbox_data_dir != pair.data_dir
        yield Hosts(pair, sandbox_data_dir)


@pytest.fixture
def both(hosts: Hosts) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    first, second = hosts.pair.servers
    with client(first) as a, client(second) as b:
        yield a, b


def _history(http: httpx.Client, headers: dict[str, str], chat_id: str) -> httpx.Response:
    read = http.get(f"/v1/chats/{chat_id}/history", headers=headers)
    assert read.status_code == 200, read.text
    return read


def _assert_history_read_whole(
    reader: httpx.Client,
    headers: dict[str, str],
    chat_id: str,
    written: httpx.Response,
    expected: bytes,
) -> None:
    """The write was answered 204, and `reader`'s first read is `expected` with its ETag."""
    assert written.status_code == 204, written.text
    read = _history(reader, headers, chat_id)
    assert read.content == expected
    assert read.headers["etag"] == written.headers["etag"] == f'"{sha256(expected)}"'


def test_a_history_put_through_one_instance_is_read_whole_through_the_other_at_once(
    both: tuple[httpx.Client, httpx.Client],
) -> None:
    headers, _, chat_id = new_user_with_chat(both[0])
    for round_ in range(ROUNDS):
        writer, reader = both[round_ % 2], both[1 - round_ % 2]
        # Sizes that differ every round, small and past a block, so a stale size shows.
        size = LARGE_BYTES + round_ if round_ % 2 else 4096 + round_
        body = (f"# round {round_}\n".encode() * size)[:size]
        put = writer.put(f"/v1/chats/{chat_id}/history", headers=headers, content=body)

        _assert_history_read_whole(reader, headers, chat_id, put, body)


def test_appends_through_each_instance_in_turn_are_read_whole_through_the_other_at_once(
    both: tuple[httpx.Client, httpx.Client],
) -> None:
    headers, _, chat_id = new_user_with_chat(both[0])
    expected = b""
    for round_ in range(2 * ROUNDS):
        writer, reader = both[round_ % 2], both[1 - round_ % 2]
        turn = f"**turn {round_}**: {'words ' * (round_ * 40)}\n".encode()
        appended = writer.post(f"/v1/chats/{chat_id}/history", headers=headers, content=turn)
        expected += turn

        _assert_history_read_whole(reader, headers, chat_id, appended, expected)


def test_an_upload_through_one_instance_is_read_whole_through_the_other_at_once(
    both: tuple[httpx.Client, httpx.Client],
) -> None:
    headers, _, chat_id = new_user_with_chat(both[0])
    for round_ in range(ROUNDS):
        writer, reader = both[round_ % 2], both[1 - round_ % 2]
        # One name replaced every round, through each instance in turn.
        size = LARGE_BYTES - round_ if round_ % 2 else 1000 + round_
        body = bytes([round_]) * size
        (sent,) = json_of(upload(writer, headers, chat_id, [("data.bin", body, None)]), 201)[
            "items"
        ]
        url = f"/v1/chats/{chat_id}/files/{sent['file_id']}"

        record = json_of(reader.get(url, headers=headers))
        content = reader.get(f"{url}/content", headers=headers)

        assert (record["size_bytes"], record["sha256"]) == (len(body), sha256(body))
        assert record == sent
        assert content.status_code == 200
        assert content.content == body
        assert content.headers["content-length"] == str(len(body))
        assert content.headers["etag"] == f'"{sha256(body)}"'


@pytest.mark.parametrize(
    ("how", "instance"),
    [
        pytest.param("rescan", 0, id="rescan-through-the-first"),
        pytest.param("session end", 1, id="session-end-through-the-second"),
    ],
)
def test_a_sandbox_writing_on_a_third_mount_is_seen_by_a_rescan_on_either_instance(
    hosts: Hosts, both: tuple[httpx.Client, httpx.Client], how: str, instance: int
) -> None:
    headers, workspace_id, chat_id = new_user_with_chat(both[0])
    before = b"# before the sandbox\n"
    put = both[1].put(f"/v1/chats/{chat_id}/history", headers=headers, content=before)
    assert put.status_code == 204
    sessions = f"/v1/chats/{chat_id}/sandbox-sessions"
    session = json_of(both[1 - instance].post(sessions, headers=headers), 201)
    # The sandbox host's plain file I/O in the chat's directory, on its own mount.
    sandbox_chat = chats_dir(hosts.sandbox_data_dir, workspace_id) / chat_id
    assert (sandbox_chat / "history.md").read_bytes() == before
    history = before + b"**sandbox**: ran the notebook\n" * 50
    (sandbox_chat / "history.md").write_bytes(history)
    written = b"result,1\n" * 3000
    (sandbox_chat / "result.csv").write_bytes(written)
    rescanner = both[instance]

    if how == "rescan":
        rescanned = json_of(rescanner.post(f"/v1/chats/{chat_id}/files/rescan", headers=headers))
        items = rescanned["items"]
    else:
        ended = rescanner.delete(f"{sessions}/{session['session_id']}", headers=headers)
        assert ended.status_code == 204, ended.text
        items = json_of(rescanner.get(f"/v1/chats/{chat_id}/files", headers=headers))["items"]

    (record,) = items
    assert (record["name"], record["size_bytes"], record["sha256"]) == (
        "result.csv",
        len(written),
        sha256(written),
    )
    for http in both:
        read = _history(http, headers, chat_id)
        assert read.content == history
        assert read.headers["etag"] == f'"{sha256(history)}"'
        url = f"/v1/chats/{chat_id}/files/{record['file_id']}/content"
        assert http.get(url, headers=headers).content == written
        revisions = json_of(http.get(f"/v1/chats/{chat_id}/history/revisions", headers=headers))
        assert revisions["items"][0]["source"] == "sandbox"
        assert revisions["items"][0]["etag"] == read.headers["etag"]
        usage = json_of(http.get("/v1/workspace/usage", headers=headers))
        assert usage["used_bytes"] == len(history) + len(written)
    on_disk = regular_bytes_under(chats_dir(hosts.sandbox_data_dir, workspace_id) / chat_id)
    assert on_disk == len(history) + len(written)
    if how == "rescan":
        ended = both[0].delete(f"{sessions}/{session['session_id']}", headers=headers)
        assert ended.status_code == 204
    assert_no_leftovers(hosts.pair.data_dir)
