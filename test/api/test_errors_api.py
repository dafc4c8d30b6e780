from collections.abc import Awaitable, Callable
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from domain.errors import InsufficientStorageError, StorageUnavailableError
from test.api.conftest import (
    BOUNDARY,
    Json,
    Part,
    UserApi,
    assert_problem,
    create_chat,
    put_history,
    unchanged,
    upload,
    upload_file,
)
from test.api.fakes import FlakyStorage

pytestmark = pytest.mark.anyio


async def test_unknown_route_is_a_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/no/such/route")

    assert_problem(response, 404, "not_found")


async def test_unknown_route_under_v1_is_a_404_problem(user: UserApi) -> None:
    response = await user.get("/v1/chats/not/a/route/at/all")

    assert_problem(response, 404, "not_found")


NOT_FOUND = [
    pytest.param("GET", "/v1/chats/{unknown}", "chat_not_found", id="get-unknown-chat"),
    pytest.param(
        "POST", "/v1/chats/{unknown}/files/rescan", "chat_not_found", id="rescan-of-an-unknown-chat"
    ),
    pytest.param(
        "GET", "/v1/chats/{chat_id}/files/{unknown}", "chat_file_not_found", id="get-unknown-file"
    ),
    pytest.param(
        "GET",
        "/v1/chats/{chat_id}/sandbox-sessions/active",
        "sandbox_session_not_found",
        id="active-session-of-a-chat-without-one",
    ),
    pytest.param(
        "DELETE",
        "/v1/chats/{chat_id}/sandbox-sessions/{unknown}",
        "sandbox_session_not_found",
        id="end-of-an-unknown-session",
    ),
]


@pytest.mark.parametrize(("method", "path", "code"), NOT_FOUND)
async def test_what_does_not_exist_is_a_404_problem_with_its_code(
    user: UserApi, chat_id: str, method: str, path: str, code: str
) -> None:
    """`{chat_id}` is the caller's one chat, `{unknown}` an id nothing has."""
    response = await user.request(method, path.format(chat_id=chat_id, unknown=uuid4()))

    assert_problem(response, 404, code)


WRONG_METHODS = [
    # v1.1: every GET route answers HEAD too, and Allow says so.
    pytest.param("POST", "/v1/workspace", {"DELETE", "GET", "HEAD", "PUT"}, id="post-workspace"),
    pytest.param("PATCH", "/v1/chats", {"GET", "HEAD", "POST"}, id="patch-chats"),
    pytest.param("POST", "/healthz", {"GET", "HEAD"}, id="post-healthz"),
    pytest.param("POST", "/docs", {"GET", "HEAD"}, id="post-docs"),
    pytest.param("DELETE", "/openapi.json", {"GET", "HEAD"}, id="delete-openapi"),
    pytest.param("POST", "/docs/assets/swagger-ui.css", {"GET", "HEAD"}, id="post-docs-asset"),
    pytest.param(
        "PUT",
        "/v1/chats/00000000-0000-4000-8000-000000000000/files/"
        "00000000-0000-4000-8000-000000000001/content",
        {"GET", "HEAD"},
        id="put-content",
    ),
]


def allowed_methods(response: httpx.Response) -> set[str]:
    return {item.strip() for item in response.headers["allow"].split(",")}


@pytest.mark.parametrize(("method", "path", "allowed"), WRONG_METHODS)
async def test_wrong_method_is_a_405_problem(
    user: UserApi, method: str, path: str, allowed: set[str]
) -> None:
    response = await user.request(method, path)

    assert_problem(response, 405, "method_not_allowed")
    assert method not in allowed_methods(response)
    assert allowed_methods(response) & allowed


@pytest.mark.parametrize(("method", "path", "allowed"), WRONG_METHODS)
async def test_405_allow_header_lists_every_method_of_the_resource(
    user: UserApi, method: str, path: str, allowed: set[str]
) -> None:
    response = await user.request(method, path)

    # RFC 9110 15.5.6: Allow lists the target resource's supported methods.
    assert allowed_methods(response) == allowed


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(b"bytes=\xb2-5", id="superscript-two-start"),
        pytest.param(b"bytes=0-\xb9", id="superscript-one-end"),
        pytest.param(b"bytes=-\xb3", id="superscript-three-suffix"),
    ],
)
async def test_range_with_non_ascii_digits_is_not_a_server_error(
    user: UserApi, chat_id: str, header: bytes
) -> None:
    item = await upload_file(user, chat_id, "a.txt", b"0123456789")
    url = f"/v1/chats/{chat_id}/files/{item['file_id']}/content"

    response = await user.client.get(
        url, headers=[(b"X-User-Id", str(user.user_id).encode()), (b"Range", header)]
    )

    # RFC 9110 ranges use ASCII digits only; anything else is a header to ignore.
    assert response.status_code == 200
    assert response.content == b"0123456789"


@pytest.fixture
async def flaky_user(flaky_client: httpx.AsyncClient) -> UserApi:
    """A user with a workspace, on an app whose disk fails when the test says so."""
    user = UserApi(flaky_client, uuid4())
    assert (await user.put("/v1/workspace")).status_code == 201
    return user


@pytest.fixture
async def flaky_chat(flaky_user: UserApi) -> Json:
    return await create_chat(flaky_user)


DISK_FAILURES = [
    pytest.param(
        InsufficientStorageError("no space left on device"),
        507,
        "insufficient_storage",
        id="disk-full",
    ),
    pytest.param(
        StorageUnavailableError("input/output error"), 503, "storage_unavailable", id="io-error"
    ),
]


async def keep_a_file(user: UserApi, chat_id: str) -> None:
    await upload_file(user, chat_id, "keep.txt", b"kept")


