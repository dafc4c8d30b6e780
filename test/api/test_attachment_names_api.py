"""Attachment names on the wire (api.md v1.1): a name sent in any common client's encoding
is stored, listed and downloaded as the name itself, and a name that decodes to one the
rules refuse is refused with nothing stored."""

from pathlib import Path

import pytest

from test.api.conftest import Json, Part, UserApi, assert_problem, list_files, unchanged, upload
from test.content_disposition import name_in_content_disposition

pytestmark = pytest.mark.anyio

SAY_HI = 'say "hi".txt'

BROWSER_SAY_HI = 'form-data; name="file"; filename="say %22hi%22.txt"'
QUOTED_PAIR_SAY_HI = 'form-data; name="file"; filename="say \\"hi\\".txt"'
SAY_HI_ON_THE_WIRE = [
    pytest.param(BROWSER_SAY_HI, id="browser-curl-requests-httpx"),
    pytest.param(QUOTED_PAIR_SAY_HI, id="quoted-pair-aiohttp"),
    pytest.param(
        "form-data; name=file; filename=\"say _hi_.txt\"; filename*=utf-8''say%20%22hi%22.txt",
        id="filename-star-dotnet",
    ),
    pytest.param('form-data; name="file"; filename="say "hi".txt"', id="never-escaped"),
]


async def assert_stored_under(
    user: UserApi, chat_id: str, chat_path: Path, item: Json, name: str, data: bytes
) -> None:
    assert item["name"] == name
    assert [listed["name"] for listed in await list_files(user, chat_id)] == [name]
    assert (chat_path / name).read_bytes() == data
    download = await user.get(f"/v1/chats/{chat_id}/files/{item['file_id']}/content")
    assert download.content == data
    assert name_in_content_disposition(download.headers["content-disposition"]) == name


@pytest.mark.parametrize("disposition", SAY_HI_ON_THE_WIRE)
async def test_name_with_quotes_round_trips_from_each_client_encoding(
    user: UserApi, chat_id: str, chat_path: Path, disposition: str
) -> None:
    response = await upload(user, chat_id, Part(None, b"hi", disposition=disposition))

    assert response.status_code == 201, response.text
    (item,) = response.json()["items"]
    await assert_stored_under(user, chat_id, chat_path, item, SAY_HI, b"hi")


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


@pytest.mark.parametrize(
    ("disposition", "name"),
    [
        pytest.param(
            "form-data; name=\"file\"; filename*=UTF-8''%E2%82%AC%20%C3%A9t%C3%A9%20%F0%9F%93%84",
            "€ été 📄",
            id="filename-star-non-ascii",
        ),
        pytest.param('form-data; name="file"; filename="a%2Fb.txt"', "a%2Fb.txt", id="%2F-kept"),
        pytest.param('form-data; name="file"; filename="a %3B b"', "a %3B b", id="%3B-kept"),
        pytest.param("form-data; name=file; filename=plain.txt", "plain.txt", id="unquoted-token"),
    ],
)
async def test_name_is_stored_as_decoded(
    user: UserApi, chat_id: str, chat_path: Path, disposition: str, name: str
) -> None:
    response = await upload(user, chat_id, Part(None, b"bytes", disposition=disposition))

    assert response.status_code == 201, response.text
    (item,) = response.json()["items"]
    await assert_stored_under(user, chat_id, chat_path, item, name, b"bytes")


REFUSED = [
    pytest.param('filename="line%0D%0Abreak.txt"', "invalid_attachment_name", id="crlf-decoded"),
    pytest.param('filename="%0a"', "invalid_attachment_name", id="lone-lf-decoded"),
    pytest.param('filename="a\\\\b"', "invalid_attachment_name", id="quoted-pair-backslash"),
    pytest.param("filename*=UTF-8''a%0Db", "invalid_attachment_name", id="filename-star-cr"),
    pytest.param("filename*=UTF-8''a%2Fb", "invalid_attachment_name", id="filename-star-slash"),
    pytest.param("filename*=UTF-8''..", "invalid_attachment_name", id="filename-star-dot-dot"),
    pytest.param(
        "filename*=ISO-8859-1''caf%E9.txt", "invalid_attachment_name", id="filename-star-latin-1"
    ),
    pytest.param(
        "filename*=UTF-8''%FF.txt", "invalid_attachment_name", id="filename-star-not-utf8"
    ),
    pytest.param("filename*=a.txt", "invalid_attachment_name", id="filename-star-no-charset"),
    pytest.param(
        "filename=\"ok.txt\"; filename*=UTF-8''history.md",
        "reserved_attachment_name",
        id="filename-star-reserved",
    ),
    pytest.param('filename="a\\"', "validation_error", id="closing-quote-escaped"),
    pytest.param('filename="never closed', "validation_error", id="quote-never-closed"),
]


@pytest.mark.parametrize(("params", "code"), REFUSED)
async def test_name_refused_after_decoding_leaves_no_trace(
    user: UserApi, chat: Json, chat_id: str, data_dir: Path, params: str, code: str
) -> None:
    good = Part("first.txt", b"good")

    async with unchanged(user, chat, data_dir):
        response = await upload(
            user, chat_id, good, Part(None, b"x", disposition=f'form-data; name="file"; {params}')
        )

    assert_problem(response, 422, code)


async def test_two_encodings_of_one_name_are_duplicates(
    user: UserApi, chat: Json, chat_id: str, data_dir: Path
) -> None:
    async with unchanged(user, chat, data_dir):
        response = await upload(
            user,
            chat_id,
            Part(None, b"one", disposition=BROWSER_SAY_HI),
            Part(None, b"two", disposition=QUOTED_PAIR_SAY_HI),
        )

    assert_problem(response, 422, "duplicate_attachment_name")
