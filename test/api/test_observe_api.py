"""What the service observes of each request: one access line, the id on every line logged
while serving it, requests in flight, and the fsyncs (api.observe, ADR 0028)."""

import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from starlette.types import Message

from api.app import create_app
from api.log_format import ACCESS_FIELDS, JsonFormatter
from api.observe import ACCESS_LOGGER
from api.request_id import RequestIdFilter, current_request_id
from domain.errors import StorageUnavailableError
from repository.memory import InMemoryMetadataStore
from test.api.conftest import UserApi, in_process_client, make_settings, put_history
from test.api.test_operations_api import metrics_text, sample_value

pytestmark = pytest.mark.anyio

FIELDS = {"method", "route", "status", "bytes_sent", "bytes_received", "duration_ms"}


@pytest.fixture
def access(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """caplog with the access lines and the request id filter the server installs."""
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    caplog.handler.addFilter(RequestIdFilter())
    return caplog


def access_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == ACCESS_LOGGER]


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = getattr(record, ACCESS_FIELDS)
    return fields


async def test_one_access_line_per_request_with_its_route_template(
    access: pytest.LogCaptureFixture, user: UserApi, chat_id: str
) -> None:
    put = await user.put(
        f"/v1/chats/{chat_id}/history", content=b"# hi\n", headers={"X-Request-Id": "put-1"}
    )
    access.clear()

    got = await user.get(f"/v1/chats/{chat_id}/history", headers={"X-Request-Id": "get-1"})

    [line] = access_lines(access)
    assert put.status_code == 204
    assert line.request_id == got.headers["X-Request-Id"] == "get-1"  # type: ignore[attr-defined]
    fields = fields_of(line)
    assert set(fields) == FIELDS
    assert fields["method"] == "GET"
    assert fields["route"] == "/v1/chats/{chat_id}/history"
    assert fields["status"] == 200
    assert fields["bytes_sent"] == len(got.content) == 5
    assert fields["bytes_received"] == 0
    assert fields["duration_ms"] >= 0
    assert chat_id not in line.getMessage()


async def test_the_access_line_counts_the_bytes_received(
    access: pytest.LogCaptureFixture, user: UserApi, chat_id: str
) -> None:
    access.clear()

    await put_history(user, chat_id, b"x" * 3000)

    [line] = access_lines(access)
    assert fields_of(line)["bytes_received"] == 3000
    assert fields_of(line)["status"] == 204


@pytest.mark.parametrize(
    ("method", "path", "route", "status"),
    [
        pytest.param("HEAD", "/healthz", "/healthz", 200, id="head-has-its-route"),
        pytest.param("GET", "/no/such/route", "unmatched", 404, id="unknown-route"),
        pytest.param("DELETE", "/healthz", "/healthz", 405, id="method-of-no-route"),
    ],
)
async def test_the_access_line_of_head_and_of_no_route(
    access: pytest.LogCaptureFixture,
    client: httpx.AsyncClient,
    method: str,
    path: str,
    route: str,
    status: int,
) -> None:
    access.clear()

    response = await client.request(method, path)

    [line] = access_lines(access)
    assert fields_of(line)["method"] == method
    assert fields_of(line)["route"] == route
    assert fields_of(line)["status"] == status == response.status_code
    assert line.request_id == response.headers["X-Request-Id"]  # type: ignore[attr-defined]


async def test_the_access_line_is_one_json_object(
    access: pytest.LogCaptureFixture, client: httpx.AsyncClient
) -> None:
    access.clear()

    response = await client.get("/healthz", headers={"X-Request-Id": "json-1"})

    [line] = access_lines(access)
    parsed = json.loads(JsonFormatter().format(line))
    assert parsed["request_id"] == "json-1"
    assert parsed["route"] == "/healthz"
    assert parsed["status"] == 200
    assert parsed["bytes_sent"] == len(response.content)
    assert parsed["level"] == "INFO"
    assert parsed["logger"] == ACCESS_LOGGER
    assert "\n" not in JsonFormatter().format(line)


async def test_the_id_is_reset_once_the_request_is_answered(client: httpx.AsyncClient) -> None:
    await client.get("/healthz", headers={"X-Request-Id": "gone-after"})

    assert current_request_id.get() is None


