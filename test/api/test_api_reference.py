"""docs/api.md, the service's own API reference, names exactly the routes the service
serves, every header of its OpenAPI description and every error code it answers."""

import re
from pathlib import Path

import httpx
import pytest

from api.problems import STATUS_OF
from domain.errors import DomainError
from test.api.conftest import Json, openapi_description

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "api.md"
# `GET /v1/chats/{chat_id}` anywhere in the page, in a heading or in the text.
ROUTE = re.compile(r"`(GET|HEAD|PUT|POST|PATCH|DELETE|OPTIONS) (/[^`\s]*)`")
# A row of the error table: | 404 | `chat_not_found` | ...
ERROR_ROW = re.compile(r"^\| (\d{3}) \| `([a-z_]+)` \|", re.MULTILINE)
# A status and code written together in the api layer: problem(422, "validation_error", ...),
# HttpProblemError(401, "unauthorized", ...), {404: "not_found", ...}.
API_LAYER_CODE = re.compile(r"""(?:\(\s*|[{,]\s*)(\d{3})(?:,|:)\s*"([a-z_]+)\"""")
# Served beside the description, not described in it.
OUTSIDE_THE_DESCRIPTION = {
    ("get", "/openapi.json"): "/openapi.json",
    ("get", "/docs"): "/docs",
    ("get", "/docs/assets/{file}"): "/docs/assets/swagger-ui.css",
}

Route = tuple[str, str]


@pytest.fixture(scope="module")
def description(tmp_path_factory: pytest.TempPathFactory) -> Json:
    return openapi_description(tmp_path_factory.mktemp("reference") / "data")


@pytest.fixture(scope="module")
def reference() -> str:
    return REFERENCE.read_text(encoding="utf-8")


def documented_routes(reference: str) -> set[Route]:
    return {(method.lower(), path) for method, path in ROUTE.findall(reference)}


def described_routes(description: Json) -> set[Route]:
    return {(method, path) for path, item in description["paths"].items() for method in item}


def covered(route: Route, routes: set[Route]) -> bool:
    """Named in `routes`; a HEAD also by its GET, since every GET route answers HEAD."""
    method, path = route
    return route in routes or (method == "head" and ("get", path) in routes)


def test_reference_documents_every_operation_of_the_description(
    description: Json, reference: str
) -> None:
    documented = documented_routes(reference)

    missing = {route for route in described_routes(description) if not covered(route, documented)}
    assert not missing, sorted(missing)


def test_every_route_the_reference_documents_is_described(
    description: Json, reference: str
) -> None:
    described = described_routes(description)

    unknown = {
        route
        for route in documented_routes(reference) - set(OUTSIDE_THE_DESCRIPTION)
        if not covered(route, described)
    }
    assert not unknown, sorted(unknown)


@pytest.mark.anyio
@pytest.mark.parametrize(("route", "url"), list(OUTSIDE_THE_DESCRIPTION.items()))
async def test_routes_outside_the_description_are_documented_and_served(
    client: httpx.AsyncClient, reference: str, route: Route, url: str
) -> None:
    assert route in documented_routes(reference)

    response = await client.request(route[0].upper(), url)

    assert response.status_code == 200, url


def service_error_codes() -> set[tuple[int, str]]:
    """The domain's error table, and every status and code the api layer writes itself."""
    codes = {
        (status, error.code)
        for error, status in STATUS_OF.items()
        if issubclass(error, DomainError)
    }
    for path in (ROOT / "api").rglob("*.py"):
        codes |= {
            (int(status), code)
            for status, code in API_LAYER_CODE.findall(path.read_text(encoding="utf-8"))
        }
    return codes


def test_reference_lists_every_error_code_the_service_answers(reference: str) -> None:
    rows = {(int(status), code) for status, code in ERROR_ROW.findall(reference)}
    answered = service_error_codes()

    assert {(401, "unauthorized"), (405, "method_not_allowed"), (500, "internal_error")} <= answered
    assert not answered - rows, sorted(answered - rows)


def described_headers(description: Json) -> set[str]:
    """Every header the description names: parameters, security schemes and responses."""
    names = {
        scheme["name"]
        for scheme in description["components"]["securitySchemes"].values()
        if scheme.get("in") == "header"
    }
    for item in description["paths"].values():
        for operation in item.values():
            names |= {
                parameter["name"]
                for parameter in operation.get("parameters", [])
                if parameter["in"] == "header"
            }
            for response in operation["responses"].values():
                names |= set(response.get("headers", {}))
    return names


def test_reference_names_every_header_of_the_description(description: Json, reference: str) -> None:
    named = {token.lower() for token in re.findall(r"`([A-Za-z-]+)`", reference)}
    headers = described_headers(description)

    assert {"X-User-Id", "ETag", "Location", "Range"} <= headers
    assert not {name for name in headers if name.lower() not in named}
