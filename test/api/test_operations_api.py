import fnmatch
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from api.problems import STATUS_OF
from domain import errors
from domain.errors import StorageUnavailableError
from test.api.conftest import (
    Part,
    UserApi,
    assert_problem,
    make_settings,
    multipart_body,
    upload,
    upload_file,
)
from test.api.fakes import FlakyStorage
from test.routes import CHAT_ROUTES

pytestmark = pytest.mark.anyio


async def test_healthz_answers_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "ok"}


async def test_readyz_answers_200_when_storage_and_metadata_answer(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/readyz")

    assert response.status_code == 200


async def test_readyz_answers_503_naming_the_data_dir_when_it_is_not_writable(
    flaky_client: httpx.AsyncClient, flaky_storage: FlakyStorage
) -> None:
    flaky_storage.writable_error = StorageUnavailableError("staging refused a new file")

    response = await flaky_client.get("/readyz")

    body = assert_problem(response, 503, "storage_unavailable")
    assert "data_dir" in body["detail"]
    assert "metadata" not in body["detail"]


async def test_readyz_recovers_once_the_data_dir_is_writable_again(
    flaky_client: httpx.AsyncClient, flaky_storage: FlakyStorage
) -> None:
    flaky_storage.writable_error = StorageUnavailableError("staging refused a new file")
    assert_problem(await flaky_client.get("/readyz"), 503, "storage_unavailable")
    flaky_storage.writable_error = None

    response = await flaky_client.get("/readyz")

    assert response.status_code == 200


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through a read-only mode")
async def test_readyz_answers_503_when_staging_is_read_only(
    client: httpx.AsyncClient, data_dir: Path
) -> None:
    staging = data_dir / "staging"
    staging.chmod(0o500)
    try:
        response = await client.get("/readyz")
    finally:
        staging.chmod(0o700)

    body = assert_problem(response, 503, "storage_unavailable")
    assert "data_dir" in body["detail"]


async def test_readyz_answers_503_when_staging_is_gone(
    client: httpx.AsyncClient, data_dir: Path
) -> None:
    shutil.rmtree(data_dir / "staging")

    response = await client.get("/readyz")

    body = assert_problem(response, 503, "storage_unavailable")
    assert "data_dir" in body["detail"]


# /metrics


def sample_value(text: str, name: str, labels: dict[str, str]) -> float:
    """The value of one sample of the Prometheus text, 0 when it is not there yet."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


async def metrics_text(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200
    return response.text


async def test_metrics_are_prometheus_text(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert "chatstore_http_requests" in names
    assert "chatstore_http_request_duration_seconds" in names


async def test_requests_are_counted_by_route_template_and_status(
    client: httpx.AsyncClient, user: UserApi, chat_id: str
) -> None:
    await user.get(f"/v1/chats/{chat_id}")
    await user.get(f"/v1/chats/{chat_id}")
    await user.get("/v1/chats/00000000-0000-4000-8000-000000000000")

    text = await metrics_text(client)

    route = {"method": "GET", "route": "/v1/chats/{chat_id}"}
    total = "chatstore_http_requests_total"
    assert sample_value(text, total, {**route, "status": "200"}) == 2
    assert sample_value(text, total, {**route, "status": "404"}) == 1
    assert chat_id not in text


async def test_request_latency_is_a_histogram_by_route_and_status(
    client: httpx.AsyncClient, user: UserApi, chat_id: str
) -> None:
    await user.get(f"/v1/chats/{chat_id}")

    text = await metrics_text(client)

    labels = {"method": "GET", "route": "/v1/chats/{chat_id}", "status": "200"}
    name = "chatstore_http_request_duration_seconds"
    assert sample_value(text, f"{name}_count", labels) == 1
    assert sample_value(text, f"{name}_bucket", {**labels, "le": "+Inf"}) == 1
    assert sample_value(text, f"{name}_sum", labels) > 0


async def test_unknown_paths_share_one_route_label(client: httpx.AsyncClient) -> None:
    await client.get("/no/such/path/1")
    await client.get("/no/such/path/2")

    text = await metrics_text(client)

    assert "/no/such/path" not in text


async def test_uploaded_bytes_grow_by_the_request_body(
    client: httpx.AsyncClient, user: UserApi, chat_id: str
) -> None:
    route = {"route": "/v1/chats/{chat_id}/files"}
    before = sample_value(await metrics_text(client), "chatstore_uploaded_bytes_total", route)
    body = multipart_body(Part("a.bin", b"u" * 5000))

    assert (await upload(user, chat_id, Part("a.bin", b"u" * 5000))).status_code == 201

    after = sample_value(await metrics_text(client), "chatstore_uploaded_bytes_total", route)
    assert after - before == len(body)


async def test_downloaded_bytes_grow_by_the_bytes_sent(
    client: httpx.AsyncClient, user: UserApi, chat_id: str
) -> None:
    item = await upload_file(user, chat_id, "a.bin", b"d" * 7000)
    route = {"route": "/v1/chats/{chat_id}/files/{file_id}/content"}
    before = sample_value(await metrics_text(client), "chatstore_downloaded_bytes_total", route)

    response = await user.get(f"/v1/chats/{chat_id}/files/{item['file_id']}/content")

    assert len(response.content) == 7000
    after = sample_value(await metrics_text(client), "chatstore_downloaded_bytes_total", route)
    assert after - before == 7000


# /openapi.json and /docs

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
IDENTITY = (400, 401)

# What each route on a chat answers besides ON_A_CHAT: 404 for a chat that is not the
# caller's and 422 for an id that is not one, with the identity statuses.
ON_A_CHAT = {404, 422, *IDENTITY}
CHAT_ROUTE_STATUSES = {
    "get-chat": {200},
    "delete-chat": {204, 409, 503},
    "get-history": {200, 304, 503},
    "put-history": {204, 412, 413, 503, 507},
    "upload": {201, 413, 415, 503, 507},
    "list-files": {200},
    "clear-files": {204, 503},
    "rescan": {200, 503},
    "get-file": {200},
    "delete-file": {204, 503},
    "download": {200, 206, 304, 416, 503},
    "start-session": {201, 409},
    "active-session": {200},
    "heartbeat": {200},
    "end-session": {204, 503},
    "export-chat": {200, 503},
}

ROUTE_STATUSES = [
    pytest.param("put", "/v1/workspace", {200, 201, *IDENTITY}, id="put-workspace"),
    pytest.param("get", "/v1/workspace", {200, 404, *IDENTITY}, id="get-workspace"),
    pytest.param("get", "/v1/workspace/usage", {200, 404, *IDENTITY}, id="usage"),
    pytest.param("delete", "/v1/workspace", {204, 404, 409, 503, *IDENTITY}, id="erase-workspace"),
    pytest.param("get", "/v1/workspace/export", {200, 404, 503, *IDENTITY}, id="export"),
    pytest.param("post", "/v1/chats", {201, 404, 503, 507, *IDENTITY}, id="create-chat"),
    pytest.param("get", "/v1/chats", {200, 404, 422, *IDENTITY}, id="list-chats"),
    *(
        pytest.param(method.lower(), path, CHAT_ROUTE_STATUSES[name] | ON_A_CHAT, id=name)
        for method, path, name in CHAT_ROUTES
    ),
    pytest.param("get", "/healthz", {200}, id="healthz"),
    pytest.param("get", "/readyz", {200, 503}, id="readyz"),
    pytest.param("get", "/metrics", {200}, id="metrics"),
]


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The document /openapi.json serves, built once for the tables below. What FastAPI
    warns while building it is asserted by test_openapi_is_built_without_warnings."""
    app = create_app(make_settings(tmp_path_factory.mktemp("openapi") / "data"))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Duplicate Operation ID", UserWarning)
        return app.openapi()


async def test_openapi_is_built_without_warnings(
    client: httpx.AsyncClient, schema: dict[str, Any]
) -> None:
    response = await client.get("/openapi.json")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == schema


@pytest.mark.parametrize(("method", "path", "statuses"), ROUTE_STATUSES)
async def test_openapi_lists_every_status_a_route_can_answer(
    schema: dict[str, Any], method: str, path: str, statuses: set[int]
) -> None:
    responses = schema["paths"][path][method]["responses"]

    assert statuses <= {int(status) for status in responses}
    for status in statuses:
        if status >= 400:
            content = responses[str(status)]["content"]
            assert content == {"application/problem+json": {"schema": PROBLEM_REF}}


async def test_openapi_documents_the_problem_body(schema: dict[str, Any]) -> None:
    problem = schema["components"]["schemas"]["Problem"]

    assert set(problem["required"]) == {"type", "title", "status", "detail", "code"}
    assert set(problem["properties"]) == {"type", "title", "status", "detail", "code"}


CONTENT_PATH = "/v1/chats/{chat_id}/files/{file_id}/content"


@pytest.mark.parametrize(
    ("method", "headers", "status"),
    [
        pytest.param("GET", {}, "200", id="get"),
        pytest.param("GET", {"Range": "bytes=0-1"}, "206", id="get-range"),
        pytest.param("HEAD", {}, "200", id="head"),
        pytest.param("HEAD", {"Range": "bytes=0-1"}, "206", id="head-range"),
    ],
)
async def test_openapi_allows_the_stored_content_type_of_a_download(
    user: UserApi,
    chat_id: str,
    schema: dict[str, Any],
    method: str,
    headers: dict[str, str],
    status: str,
) -> None:
    """A download answers with the type its file was uploaded with, so the document must
    allow any type there, not only application/octet-stream."""
    item = await upload_file(user, chat_id, "page.html", b"<p>hi</p>", "text/html")

    response = await user.request(
        method, f"/v1/chats/{chat_id}/files/{item['file_id']}/content", headers=headers
    )

    assert response.status_code == int(status)
    assert response.headers["content-type"] == "text/html"
    # HEAD answers as the GET of its path does (api.head); the document names GET alone.
    documented = schema["paths"][CONTENT_PATH]["get"]["responses"][status]["content"]
    assert any(fnmatch.fnmatchcase("text/html", media_range) for media_range in documented)


async def test_openapi_upload_needs_a_file_part(schema: dict[str, Any]) -> None:
    """The service refuses an upload with no `file` part (422); the document says so too."""
    content = schema["paths"]["/v1/chats/{chat_id}/files"]["post"]["requestBody"]["content"]
    body = content["multipart/form-data"]["schema"]

    assert body["required"] == ["file"]
    assert body["properties"]["file"]["minItems"] == 1


async def test_openapi_describes_every_route_the_contract_names(schema: dict[str, Any]) -> None:
    documented = {(method, path) for path, item in schema["paths"].items() for method in item}

    named = {(param.values[0], param.values[1]) for param in ROUTE_STATUSES}
    assert named <= documented


async def test_openapi_operation_ids_are_unique(schema: dict[str, Any]) -> None:
    paths = schema["paths"].values()

    ids = [operation["operationId"] for item in paths for operation in item.values()]
    assert len(ids) == len(set(ids))


async def test_docs_page_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in response.text


async def test_a_routes_problem_entries_name_the_codes_of_its_errors(
    schema: dict[str, Any],
) -> None:
    download = schema["paths"][CONTENT_PATH]["get"]["responses"]

    assert "`chat_file_not_found`" in download["404"]["description"]
    assert "`chat_not_found`" in download["404"]["description"]
    assert "`range_not_satisfiable`" in download["416"]["description"]


async def test_every_domain_error_is_documented_under_its_status(schema: dict[str, Any]) -> None:
    """The error table feeds the description: each code appears under the status the
    table gives its class, on at least one route."""
    described: set[tuple[str, str]] = set()
    for item in schema["paths"].values():
        for operation in item.values():
            for status, response in operation["responses"].items():
                described.add((status, response.get("description", "")))

    for error_class, status in STATUS_OF.items():
        if error_class is errors.InvalidInputError:
            continue  # validation_error: every route's bare 422
        assert any(
            status_text == str(status) and f"`{error_class.code}`" in text
            for status_text, text in described
        ), error_class.__name__
