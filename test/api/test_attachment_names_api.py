"""Attachment names on the wire (api.md v1.1): a name sent in any common client's encoding
is stored, listed and downloaded as the name itself, and a name that decodes to one the
rules refuse is refused with nothing stored."""

from pathlib import Path

import pytest

from test.api.conftest import Json, Part, UserApi, assert_problem, list_files, unchanged, upload
from test.content_disposition import name_in_content_disposition
from test.names_on_the_wire import (
    BROWSER_SAY_HI,
    FILE_PART,
    QUOTED_PAIR_SAY_HI,
    SAY_HI,
    refused_dispositions,
    stored_names,
)

pytestmark = pytest.mark.anyio


async def assert_stored_under(
    user: UserApi, chat_id: str, chat_path: Path, item: Json, name: str, data: bytes
) -> None:
    assert item["name"] == name
    assert [listed["name"] for listed in await list_files(user, chat_id)] == [name]
    assert (chat_path / name).read_bytes() == data
    download = await user.get(f"/v1/chats/{chat_id}/files/{item['file_id']}/content")
    assert download.content == data
    assert name_in_content_disposition(download.headers["content-disposition"]) == name


async def test_name_with_quotes_sent_by_httpx_round_trips(
    user: UserApi, chat_id: str, chat_path: Path
) -> None:
    response = await user.client.post(
        f"/v1/chats/{chat_id}/files",
        headers={"X-User-Id": str(user.user_id)},
        files=[("file", (SAY_HI, b"hi", "text/plain"))],
    )

    assert response.status_code == 201, response.text
    (item,) = response.json()["items"]
    await assert_stored_under(user, chat_id, chat_path, item, SAY_HI, b"hi")


@pytest.mark.parametrize(("disposition", "name"), stored_names())
async def test_name_is_stored_as_decoded(
    user: UserApi, chat_id: str, chat_path: Path, disposition: str, name: str
) -> None:
    response = await upload(user, chat_id, Part(None, b"bytes", disposition=disposition))

    assert response.status_code == 201, response.text
    (item,) = response.json()["items"]
    await assert_stored_under(user, chat_id, chat_path, item, name, b"bytes")


@pytest.mark.parametrize(("disposition", "code"), refused_dispositions())
async def test_name_refused_after_decoding_leaves_no_trace(
    user: UserApi, chat: Json, chat_id: str, data_dir: Path, disposition: str, code: str
) -> None:
    good = Part("first.txt", b"good")

    async with unchanged(user, chat, data_dir):
        response = await upload(user, chat_id, good, Part(None, b"x", disposition=disposition))

    assert_problem(response, 422, code)


async def test_two_encodings_of_one_name_are_duplicates(
    user: UserApi, chat: Json, chat_id: str, data_dir: Path
) -> None:
    async with unchanged(user, chat, data_dir):
        response = await upload(
            user,
            chat_id,
            Part(None, b"one", disposition=FILE_PART + BROWSER_SAY_HI),
            Part(None, b"two", disposition=FILE_PART + QUOTED_PAIR_SAY_HI),
        )

    assert_problem(response, 422, "duplicate_attachment_name")
