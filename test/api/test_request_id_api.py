"""X-Request-Id: taken from the gateway when sane, made otherwise, echoed on every answer."""

import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.request_id import RequestIds, given_request_id
from test.api.conftest import UserApi, assert_problem, make_settings

pytestmark = pytest.mark.anyio

MADE = re.compile(r"^[0-9a-f]{16}-[0-9a-f]+$")


def test_made_ids_are_distinct_and_differ_between_makers() -> None:
    first, second = RequestIds(), RequestIds()

    made = [first.make() for _ in range(1000)] + [second.make() for _ in range(1000)]

    assert len(set(made)) == len(made)
    assert all(MADE.match(each) for each in made)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(b"a", id="one-character"),
        pytest.param(b"x" * 128, id="128-characters"),
        pytest.param(str(uuid.uuid4()).encode(), id="uuid"),
        pytest.param(b"01HQ3Z.trace_9:span-7", id="every-allowed-sign"),
    ],
)
def test_a_sane_id_is_taken(value: bytes) -> None:
    assert given_request_id([(b"x-request-id", value)]) == value.decode()


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param([], id="none"),
        pytest.param([(b"x-request-id", b"")], id="empty"),
        pytest.param([(b"x-request-id", b"x" * 129)], id="129-characters"),
        pytest.param([(b"x-request-id", b"a b")], id="space"),
        pytest.param([(b"x-request-id", b"a,b")], id="comma-list"),
        pytest.param([(b"x-request-id", b"a\tb")], id="tab"),
        pytest.param([(b"x-request-id", b"a/b")], id="slash"),
        pytest.param([(b"x-request-id", b'a"b')], id="quote"),
        pytest.param([(b"x-request-id", "é".encode())], id="utf-8"),
        pytest.param([(b"x-request-id", b"a"), (b"x-request-id", b"a")], id="given-twice"),
    ],
)
def test_no_id_is_taken_from_a_missing_insane_or_repeated_header(
    headers: list[tuple[bytes, bytes]],
) -> None:
    assert given_request_id(headers) is None


async def test_a_sane_id_from_the_gateway_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-Id": "gw-42:a.b_c"})

    assert response.headers["X-Request-Id"] == "gw-42:a.b_c"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param([("X-Request-Id", "x" * 129)], id="too-long"),
        pytest.param([("X-Request-Id", "a b")], id="space"),
        pytest.param([("X-Request-Id", "a"), ("X-Request-Id", "a")], id="given-twice"),
    ],
)
async def test_an_insane_id_is_replaced_by_a_made_one(
    client: httpx.AsyncClient, headers: list[tuple[str, str]]
) -> None:
    response = await client.get("/healthz", headers=headers)

    assert MADE.match(response.headers["X-Request-Id"])
    assert len(response.headers.get_list("X-Request-Id")) == 1


async def test_a_request_without_an_id_gets_a_new_one_each_time(
    client: httpx.AsyncClient,
) -> None:
    ids = [(await client.get("/healthz")).headers["X-Request-Id"] for _ in range(3)]

    assert all(MADE.match(each) for each in ids)
    assert len(set(ids)) == 3


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        pytest.param("GET", "/v1/workspace", 401, id="problem"),
        pytest.param("GET", "/no/such/route", 404, id="unknown-route"),
        pytest.param("GET", "/v1/chats/a%2Fb", 404, id="encoded-slash"),
        pytest.param("PATCH", "/healthz", 405, id="unknown-method"),
        pytest.param("HEAD", "/healthz", 200, id="head"),
        pytest.param("HEAD", "/no/such/route", 404, id="head-unknown-route"),
    ],
)
async def test_every_answer_echoes_the_id(
    client: httpx.AsyncClient, method: str, path: str, status: int
) -> None:
    response = await client.request(method, path, headers={"X-Request-Id": "req-1"})

    assert response.status_code == status
    assert response.headers["X-Request-Id"] == "req-1"


async def test_a_refused_body_echoes_the_id(user: UserApi, chat_id: str) -> None:
    response = await user.post(
        f"/v1/chats/{chat_id}/files",
        content=b"not multipart",
        headers={"Content-Type": "text/plain", "X-Request-Id": "req-2"},
    )

    assert response.status_code in (415, 422)
    assert response.headers["X-Request-Id"] == "req-2"


class _BrokenClock:
    def now(self) -> datetime:
        raise RuntimeError("the clock is broken")


@pytest.fixture
async def failing_client(data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(data_dir), clock=_BrokenClock())
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        yield client


async def test_an_unexpected_failure_echoes_the_id(failing_client: httpx.AsyncClient) -> None:
    user = UserApi(failing_client, uuid.uuid4())

    response = await user.put("/v1/workspace", headers={"X-Request-Id": "req-500"})

    assert_problem(response, 500, "internal_error")
    assert response.headers["X-Request-Id"] == "req-500"
