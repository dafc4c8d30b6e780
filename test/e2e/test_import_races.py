"""Imports raced with each other and with uploads in one workspace, on one real server and
on two sharing a data directory and a store: together they never pass the quota, and
exactly the ones a serial order admits land (api.md: "Concurrent ... must not pass the
quota together"). Each import that lands is whole, each refused one leaves nothing, and
the usage ends equal to the disk."""

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from test.archives import ChatSpec, FileSpec, export_archive
from test.e2e.client import (
    assert_no_leftovers,
    assert_problem,
    assert_records_bytes_and_usage_agree,
    client,
    json_of,
    new_chat,
    new_user,
    race,
    upload,
)
from test.e2e.forks import chat_ids
from test.e2e.placement import JUICEFS, place
from test.e2e.server import RunningServer, running_server, running_servers, running_servers_on

pytestmark = pytest.mark.e2e

QUOTA_BYTES = 200_000
ROUNDS = 4
# Each of these takes 60% of the quota: any two together pass it.
BIG_IMPORT = [
    ChatSpec(b"# big\n", [FileSpec("a.bin", b"a" * 60_000), FileSpec("b.bin", b"b" * 59_994)])
]
BIG_UPLOAD = [("big.bin", b"u" * 120_000, None)]
# Two of these take 80%: both fit.
SMALL_IMPORT = [ChatSpec(b"# small\n", [FileSpec("s.bin", b"s" * 79_992)])]


def bytes_of(chats: list[ChatSpec]) -> int:
    return sum(len(chat.history) + sum(len(file.content) for file in chat.files) for chat in chats)


@pytest.fixture(
    scope="module",
    params=[1, 2, JUICEFS],
    ids=["one-server", "two-servers", "two-hosts-on-juicefs"],
)
def servers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[RunningServer]]:
    scratch = tmp_path_factory.mktemp("import-races")
    data_dir = scratch / "data"
    if request.param == 1:
        with running_server(data_dir, workspace_quota_bytes=str(QUOTA_BYTES)) as server:
            yield [server]
    elif request.param == 2:
        with running_servers(data_dir, 2, workspace_quota_bytes=str(QUOTA_BYTES)) as both:
            yield both
    else:
        # Each server on its own mount of the JuiceFS volume, both on one PostgreSQL store.
        hosts = place(JUICEFS, request, scratch)
        with running_servers_on(
            [hosts.first, hosts.second], workspace_quota_bytes=str(QUOTA_BYTES), **hosts.settings
        ) as both:
            yield both


def importing(headers: dict[str, str], archive: bytes) -> Callable[[httpx.Client], httpx.Response]:
    return lambda http: http.post("/v1/chats/import", headers=headers, content=archive)


def uploading(headers: dict[str, str], chat_id: str) -> Callable[[httpx.Client], httpx.Response]:
    return lambda http: upload(http, headers, chat_id, BIG_UPLOAD)


def assert_workspace_agrees(
    http: httpx.Client, headers: dict[str, str], data_dir: Path, expected_bytes: int
) -> None:
    workspace_id = json_of(http.get("/v1/workspace", headers=headers))["workspace_id"]
    assert_records_bytes_and_usage_agree(http, headers, data_dir, workspace_id)
    usage = json_of(http.get("/v1/workspace/usage", headers=headers))
    assert usage["used_bytes"] == expected_bytes <= QUOTA_BYTES


def test_two_imports_that_pass_the_quota_together_land_one(servers: list[RunningServer]) -> None:
    archive = export_archive(BIG_IMPORT)
    for _ in range(ROUNDS):
        with client(servers[0]) as http:
            headers = new_user(http)
            answers = race(
                [
                    (servers[0], importing(headers, archive)),
                    (servers[-1], importing(headers, archive)),
                ]
            )
            statuses = sorted(answer.status_code for answer in answers)
            assert statuses == [201, 507], [answer.text for answer in answers]
            for answer in answers:
                if answer.status_code == 507:
                    assert_problem(answer, 507, "workspace_quota_exceeded")
            [landed] = [answer for answer in answers if answer.status_code == 201]
            assert chat_ids(http, headers) == {chat["chat_id"] for chat in landed.json()["items"]}
            assert_workspace_agrees(http, headers, servers[0].data_dir, bytes_of(BIG_IMPORT))
    assert_no_leftovers(servers[0].data_dir)


def test_an_import_and_an_upload_that_pass_the_quota_together_land_one(
    servers: list[RunningServer],
) -> None:
    archive = export_archive(BIG_IMPORT)
    for _ in range(ROUNDS):
        with client(servers[0]) as http:
            headers = new_user(http)
            target = new_chat(http, headers)
            answers = race(
                [
                    (servers[0], importing(headers, archive)),
                    (servers[-1], uploading(headers, target)),
                ]
            )
            statuses = [answer.status_code for answer in answers]
            assert sorted(statuses) == [201, 507], [answer.text for answer in answers]
            imported_landed = statuses[0] == 201
            landed_bytes = bytes_of(BIG_IMPORT) if imported_landed else len(BIG_UPLOAD[0][1])
            expected_chats = 2 if imported_landed else 1
            assert len(chat_ids(http, headers)) == expected_chats
            assert_workspace_agrees(http, headers, servers[0].data_dir, landed_bytes)
    assert_no_leftovers(servers[0].data_dir)


def test_two_imports_that_fit_together_both_land(servers: list[RunningServer]) -> None:
    archive = export_archive(SMALL_IMPORT)
    with client(servers[0]) as http:
        headers = new_user(http)
        answers = race(
            [(servers[0], importing(headers, archive)), (servers[-1], importing(headers, archive))]
        )
        assert [answer.status_code for answer in answers] == [201, 201]
        assert len(chat_ids(http, headers)) == 2
        assert_workspace_agrees(http, headers, servers[0].data_dir, 2 * bytes_of(SMALL_IMPORT))
    assert_no_leftovers(servers[0].data_dir)