async def upload_a_replacement_and_another(user: UserApi, chat_id: str) -> httpx.Response:
    return await upload(user, chat_id, Part("keep.txt", b"new"), Part("b.txt", b"b"))


async def keep_a_history(user: UserApi, chat_id: str) -> None:
    await put_history(user, chat_id, b"# kept\n")


async def put_another_history(user: UserApi, chat_id: str) -> httpx.Response:
    return await user.put(f"/v1/chats/{chat_id}/history", content=b"# lost\n")


WRITES_ON_WHAT_IS_KEPT = [
    pytest.param(keep_a_file, upload_a_replacement_and_another, id="upload"),
    pytest.param(keep_a_history, put_another_history, id="history-put"),
]


@pytest.mark.parametrize(("keep", "write"), WRITES_ON_WHAT_IS_KEPT)
@pytest.mark.parametrize(("error", "status", "code"), DISK_FAILURES)
async def test_write_on_a_failing_disk_answers_the_disk_error_and_changes_nothing(
    flaky_user: UserApi,
    flaky_chat: Json,
    flaky_storage: FlakyStorage,
    data_dir: Path,
    keep: Callable[[UserApi, str], Awaitable[None]],
    write: Callable[[UserApi, str], Awaitable[httpx.Response]],
    error: Exception,
    status: int,
    code: str,
) -> None:
    chat_id = str(flaky_chat["chat_id"])
    await keep(flaky_user, chat_id)
    assert isinstance(error, InsufficientStorageError | StorageUnavailableError)
    async with unchanged(flaky_user, flaky_chat, data_dir):
        flaky_storage.stage_error = error
        response = await write(flaky_user, chat_id)
        flaky_storage.stage_error = None

    assert_problem(response, status, code)


async def test_download_on_a_failing_disk_is_unavailable(
    flaky_user: UserApi, flaky_chat: Json, flaky_storage: FlakyStorage
) -> None:
    chat_id = str(flaky_chat["chat_id"])
    item = await upload_file(flaky_user, chat_id, "a.txt", b"abc")
    flaky_storage.open_error = StorageUnavailableError("input/output error")

    response = await flaky_user.get(f"/v1/chats/{chat_id}/files/{item['file_id']}/content")

    assert_problem(response, 503, "storage_unavailable")


async def test_upload_onto_a_directory_planted_under_its_name_changes_nothing(
    user: UserApi, chat: Json, chat_id: str, chat_path: Path, data_dir: Path
) -> None:
    (chat_path / "taken").mkdir()
    (chat_path / "taken" / "inner.txt").write_bytes(b"sandbox work")
    await upload_file(user, chat_id, "keep.txt", b"kept")
    async with unchanged(user, chat, data_dir):
        response = await upload(user, chat_id, Part("taken", b"would replace a directory"))

    assert_problem(response, 503, "storage_unavailable")
    assert (chat_path / "taken" / "inner.txt").read_bytes() == b"sandbox work"


ODD_REQUESTS = [
    pytest.param("GET", "/v1/chats", {"X-User-Id": b"\xb2"}, None, id="latin-1-user-id"),
    pytest.param("GET", "/v1/chats?limit=99999999999999999999999999", {}, None, id="huge-limit"),
    pytest.param("GET", "/v1/chats?cursor=%C3%A9%C3%A9", {}, None, id="non-ascii-cursor"),
    pytest.param("GET", "/v1/chats?cursor=_w", {}, None, id="cursor-of-invalid-utf8"),
    pytest.param(
        "POST",
        "/v1/chats/{chat}/files",
        {"Content-Type": "multipart/form-data; boundary=" + "x" * 71},
        b"",
        id="boundary-too-long",
    ),
    pytest.param(
        "POST",
        "/v1/chats/{chat}/files",
        {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        (
            f"--{BOUNDARY}\r\n"
            + "".join(f"X-Header-{index}: v\r\n" for index in range(40))
            + f"\r\nx\r\n--{BOUNDARY}--\r\n"
        ).encode(),
        id="too-many-part-headers",
    ),
    pytest.param(
        "POST",
        "/v1/chats/{chat}/files",
        {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        f"--{BOUNDARY}\r\nX-Big: {'v' * 20_000}\r\n\r\nx\r\n--{BOUNDARY}--\r\n".encode(),
        id="huge-part-header",
    ),
    pytest.param(
        "POST",
        "/v1/chats/{chat}/files",
        {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="note"\r\n\r\n'.encode()
        + b"n" * 100_000
        + f"\r\n--{BOUNDARY}--\r\n".encode(),
        id="huge-form-field",
    ),
    pytest.param(
        "POST",
        "/v1/chats/{chat}/sandbox-sessions",
        {"Content-Type": "application/json"},
        b'{"ttl_seconds": 1e400}',
        id="ttl-infinite",
    ),
    pytest.param(
        "PUT",
        "/v1/chats/{chat}/history",
        {"If-Match": b"\xff\xfe"},
        b"x",
        id="latin-1-if-match",
    ),
    pytest.param(
        "GET", "/v1/chats/{chat}/history", {"If-None-Match": ",,, ,"}, None, id="empty-etag-list"
    ),
]


@pytest.mark.parametrize(("method", "path", "headers", "body"), ODD_REQUESTS)
async def test_odd_client_input_never_answers_a_server_error(
    user: UserApi,
    chat_id: str,
    method: str,
    path: str,
    headers: dict[str, str | bytes],
    body: bytes | None,
) -> None:
    raw = {"X-User-Id": str(user.user_id), **headers}
    response = await user.client.request(
        method,
        path.replace("{chat}", chat_id),
        headers=[
            (name.encode(), value if isinstance(value, bytes) else value.encode())
            for name, value in raw.items()
        ],
        content=body,
    )

    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == response.status_code
