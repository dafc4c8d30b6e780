"""The two exports over HTTP (api.md, v2): their answers and headers, HEAD, refusals, and
archives whose manifest holds exactly what the API answers and whose members are exactly
the bytes the API serves."""

import re
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from domain.errors import StorageUnavailableError
from test.api.conftest import (
    Json,
    UserApi,
    assert_head_problem,
    assert_problem,
    create_chat,
    list_files,
    put_history,
    upload_file,
)
from test.api.fakes import FlakyStorage
from test.disk import descriptors_under
from test.export_archives import Archive

pytestmark = pytest.mark.anyio

ZIP = "application/zip"


def assert_archive_headers(response: httpx.Response, archive_id: str) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == ZIP
    assert response.headers["content-disposition"] == (
        f'attachment; filename="chatstore-{archive_id}.zip"'
    )
    assert "content-length" not in response.headers  # streamed as it is made


async def answered(user: UserApi, url: str) -> Json:
    response = await user.get(url)
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


async def test_chat_export_answers_an_archive_of_what_the_api_serves(
    user: UserApi, workspace: Json, chat_id: str
) -> None:
    await put_history(user, chat_id, b"# Trip\n\n**user**: trains?\n")
    await upload_file(user, chat_id, "timetable.csv", b"IC 1,07:02\n", "text/csv")
    await upload_file(user, chat_id, "Übersicht €.png", b"\x89PNG\r\n", None)

    response = await user.get(f"/v1/chats/{chat_id}/export")

    assert_archive_headers(response, chat_id)
    archive = Archive(response.content)
    archive.assert_agrees()
    manifest = archive.manifest
    assert manifest["format"] == "chatstore-export"
    assert manifest["version"] == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", manifest["exported_at"])
    assert manifest["workspace"] == workspace == await answered(user, "/v1/workspace")
    (entry,) = manifest["chats"]
    assert entry["chat"] == await answered(user, f"/v1/chats/{chat_id}")
    assert entry["files"] == await list_files(user, chat_id)
    history = await user.get(f"/v1/chats/{chat_id}/history")
    assert archive.history(chat_id) == history.content
    assert history.headers["etag"] == f'"{entry["history"]["sha256"]}"'
    for record in entry["files"]:
        download = await user.get(f"/v1/chats/{chat_id}/files/{record['file_id']}/content")
        assert archive.file(chat_id, record["name"]) == download.content


async def test_workspace_export_holds_every_chat_of_the_caller_and_no_one_elses(
    user: UserApi, workspace: Json, other_user: UserApi
) -> None:
    chats = [await create_chat(user) for _ in range(3)]
    for number, chat in enumerate(chats):
        await put_history(user, chat["chat_id"], f"chat {number}\n".encode())
        await upload_file(user, chat["chat_id"], f"file-{number}.txt", b"x" * number)
    stranger = await create_chat(other_user)
    await upload_file(other_user, stranger["chat_id"], "theirs.txt", b"not yours")

    response = await user.get("/v1/workspace/export")

    assert_archive_headers(response, workspace["workspace_id"])
    archive = Archive(response.content)
    archive.assert_agrees()
    listed = await answered(user, "/v1/chats")
    assert [entry["chat"] for entry in archive.manifest["chats"]] == listed["items"]
    assert not [name for name in archive.names if stranger["chat_id"] in name]
    for chat in chats:
        files = archive.chat(chat["chat_id"])["files"]
        assert files == await list_files(user, chat["chat_id"])


async def test_an_empty_workspace_exports_its_manifest_alone(
    user: UserApi, workspace: Json
) -> None:
    response = await user.get("/v1/workspace/export")

    assert_archive_headers(response, workspace["workspace_id"])
    archive = Archive(response.content)
    assert archive.names == ["manifest.json"]
    assert archive.manifest["workspace"] == workspace
    assert archive.manifest["chats"] == []


@pytest.mark.parametrize("path", ["/v1/workspace/export", "/v1/chats/{chat_id}/export"])
async def test_head_answers_the_headers_of_the_export_without_a_body(
    user: UserApi, workspace: Json, chat_id: str, data_dir: Path, path: str
) -> None:
    await upload_file(user, chat_id, "a.txt", b"a")
    url = path.format(chat_id=chat_id)

    head = await user.head(url)

    got = await user.get(url)
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    for header in ("content-type", "content-disposition"):
        assert head.headers[header] == got.headers[header]
    assert "content-length" not in head.headers
    assert descriptors_under(data_dir / "workspaces") == []


@pytest.mark.parametrize("path", ["/v1/workspace/export", "/v1/chats/{chat_id}/export"])
async def test_a_caller_without_a_workspace_is_refused(
    user: UserApi, other_user: UserApi, path: str
) -> None:
    chat = await create_chat(other_user)
    url = path.format(chat_id=chat["chat_id"])

    assert_problem(await user.get(url), 404, "workspace_not_found")
    assert_head_problem(await user.head(url), 404)


async def test_another_users_chat_answers_as_a_chat_that_does_not_exist(
    user: UserApi, workspace: Json, other_user: UserApi
) -> None:
    theirs = await create_chat(other_user)
    await upload_file(other_user, theirs["chat_id"], "theirs.txt", b"not yours")

    refused = await user.get(f"/v1/chats/{theirs['chat_id']}/export")
    unknown = await user.get("/v1/chats/6f1c3a52-6d0e-4a8e-9d1b-2b1a4a7d5e10/export")

    assert_problem(refused, 404, "chat_not_found")
    assert_problem(unknown, 404, "chat_not_found")


async def test_a_chat_id_that_is_not_a_uuid_is_a_validation_error(
    user: UserApi, workspace: Json
) -> None:
    assert_problem(await user.get("/v1/chats/not-a-uuid/export"), 422, "validation_error")


async def test_a_disk_that_fails_before_the_first_byte_answers_503_and_leaves_nothing_open(
    flaky_client: httpx.AsyncClient, flaky_storage: FlakyStorage, data_dir: Path
) -> None:
    user = UserApi(flaky_client, uuid4())
    assert (await user.put("/v1/workspace")).status_code == 201
    chat = await create_chat(user)
    await put_history(user, chat["chat_id"], b"# kept\n")
    await upload_file(user, chat["chat_id"], "a.txt", b"a")
    flaky_storage.open_error = StorageUnavailableError("could not read the attachments: EIO")

    refused = await user.get(f"/v1/chats/{chat['chat_id']}/export")

    assert_problem(refused, 503, "storage_unavailable")
    assert descriptors_under(data_dir / "workspaces") == []
