"""The OpenAPI description is complete enough for a generated client (api.md, Operations,
v1.1): identity as security schemes, response headers, binary bodies, date-time timestamps
and an optional sandbox body that a client may leave out."""

import re
from typing import Any

import httpx
import pytest

from test.api.conftest import (
    Json,
    UserApi,
    assert_problem,
    openapi_description,
    put_history,
    upload_file,
)

pytestmark = pytest.mark.anyio

BINARY = {"type": "string", "format": "binary"}
CALLER_SECURITY: list[dict[str, list[str]]] = [{"UserId": [], "GatewayToken": []}, {"UserId": []}]
HISTORY = "/v1/chats/{chat_id}/history"
CONTENT = "/v1/chats/{chat_id}/files/{file_id}/content"
SESSIONS = "/v1/chats/{chat_id}/sandbox-sessions"
DOWNLOAD_HEADERS = {
    "ETag",
    "Accept-Ranges",
    "Content-Length",
    "Content-Disposition",
    "X-Content-Type-Options",
    "Content-Security-Policy",
}


@pytest.fixture(scope="module")
def description(tmp_path_factory: pytest.TempPathFactory) -> Json:
    return openapi_description(tmp_path_factory.mktemp("openapi") / "data")


def operations(description: Json) -> list[tuple[str, str, Json]]:
    return [
        (method, path, operation)
        for path, item in description["paths"].items()
        for method, operation in item.items()
    ]


def test_identity_header_and_gateway_token_are_security_schemes(description: Json) -> None:
    schemes = description["components"]["securitySchemes"]

    assert set(schemes) == {"UserId", "GatewayToken"}
    assert schemes["UserId"]["type"] == "apiKey"
    assert schemes["UserId"]["in"] == "header"
    assert schemes["UserId"]["name"] == "X-User-Id"
    assert schemes["GatewayToken"]["type"] == "http"
    assert schemes["GatewayToken"]["scheme"] == "bearer"


def test_every_v1_operation_needs_the_user_id_and_may_need_the_token(description: Json) -> None:
    for method, path, operation in operations(description):
        header_parameters = {
            parameter["name"].lower()
            for parameter in operation.get("parameters", [])
            if parameter["in"] == "header"
        }
        assert not header_parameters & {"x-user-id", "authorization"}, (method, path)
        if path.startswith("/v1/"):
            assert operation["security"] == CALLER_SECURITY, (method, path)
        else:
            assert "security" not in operation, (method, path)


async def test_an_empty_user_id_is_still_invalid_not_missing(client: httpx.AsyncClient) -> None:
    """The security schemes only describe the headers: FastAPI's APIKeyHeader reads an
    empty value as no header at all, which would be 401, but `caller` judges it (400)."""
    response = await client.get("/v1/workspace", headers={"X-User-Id": ""})

    assert_problem(response, 400, "invalid_user_id")


@pytest.mark.parametrize(
    ("method", "path", "status", "headers"),
    [
        pytest.param("post", "/v1/chats", "201", {"Location"}, id="create-chat"),
        pytest.param("get", HISTORY, "200", {"ETag"}, id="get-history"),
        pytest.param("get", HISTORY, "304", {"ETag"}, id="history-not-modified"),
        pytest.param("put", HISTORY, "204", {"ETag"}, id="put-history"),
        pytest.param("get", CONTENT, "200", DOWNLOAD_HEADERS, id="download"),
        pytest.param(
            "get", CONTENT, "206", {*DOWNLOAD_HEADERS, "Content-Range"}, id="download-range"
        ),
        pytest.param("get", CONTENT, "304", {"ETag", "Accept-Ranges"}, id="not-modified"),
        pytest.param("get", CONTENT, "416", {"Content-Range"}, id="range-not-satisfiable"),
        pytest.param("get", "/v1/workspace", "401", {"WWW-Authenticate"}, id="unauthorized"),
    ],
)
def test_response_headers_are_declared(
    description: Json, method: str, path: str, status: str, headers: set[str]
) -> None:
    response = description["paths"][path][method]["responses"][status]

    assert headers <= set(response["headers"])


def _required_headers(description: Json, method: str, path: str, status: int) -> dict[str, Any]:
    headers: dict[str, Any] = description["paths"][path][method]["responses"][str(status)].get(
        "headers", {}
    )
    return {name: header for name, header in headers.items() if header.get("required")}


