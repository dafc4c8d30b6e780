import os
from collections.abc import Callable
from pathlib import Path
from uuid import uuid4

import anyio
import httpx
import pytest

from test.api.conftest import (
    Json,
    UserApi,
    assert_head_problem,
    assert_not_modified,
    assert_problem,
    sha256,
    upload_file,
)
from test.planted import PLANTERS, Planter

pytestmark = pytest.mark.anyio

DATA = bytes(range(256))


@pytest.fixture
async def stored(user: UserApi, chat_id: str) -> Json:
    return await upload_file(user, chat_id, "data.bin", DATA, "application/x-test")


@pytest.fixture
def content_url(chat_id: str, stored: Json) -> str:
    return f"/v1/chats/{chat_id}/files/{stored['file_id']}/content"


def assert_download_headers(response: httpx.Response, length: int) -> None:
    assert response.headers["content-type"] == "application/x-test"
    assert response.headers["content-length"] == str(length)
    assert response.headers["etag"] == f'"{sha256(DATA)}"'
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"data.bin\"; filename*=UTF-8''data.bin"
    )


async def test_download_answers_the_exact_bytes_with_safe_headers(
    user: UserApi, content_url: str
) -> None:
    response = await user.get(content_url)

    assert response.status_code == 200
    assert response.content == DATA
    assert "content-range" not in response.headers
    assert_download_headers(response, len(DATA))


async def test_head_answers_the_same_headers_without_a_body(
    user: UserApi, content_url: str
) -> None:
    response = await user.head(content_url)

    assert response.status_code == 200
    assert response.content == b""
    assert_download_headers(response, len(DATA))


async def test_download_of_a_large_file_is_complete(user: UserApi, chat_id: str) -> None:
    data = os.urandom(200 * 1024)
    item = await upload_file(user, chat_id, "random.bin", data)

    response = await user.get(f"/v1/chats/{chat_id}/files/{item['file_id']}/content")

    assert response.content == data
    assert response.headers["etag"] == f'"{sha256(data)}"'


async def test_download_of_an_empty_file_is_empty(user: UserApi, chat_id: str) -> None:
    item = await upload_file(user, chat_id, "empty.txt", b"")

    response = await user.get(f"/v1/chats/{chat_id}/files/{item['file_id']}/content")

    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == "0"


@pytest.mark.parametrize(
    ("name", "disposition"),
    [
        pytest.param(
            "résumé 📄.txt",
            'attachment; filename="r_sum_ _.txt"; '
            "filename*=UTF-8''r%C3%A9sum%C3%A9%20%F0%9F%93%84.txt",
            id="non-ascii",
        ),
        pytest.param(
            "a;b c.txt",
            "attachment; filename=\"a;b c.txt\"; filename*=UTF-8''a%3Bb%20c.txt",
            id="semicolon-and-space",
        ),
        pytest.param(
            "100%25.txt",
            "attachment; filename=\"100_25.txt\"; filename*=UTF-8''100%2525.txt",
            id="percent",
        ),
        pytest.param(
            "x'; filename=evil.exe",
            'attachment; filename="x\'; filename=evil.exe"; '
            "filename*=UTF-8''x%27%3B%20filename%3Devil.exe",
            id="parameter-injection-attempt",
        ),
    ],
)
async def test_content_disposition_carries_an_ascii_fallback_and_the_encoded_name(
    user: UserApi, chat_id: str, name: str, disposition: str
) -> None:
    item = await upload_file(user, chat_id, name, b"x")

    response = await user.get(f"/v1/chats/{chat_id}/files/{item['file_id']}/content")

    assert response.headers["content-disposition"] == disposition


async def test_content_disposition_of_a_name_with_quotes_cannot_break_out(
    user: UserApi, chat_id: str, chat_path: Path
) -> None:
    name = 'a "quoted"; name é.txt'
    (chat_path / name).write_bytes(b"planted by a sandbox")
    (item,) = (await user.post(f"/v1/chats/{chat_id}/files/rescan")).json()["items"]
    assert item["name"] == name

    response = await user.get(f"/v1/chats/{chat_id}/files/{item['file_id']}/content")

    assert response.headers["content-disposition"] == (
        'attachment; filename="a _quoted_; name _.txt"; '
        "filename*=UTF-8''a%20%22quoted%22%3B%20name%20%C3%A9.txt"
    )


def partial(start: int, end: int) -> Callable[[httpx.Response], None]:
    """206 with DATA's bytes from `start` to `end`, inclusive."""

    def assert_partial(response: httpx.Response) -> None:
        assert response.status_code == 206
        assert response.content == DATA[start : end + 1]
        assert response.headers["content-range"] == f"bytes {start}-{end}/{len(DATA)}"
        assert response.headers["content-length"] == str(end - start + 1)
        assert response.headers["content-type"] == "application/x-test"
        assert response.headers["etag"] == f'"{sha256(DATA)}"'

    return assert_partial


def not_satisfiable(response: httpx.Response) -> None:
    assert_problem(response, 416, "range_not_satisfiable")
    assert response.headers["content-range"] == f"bytes */{len(DATA)}"


def whole_file(response: httpx.Response) -> None:
    """What a header the download does not honour gets: 200 with every byte."""
    assert response.status_code == 200
    assert response.content == DATA
    assert "content-range" not in response.headers


