"""HTTP-level rules of api.md v1.1 that hold in-process too (test/e2e/test_http_edge.py
holds them on a real socket)."""

from uuid import uuid4

import httpx
import pytest

from test.api.conftest import NOT_THE_36_CHARACTER_FORM, UserApi, assert_problem, upload_file
from test.routes import v1_get_paths

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("chat_id", NOT_THE_36_CHARACTER_FORM)
async def test_an_id_in_a_path_must_be_the_36_character_form(
    user: UserApi, workspace: object, chat_id: str
) -> None:
    response = await user.get(f"/v1/chats/{chat_id}")

    assert_problem(response, 422, "validation_error")


async def test_an_id_in_a_path_in_upper_case_names_the_same_chat(
    user: UserApi, chat_id: str
) -> None:
    response = await user.get(f"/v1/chats/{chat_id.upper()}")

    assert response.status_code == 200
    assert response.json()["chat_id"] == chat_id


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        pytest.param("GET", "%2Fhistory", id="history"),
        pytest.param("GET", "%2fhistory", id="lower-case-escape"),
        pytest.param("DELETE", "%2Ffiles", id="clear-files"),
    ],
)
async def test_an_encoded_slash_never_separates_segments(
    user: UserApi, chat_id: str, method: str, suffix: str
) -> None:
    await upload_file(user, chat_id, "kept.txt", b"kept")

    response = await user.request(method, f"/v1/chats/{chat_id}{suffix}")

    assert_problem(response, 404, "not_found")
    assert len((await user.get(f"/v1/chats/{chat_id}/files")).json()["items"]) == 1


@pytest.mark.parametrize("path", ["/v1/chats/", "/v1/workspace/", "/healthz/"])
async def test_a_trailing_slash_is_a_404_not_a_redirect(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path, headers={"Host": "evil.example", "X-User-Id": str(uuid4())})

    assert_problem(response, 404, "not_found")
    assert "location" not in response.headers


async def test_head_answers_every_get_route_with_its_status_and_headers(
    user: UserApi, chat_id: str
) -> None:
    await user.put(f"/v1/chats/{chat_id}/history", content=b"# hello\n" * 1000)
    item = await upload_file(user, chat_id, "a.txt", b"abc")
    for path in ["/healthz", *v1_get_paths(chat_id, item["file_id"])]:
        # One request id for both, so that every header can be compared.
        got = await user.get(path, headers={"X-Request-Id": "get-or-head"})
        head = await user.head(path, headers={"X-Request-Id": "get-or-head"})

        assert head.status_code == got.status_code, path
        assert head.content == b"", path
        # A streamed GET gets `Transfer-Encoding: chunked` from the server, on the wire, and
        # its HEAD from HeadAsGet; test/e2e/test_http_edge.py compares the two there.
        head_headers = {k: v for k, v in head.headers.items() if k != "transfer-encoding"}
        assert head_headers == dict(got.headers.items()), path


async def test_head_of_a_history_reads_nothing_but_its_size(user: UserApi, chat_id: str) -> None:
    body = b"# big\n" * 10_000
    assert (await user.put(f"/v1/chats/{chat_id}/history", content=body)).status_code == 204

    head = await user.head(f"/v1/chats/{chat_id}/history")

    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(body))
    assert head.content == b""
