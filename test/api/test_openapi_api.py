"""The OpenAPI description is complete enough for a generated client (api.md, Operations,
v1.1): identity as security schemes, response headers, binary bodies, date-time timestamps
and an optional sandbox body that a client may leave out."""

import httpx
import pytest

from test.api.conftest import Json, assert_problem, openapi_description

pytestmark = pytest.mark.anyio

CALLER_SECURITY: list[dict[str, list[str]]] = [{"UserId": [], "GatewayToken": []}, {"UserId": []}]

SESSIONS = "/v1/chats/{chat_id}/sandbox-sessions"


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