# What a download of DATA (256 bytes) answers each Range header with.
RANGES = [
    pytest.param("bytes=0-9", partial(0, 9), id="first-ten"),
    pytest.param("bytes=10-", partial(10, 255), id="open-ended"),
    pytest.param("bytes=-5", partial(251, 255), id="suffix"),
    pytest.param("bytes=-1000", partial(0, 255), id="suffix-longer-than-file"),
    pytest.param("bytes=250-999", partial(250, 255), id="end-clamped"),
    pytest.param("bytes=255-255", partial(255, 255), id="last-byte"),
    pytest.param("bytes=0-0", partial(0, 0), id="first-byte"),
    pytest.param("bytes=0-255", partial(0, 255), id="whole-file"),
    pytest.param("bytes=256-", not_satisfiable, id="start-at-the-end"),
    pytest.param("bytes=256-300", not_satisfiable, id="start-at-the-end-with-end"),
    pytest.param("bytes=1000-2000", not_satisfiable, id="start-past-the-end"),
    pytest.param("bytes=-0", not_satisfiable, id="empty-suffix"),
    pytest.param("bytes=0-1,5-6", whole_file, id="multiple-ranges"),
    pytest.param("bytes=abc", whole_file, id="not-numbers"),
    pytest.param("bytes=5-2", whole_file, id="end-before-start"),
    pytest.param("items=0-9", whole_file, id="other-unit"),
    pytest.param("bytes=-", whole_file, id="no-positions"),
    pytest.param("0-9", whole_file, id="no-unit"),
    pytest.param("bytes=1-2-3", whole_file, id="extra-dash"),
]


@pytest.mark.parametrize(("header", "assert_answer"), RANGES)
async def test_a_range_header_is_answered_as_the_contract_says(
    user: UserApi, content_url: str, header: str, assert_answer: Callable[[httpx.Response], None]
) -> None:
    response = await user.get(content_url, headers={"Range": header})

    assert_answer(response)


async def test_head_with_a_range_answers_206_headers_without_a_body(
    user: UserApi, content_url: str
) -> None:
    response = await user.head(content_url, headers={"Range": "bytes=0-9"})

    assert response.status_code == 206
    assert response.content == b""
    assert response.headers["content-range"] == f"bytes 0-9/{len(DATA)}"
    assert response.headers["content-length"] == "10"


async def test_any_range_of_an_empty_file_is_not_satisfiable(user: UserApi, chat_id: str) -> None:
    item = await upload_file(user, chat_id, "empty.txt", b"")

    response = await user.get(
        f"/v1/chats/{chat_id}/files/{item['file_id']}/content", headers={"Range": "bytes=0-"}
    )

    assert_problem(response, 416, "range_not_satisfiable")
    assert response.headers["content-range"] == "bytes */0"


async def test_if_none_match_with_the_current_etag_answers_304(
    user: UserApi, content_url: str
) -> None:
    etag = f'"{sha256(DATA)}"'

    response = await user.get(content_url, headers={"If-None-Match": etag})

    assert_not_modified(response, etag)


async def test_if_none_match_with_another_etag_answers_the_bytes(
    user: UserApi, content_url: str
) -> None:
    response = await user.get(content_url, headers={"If-None-Match": f'"{sha256(b"other")}"'})

    assert response.status_code == 200
    assert response.content == DATA


async def test_download_of_an_unknown_file_is_not_found(user: UserApi, chat_id: str) -> None:
    url = f"/v1/chats/{chat_id}/files/{uuid4()}/content"

    got = await user.get(url)
    head = await user.head(url)

    assert_problem(got, 404, "chat_file_not_found")
    assert_head_problem(head, 404)


async def test_file_deleted_on_disk_is_not_found(
    user: UserApi, content_url: str, chat_path: Path
) -> None:
    (chat_path / "data.bin").unlink()

    response = await user.get(content_url)

    assert_problem(response, 404, "chat_file_not_found")


async def test_attachment_replaced_by_a_link_is_not_found_and_never_reveals_the_target(
    user: UserApi, content_url: str, chat_path: Path, outside_dir: Path
) -> None:
    secret = outside_dir / "secret.bin"
    secret.write_bytes(b"outside secret bytes")
    (chat_path / "data.bin").unlink()
    (chat_path / "data.bin").symlink_to(secret)

    response = await user.get(content_url)
    ranged = await user.get(content_url, headers={"Range": "bytes=0-5"})

    assert_problem(response, 404, "chat_file_not_found")
    assert_problem(ranged, 404, "chat_file_not_found")
    assert b"secret" not in response.content + ranged.content


async def test_attachment_replaced_by_a_fifo_is_not_found_without_hanging(
    user: UserApi, content_url: str, chat_path: Path
) -> None:
    (chat_path / "data.bin").unlink()
    os.mkfifo(chat_path / "data.bin")

    with anyio.fail_after(5):
        response = await user.get(content_url)

    assert_problem(response, 404, "chat_file_not_found")


async def test_attachment_replaced_by_a_directory_is_not_found(
    user: UserApi, content_url: str, chat_path: Path
) -> None:
    (chat_path / "data.bin").unlink()
    (chat_path / "data.bin").mkdir()

    response = await user.get(content_url)

    assert_problem(response, 404, "chat_file_not_found")


@pytest.mark.parametrize("plant", PLANTERS)
async def test_attachment_replaced_by_anything_but_a_regular_file_is_not_found_at_once(
    user: UserApi, content_url: str, chat_path: Path, outside_dir: Path, plant: Planter
) -> None:
    secret = outside_dir / "secret.bin"
    secret.write_bytes(b"outside secret bytes")
    (chat_path / "data.bin").unlink()
    plant(chat_path / "data.bin", secret)

    with anyio.fail_after(5):
        response = await user.get(content_url)
        head = await user.head(content_url)

    assert_problem(response, 404, "chat_file_not_found")
    assert_head_problem(head, 404)
    assert b"secret" not in response.content


async def test_download_of_another_users_file_is_not_found(
    content_url: str, other_user: UserApi
) -> None:
    response = await other_user.get(content_url)

    assert_problem(response, 404, "chat_not_found")
    assert DATA not in response.content
