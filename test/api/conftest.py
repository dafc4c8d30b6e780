"""The HTTP API, called in process over ASGI, on a scratch data directory with small limits.

Fixtures: `user` (a gateway caller with no workspace yet), `workspace` (that user's),
`chat` (one chat in it), `other_user` (a second user with a workspace of their own),
`flaky_client` (a client of an app on `flaky_storage`, a disk that fails when told to).
Helpers: `assert_problem`, raw multipart bodies (`Part`, `multipart_body`), uploads, and a
`snapshot` of everything a rejected write must leave as it was (`unchanged` checks it
around a block).
"""

import hashlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI

from api.app import create_app
from api.settings import Settings
from test.api.fakes import FlakyStorage
from test.disk import staged_files
from test.fakes import FakeClock
from usecase.ports.chat_bytes import ChatStorage
from usecase.ports.runtime import Clock

Json = dict[str, Any]

KIB = 1024
MIB = 1024 * KIB
QUOTA_BYTES = MIB
MAX_FILE_BYTES = 256 * KIB
MAX_HISTORY_BYTES = 64 * KIB
START = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
START_TEXT = "2026-04-01T12:00:00Z"
PROBLEM_JSON = "application/problem+json"
BOUNDARY = "chatstore-test-boundary-7c1f"
PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


# Ids that are not the 36-character form of RFC 9562 (api.md v1.1), refused alike in
# X-User-Id and in a path; several are forms Python's lax `uuid.UUID` reads as some (often
# another user's) id.
NOT_THE_36_CHARACTER_FORM = [
    pytest.param("not-a-uuid", id="word"),
    pytest.param("12345", id="number"),
    pytest.param("6f1c3a52-6d0e-4a8e-9d1b-2b1a4a7d5e1", id="one-digit-short"),
    pytest.param("6f1c3a52-6d0e-4a8e-9d1b-2b1a4a7d5e10x", id="trailing-garbage"),
    pytest.param("6f1c3a52_6d0e-4a8e-9d1b-2b1a4a7d5e10", id="underscore-inside"),
    pytest.param("3ff21f2_-fece-4a8e-9d1b-2b1a4a7d5e10", id="underscore-for-digit"),
    pytest.param("+6f1c3a5-6d0e-4a8e-9d1b-2b1a4a7d5e10", id="plus-sign"),
    pytest.param("0x6f1c3a-6d0e-4a8e-9d1b-2b1a4a7d5e10", id="hex-prefix"),
    pytest.param("6f1c3a526d0e4a8e9d1b2b1a4a7d5e10", id="no-hyphens"),
    pytest.param("{6f1c3a52-6d0e-4a8e-9d1b-2b1a4a7d5e10}", id="braces"),
    pytest.param("urn:uuid:6f1c3a52-6d0e-4a8e-9d1b-2b1a4a7d5e10", id="urn"),
    pytest.param("6f1c3a52-6d0e-4a8e-9d1b-2b1a4a7d5e1\u0660", id="arabic-indic-digit"),
]


def make_settings(data_dir: Path, *, gateway_token: str | None = None) -> Settings:
    return Settings(
        data_dir=data_dir,
        workspace_quota_bytes=QUOTA_BYTES,
        max_file_bytes=MAX_FILE_BYTES,
        max_history_bytes=MAX_HISTORY_BYTES,
        gateway_token=gateway_token,
    )


@asynccontextmanager
async def running_app(
    settings: Settings, *, clock: Clock | None = None, storage: ChatStorage | None = None
) -> AsyncIterator[FastAPI]:
    """The app with its lifespan entered, which ASGITransport does not do by itself."""
    app = create_app(settings, clock=clock, storage=storage)
    async with app.router.lifespan_context(app):
        yield app


def openapi_description(data_dir: Path) -> Json:
    """The document /openapi.json serves, from an app built as the service builds it."""
    description: Json = create_app(make_settings(data_dir)).openapi()
    return description