def assert_sends_declared_headers(
    description: Json, method: str, path: str, response: httpx.Response
) -> None:
    """Every header the description says this answer carries is there, in its pattern."""
    declared = _required_headers(description, method, path, response.status_code)
    assert declared, (method, path, response.status_code)
    for name, header in declared.items():
        assert name in response.headers, name
        schema = header["schema"]
        value = response.headers[name]
        if "pattern" in schema:
            assert re.search(schema["pattern"], value), (name, value)
        if "enum" in schema:
            assert value in schema["enum"], (name, value)


async def test_answers_carry_the_headers_their_description_declares(
    user: UserApi, workspace: Json, description: Json
) -> None:
    created = await user.post("/v1/chats")
    assert_sends_declared_headers(description, "post", "/v1/chats", created)
    chat_id = created.json()["chat_id"]
    put = await put_history(user, chat_id, b"# hello\n")
    assert_sends_declared_headers(description, "put", HISTORY, put)
    history = f"/v1/chats/{chat_id}/history"
    got = await user.get(history)
    assert_sends_declared_headers(description, "get", HISTORY, got)
    unchanged = await user.get(history, headers={"If-None-Match": got.headers["ETag"]})
    assert_sends_declared_headers(description, "get", HISTORY, unchanged)

    item = await upload_file(user, chat_id, "notes «1».txt", b"0123456789")
    content = f"/v1/chats/{chat_id}/files/{item['file_id']}/content"
    # A HEAD answers as the GET of its path, which is all the description names.
    for method in ("GET", "HEAD"):
        for headers in ({}, {"Range": "bytes=2-5"}):
            answer = await user.request(method, content, headers=headers)
            assert_sends_declared_headers(description, "get", CONTENT, answer)
    etag = {"If-None-Match": f'"{item["sha256"]}"'}
    assert_sends_declared_headers(
        description, "get", CONTENT, await user.get(content, headers=etag)
    )
    past_the_end = await user.get(content, headers={"Range": "bytes=10-"})
    assert_sends_declared_headers(description, "get", CONTENT, past_the_end)


@pytest.mark.parametrize("status", ["200", "206"])
def test_downloads_are_described_as_bytes(description: Json, status: str) -> None:
    content = description["paths"][CONTENT]["get"]["responses"][status]["content"]

    assert next(iter(content)) == "application/octet-stream"
    assert content["application/octet-stream"]["schema"] == BINARY


def test_history_body_is_described_as_bytes_a_generator_can_send(description: Json) -> None:
    body = description["paths"][HISTORY]["put"]["requestBody"]

    assert body["required"] is True
    assert body["content"] == {"application/octet-stream": {"schema": BINARY}}


def test_timestamps_are_date_times(description: Json) -> None:
    timestamps = {
        f"{name}.{field}": schema
        for name, model in description["components"]["schemas"].items()
        for field, schema in model.get("properties", {}).items()
        if field.endswith("_at")
    }

    assert {"WorkspaceOut.created_at", "SandboxSessionOut.expires_at"} <= set(timestamps)
    assert all(schema["format"] == "date-time" for schema in timestamps.values()), timestamps


def test_workspace_usage_is_described_with_every_figure_required(description: Json) -> None:
    usage = description["paths"]["/v1/workspace/usage"]["get"]["responses"]["200"]
    reference = usage["content"]["application/json"]["schema"]["$ref"]
    schema = description["components"]["schemas"][reference.rsplit("/", 1)[-1]]

    fields = ["workspace_id", "used_bytes", "revision_bytes", "quota_bytes"]
    assert list(schema["properties"]) == fields
    assert schema["required"] == fields
    assert all(schema["properties"][field]["type"] == "integer" for field in fields[1:])


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(SESSIONS, id="start-session"),
        pytest.param(f"{SESSIONS}/{{session_id}}/heartbeat", id="heartbeat"),
    ],
)
def test_optional_sandbox_body_is_the_model_itself_and_not_required(
    description: Json, path: str
) -> None:
    body = description["paths"][path]["post"]["requestBody"]

    assert body == {
        "required": False,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/SandboxSessionRequest"}}
        },
    }


def test_operation_ids_are_the_route_function_names(description: Json) -> None:
    ids = {operation["operationId"] for _method, _path, operation in operations(description)}

    assert {"create_chat", "put_history", "download_file_content", "start_session"} <= ids
    assert all(re.fullmatch("[a-z][a-z_]*", operation_id) for operation_id in ids), ids
