"""The client against the real service, two ways: in process (the app from `create_app` on
a scratch data directory, over ASGI) and over a real socket (`python -m api` on a free
port). Both run with test/api's small limits, so that every limit's error can be reached.

Fixtures: `service` (where the service is and what it was sent), `client` / `async_client`
(a new user's client, each parametrized over both ways), `chat` (a chat in that user's
workspace), `big_server` (a real server with the default limits, for large bodies).
"""

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID, uuid4

import anyio.from_thread
import httpx
import pytest
from anyio.from_thread import BlockingPortal
from fastapi import FastAPI

from api.app import create_app
from api.settings import Settings
from chatstore_client import AsyncClient, Backoff, Chat, Client
from test.api.conftest import MAX_FILE_BYTES, MAX_HISTORY_BYTES, QUOTA_BYTES, make_settings
from test.e2e.server import RunningServer, running_server

GATEWAY_TOKEN = "client-test-token"
IN_PROCESS_URL = "http://testserver"
# Retries in tests wait no time at all.
NO_WAIT = Backoff(initial=0.0, maximum=0.0)

BACKENDS = [
    pytest.param("in_process", id="in-process"),
    pytest.param("socket", id="socket", marks=pytest.mark.e2e),
]


class RecordingTransport(httpx.BaseTransport):
    """Passes every request on, and keeps it, so tests can count what was sent."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


class _SyncBodyAsAsync(httpx.AsyncByteStream):
    def __init__(self, stream: httpx.SyncByteStream) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._stream:
            yield chunk


class BlockingASGITransport(httpx.BaseTransport):
    """httpx's ASGITransport for a synchronous client: each request runs on the event loop
    of a blocking portal, where the app's lifespan was entered. The request body is handed
    to the app chunk by chunk, as it would arrive over a socket."""

    def __init__(self, app: FastAPI, portal: BlockingPortal) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._portal = portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        forwarded = httpx.Request(
            request.method,
            request.url,
            headers=request.headers,
            stream=_SyncBodyAsAsync(request.stream),
            extensions=request.extensions,
        )

        async def send() -> tuple[int, httpx.Headers, bytes]:
            response = await self._inner.handle_async_request(forwarded)
            return response.status_code, response.headers, await response.aread()

        status, headers, content = self._portal.call(send)
        return httpx.Response(status, headers=headers, content=content, request=request)


@contextmanager
def in_process_transport(settings: Settings) -> Iterator[BlockingASGITransport]:
    app = create_app(settings)
    with (
        anyio.from_thread.start_blocking_portal("asyncio") as portal,
        portal.wrap_async_context_manager(app.router.lifespan_context(app)),
    ):
        yield BlockingASGITransport(app, portal)


@dataclass
class Service:
    """Where the service under test is: its base URL and data directory, and the
    transport that reaches it (which records every request sent)."""

    base_url: str
    data_dir: Path
    transport: RecordingTransport

    @property
    def sent(self) -> list[httpx.Request]:
        return self.transport.requests

    def chat_dir(self, chat: Chat) -> Path:
        return chat_dir(self.data_dir, chat)

    def client(self, *, user_id: UUID | str | None, token: str | None = None) -> Client:
        return Client(
            self.base_url, user_id=user_id, token=token, backoff=NO_WAIT, transport=self.transport
        )


def chat_dir(data_dir: Path, chat: Chat) -> Path:
    """Where the service keeps a chat's files (design.md, "On disk")."""
    return data_dir / "workspaces" / str(chat.workspace_id) / "chats" / str(chat.chat_id)


@pytest.fixture(scope="session")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A real server with the same small limits as the in-process app."""
    with running_server(
        tmp_path_factory.mktemp("client-small") / "data",
        workspace_quota_bytes=str(QUOTA_BYTES),
        max_file_bytes=str(MAX_FILE_BYTES),
        max_history_bytes=str(MAX_HISTORY_BYTES),
    ) as server:
        yield server


@pytest.fixture(scope="session")
def big_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A real server with the default limits (256 MiB a file, 1 GiB a workspace)."""
    with running_server(tmp_path_factory.mktemp("client-big") / "data") as server:
        yield server


@pytest.fixture(params=BACKENDS)
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Service]:
    if request.param == "socket":
        server: RunningServer = request.getfixturevalue("small_server")
        transport = RecordingTransport(httpx.HTTPTransport())
        yield Service(server.base_url, server.data_dir, transport)
        return
    data_dir = tmp_path / "data"
    with in_process_transport(make_settings(data_dir)) as inner:
        transport = RecordingTransport(inner)
        yield Service(IN_PROCESS_URL, data_dir, transport)


@pytest.fixture
def client(service: Service) -> Iterator[Client]:
    """A client for a new user, who has no workspace yet."""
    with service.client(user_id=uuid4()) as client:
        yield client


@pytest.fixture
def chat(client: Client) -> Chat:
    client.ensure_workspace()
    return client.create_chat()


# The async client


@dataclass
class AsyncService:
    base_url: str
    data_dir: Path
    transport: httpx.AsyncBaseTransport | None

    def client(self, *, user_id: UUID | str | None) -> AsyncClient:
        return AsyncClient(
            self.base_url, user_id=user_id, backoff=NO_WAIT, transport=self.transport
        )


@pytest.fixture(params=BACKENDS)
async def async_service(
    request: pytest.FixtureRequest, tmp_path: Path, anyio_backend: str
) -> AsyncIterator[AsyncService]:
    if request.param == "socket":
        server: RunningServer = request.getfixturevalue("small_server")
        yield AsyncService(server.base_url, server.data_dir, None)
        return
    app = create_app(make_settings(tmp_path / "data"))
    async with app.router.lifespan_context(app):
        yield AsyncService(IN_PROCESS_URL, tmp_path / "data", httpx.ASGITransport(app=app))


@pytest.fixture
async def async_client(async_service: AsyncService) -> AsyncIterator[AsyncClient]:
    """An async client for a new user, who has no workspace yet."""
    async with async_service.client(user_id=uuid4()) as client:
        yield client


@pytest.fixture
async def async_chat(async_client: AsyncClient) -> Chat:
    await async_client.ensure_workspace()
    return await async_client.create_chat()