def in_process_client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


@dataclass(frozen=True, slots=True)
class UserApi:
    """The gateway calling on behalf of one user: every request carries `X-User-Id`."""

    client: httpx.AsyncClient
    user_id: UUID

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        json: object = None,
        params: Mapping[str, str | int] | None = None,
    ) -> httpx.Response:
        return await self.client.request(
            method,
            url,
            headers={"X-User-Id": str(self.user_id), **(headers or {})},
            content=content,
            json=json,
            params=params,
        )

    async def get(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str | int] | None = None,
    ) -> httpx.Response:
        return await self.request("GET", url, headers=headers, params=params)

    async def head(self, url: str, *, headers: Mapping[str, str] | None = None) -> httpx.Response:
        return await self.request("HEAD", url, headers=headers)

    async def put(
        self, url: str, *, content: bytes | None = None, headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        return await self.request("PUT", url, content=content, headers=headers)

    async def post(
        self,
        url: str,
        *,
        content: bytes | None = None,
        json: object = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        return await self.request("POST", url, content=content, json=json, headers=headers)

    async def delete(self, url: str) -> httpx.Response:
        return await self.request("DELETE", url)


# Fixtures


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return make_settings(data_dir)


@pytest.fixture
async def app(settings: Settings, clock: FakeClock, anyio_backend: str) -> AsyncIterator[FastAPI]:
    async with running_app(settings, clock=clock) as app:
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with in_process_client(app) as client:
        yield client


@pytest.fixture
def flaky_storage(data_dir: Path) -> FlakyStorage:
    return FlakyStorage(data_dir)


@pytest.fixture
async def flaky_client(
    settings: Settings, clock: FakeClock, flaky_storage: FlakyStorage, anyio_backend: str
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app on `flaky_storage`, whose disk fails when the test says so."""
    async with (
        running_app(settings, clock=clock, storage=flaky_storage) as app,
        in_process_client(app) as client,
    ):
        yield client


@pytest.fixture
def user(client: httpx.AsyncClient) -> UserApi:
    return UserApi(client, uuid4())


@pytest.fixture
async def workspace(user: UserApi) -> Json:
    response = await user.put("/v1/workspace")
    assert response.status_code == 201, response.text
    body: Json = response.json()
    return body


@pytest.fixture
async def chat(user: UserApi, workspace: Json) -> Json:
    return await create_chat(user)


@pytest.fixture
def chat_id(chat: Json) -> str:
    return str(chat["chat_id"])


@pytest.fixture
def chat_path(data_dir: Path, chat: Json) -> Path:
    return chat_dir(data_dir, chat)


@pytest.fixture
async def other_user(client: httpx.AsyncClient) -> UserApi:
    other = UserApi(client, uuid4())
    response = await other.put("/v1/workspace")
    assert response.status_code == 201, response.text
    return other


# Problems


def assert_problem(response: httpx.Response, status: int, code: str) -> Json:
    """The answer is an RFC 9457 problem with this status and stable code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: Json = response.json()
    assert set(body) == PROBLEM_KEYS
    assert body["type"] == "about:blank"
    assert body["title"] == HTTPStatus(status).phrase
    assert body["status"] == status
    assert body["code"] == code
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return body


def assert_not_modified(response: httpx.Response, etag: str) -> None:
    """A 304 to a conditional GET: no body, and the ETag the client already holds."""
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag


def assert_head_problem(response: httpx.Response, status: int) -> None:
    """A HEAD answer to a request that failed: the problem's status and type, no body."""
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.content == b""


# Chats and files


async def create_chat(user: UserApi) -> Json:
    response = await user.post("/v1/chats")
    assert response.status_code == 201, response.text
    body: Json = response.json()
    return body


def chat_dir(data_dir: Path, chat: Json) -> Path:
    """Where the service keeps a chat's bytes (design.md, "On disk")."""
    return data_dir / "workspaces" / str(chat["workspace_id"]) / "chats" / str(chat["chat_id"])


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class Part:
    """One part of a multipart/form-data body, written byte for byte as given.
    `disposition`, when given, is the whole Content-Disposition value instead of one made
    of `name` and `filename`."""

    filename: str | bytes | None
    data: bytes = b""
    content_type: str | bytes | None = "application/octet-stream"
    name: str = "file"
    disposition: str | bytes | None = None


def _raw(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")


def multipart_body(*parts: Part) -> bytes:
    """The body as a browser sends it: the file name as raw UTF-8 inside quotes."""
    out = bytearray()
    for part in parts:
        out += b"--" + BOUNDARY.encode() + b"\r\n"
        if part.disposition is not None:
            out += b"Content-Disposition: " + _raw(part.disposition)
        else:
            out += b'Content-Disposition: form-data; name="' + part.name.encode() + b'"'
            if part.filename is not None:
                out += b'; filename="' + _raw(part.filename) + b'"'
        out += b"\r\n"
        if part.content_type is not None:
            out += b"Content-Type: " + _raw(part.content_type) + b"\r\n"
        out += b"\r\n" + part.data + b"\r\n"
    out += b"--" + BOUNDARY.encode() + b"--\r\n"
    return bytes(out)


MULTIPART_HEADERS = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


async def upload(user: UserApi, chat_id: str, *parts: Part) -> httpx.Response:
    return await user.post(
        f"/v1/chats/{chat_id}/files", content=multipart_body(*parts), headers=MULTIPART_HEADERS
    )


async def upload_file(
    user: UserApi, chat_id: str, name: str, data: bytes, content_type: str | None = "text/plain"
) -> Json:
    response = await upload(user, chat_id, Part(name, data, content_type))
    assert response.status_code == 201, response.text
    (item,) = response.json()["items"]
    assert isinstance(item, dict)
    return item


async def list_files(user: UserApi, chat_id: str) -> list[Json]:
    response = await user.get(f"/v1/chats/{chat_id}/files", params={"limit": 1000})
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    items: list[Json] = response.json()["items"]
    return items


async def used_bytes(user: UserApi) -> int:
    response = await user.get("/v1/workspace/usage")
    assert response.status_code == 200, response.text
    used: int = response.json()["used_bytes"]
    return used


async def put_history(user: UserApi, chat_id: str, content: bytes) -> httpx.Response:
    response = await user.put(f"/v1/chats/{chat_id}/history", content=content)
    assert response.status_code == 204, response.text
    return response


# What a rejected write must leave alone


def staging_entries(data_dir: Path) -> list[str]:
    return staged_files(data_dir)


def directory_state(path: Path) -> dict[str, bytes | str]:
    """Every entry directly in `path`: a regular file's bytes, else its kind."""
    state: dict[str, bytes | str] = {}
    for entry in path.iterdir():
        if entry.is_symlink():
            state[entry.name] = "symlink"
        elif entry.is_file():
            state[entry.name] = entry.read_bytes()
        else:
            state[entry.name] = "other"
    return state


@dataclass(frozen=True, slots=True)
class Snapshot:
    files: list[Json]
    used_bytes: int
    staging: list[str]
    chat_dir: dict[str, bytes | str]


async def snapshot(user: UserApi, chat: Json, data_dir: Path) -> Snapshot:
    chat_id = str(chat["chat_id"])
    return Snapshot(
        files=await list_files(user, chat_id),
        used_bytes=await used_bytes(user),
        staging=staging_entries(data_dir),
        chat_dir=directory_state(chat_dir(data_dir, chat)),
    )


@asynccontextmanager
async def unchanged(user: UserApi, chat: Json, data_dir: Path) -> AsyncIterator[None]:
    """On leaving the block, everything `snapshot` sees is as it was on entering it."""
    before = await snapshot(user, chat, data_dir)
    yield
    assert await snapshot(user, chat, data_dir) == before