class _StoreThatCannotScrub(InMemoryMetadataStore):
    async def scrub(self) -> None:
        raise StorageUnavailableError("the store cannot scrub now")


@pytest.fixture
async def erasing_client(data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(data_dir), metadata=_StoreThatCannotScrub())
    async with app.router.lifespan_context(app), in_process_client(app) as client:
        yield client


async def test_a_warning_logged_deep_in_a_use_case_carries_the_request_id(
    access: pytest.LogCaptureFixture, erasing_client: httpx.AsyncClient
) -> None:
    user = UserApi(erasing_client, uuid.uuid4())
    assert (await user.put("/v1/workspace")).status_code == 201
    access.clear()

    erased = await user.request("DELETE", "/v1/workspace", headers={"X-Request-Id": "erase-1"})

    assert erased.status_code == 204
    [warning] = [record for record in access.records if record.name == "usecase.erasure"]
    assert warning.levelno == logging.WARNING
    assert warning.request_id == "erase-1"  # type: ignore[attr-defined]
    assert json.loads(JsonFormatter().format(warning))["request_id"] == "erase-1"


async def test_a_client_hanging_up_mid_body_is_logged_with_499(
    access: pytest.LogCaptureFixture, app: FastAPI, user: UserApi, chat_id: str
) -> None:
    access.clear()
    messages: Iterator[Message] = iter(
        [
            {"type": "http.request", "body": b"# half", "more_body": True},
            {"type": "http.disconnect"},
        ]
    )
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PUT",
        "scheme": "http",
        "path": f"/v1/chats/{chat_id}/history",
        "raw_path": f"/v1/chats/{chat_id}/history".encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"x-user-id", str(user.user_id).encode()),
            (b"x-request-id", b"gone-1"),
            (b"content-length", b"1000"),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }

    async def receive() -> Message:
        return next(messages)

    async def send(_message: Message) -> None:
        pass

    await app(scope, receive, send)

    [line] = access_lines(access)
    assert line.request_id == "gone-1"  # type: ignore[attr-defined]
    assert fields_of(line)["status"] == 499
    assert fields_of(line)["route"] == "/v1/chats/{chat_id}/history"
    assert fields_of(line)["bytes_received"] == len(b"# half")


# /metrics


async def test_a_request_blocked_mid_body_counts_as_in_flight(
    client: httpx.AsyncClient, user: UserApi, chat_id: str
) -> None:
    gauge = "chatstore_http_requests_in_flight"
    # A scrape is in flight itself while it renders.
    assert sample_value(await metrics_text(client), gauge, {}) == 1
    release = anyio.Event()
    started = anyio.Event()

    async def body() -> AsyncIterator[bytes]:
        yield b"# first half\n"
        started.set()
        await release.wait()
        yield b"# second half\n"

    async def put() -> None:
        response = await client.put(
            f"/v1/chats/{chat_id}/history",
            content=body(),
            headers={"X-User-Id": str(user.user_id)},
        )
        assert response.status_code == 204

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(put)
        await started.wait()
        assert sample_value(await metrics_text(client), gauge, {}) == 2
        release.set()

    assert sample_value(await metrics_text(client), gauge, {}) == 1


async def test_fsyncs_are_a_histogram_that_a_put_grows(
    client: httpx.AsyncClient, user: UserApi, chat_id: str
) -> None:
    name = "chatstore_fsync_duration_seconds"
    before = await metrics_text(client)

    await put_history(user, chat_id, b"# durable\n")

    after = await metrics_text(client)
    assert sample_value(after, f"{name}_count", {}) > sample_value(before, f"{name}_count", {})
    assert sample_value(after, f"{name}_sum", {}) > sample_value(before, f"{name}_sum", {})
    bounds = [
        sample.labels["le"]
        for family in text_string_to_metric_families(after)
        if family.name == name
        for sample in family.samples
        if sample.name == f"{name}_bucket"
    ]
    assert bounds[0] == "5e-05"
    assert bounds[-2:] == ["1.0", "+Inf"]
    total = sample_value(after, f"{name}_count", {})
    assert sample_value(after, f"{name}_bucket", {"le": "+Inf"}) == total
