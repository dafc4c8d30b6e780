"""Problem answers become one exception class per code, under one class per status; what
the client sends to identify itself. Codes the client's own calls cannot provoke are
checked on answers the real service gives to raw requests, and on answers made up by an
`httpx.MockTransport` where the service does not (yet) give them."""

from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from api.problems import problem as service_problem
from chatstore_client import (
    APIResponseError,
    APIStatusError,
    BadRequestError,
    ChatstoreError,
    Client,
    MethodNotAllowedError,
    NotFoundError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
    ValidationError,
)
from chatstore_client.errors import ERROR_OF_CODE, ERROR_OF_STATUS, error_from_response
from test.api.conftest import make_settings
from test.client.conftest import (
    GATEWAY_TOKEN,
    IN_PROCESS_URL,
    NO_WAIT,
    Service,
    in_process_transport,
)

# api.md's error table, but for the codes of v2 features the service has not built yet.
CONTRACT_CODES = [
    (400, "invalid_user_id"),
    (400, "bad_request"),
    (401, "user_id_required"),
    (401, "unauthorized"),
    (404, "workspace_not_found"),
    (404, "chat_not_found"),
    (404, "chat_file_not_found"),
    (404, "sandbox_session_not_found"),
    (404, "history_revision_not_found"),
    (404, "not_found"),
    (405, "method_not_allowed"),
    (409, "chat_has_active_sandbox"),
    (409, "sandbox_already_active"),
    (412, "precondition_failed"),
    (414, "uri_too_long"),
    (413, "file_too_large"),
    (413, "history_too_large"),
    (415, "unsupported_media_type"),
    (416, "range_not_satisfiable"),
    (431, "request_header_fields_too_large"),
    (422, "invalid_attachment_name"),
    (422, "reserved_attachment_name"),
    (422, "duplicate_attachment_name"),
    (422, "invalid_history_encoding"),
    (422, "invalid_archive"),
    (422, "validation_error"),
    (500, "internal_error"),
    (503, "storage_unavailable"),
    (507, "workspace_quota_exceeded"),
    (507, "insufficient_storage"),
]


def problem(status: int, code: str, detail: str = "what went wrong") -> httpx.Response:
    """The answer the service gives for this problem, as its own error table writes it."""
    answer = service_problem(status, code, detail)
    return httpx.Response(status, content=bytes(answer.body), headers=dict(answer.headers))


def answering(response: httpx.Response) -> Client:
    return Client(
        IN_PROCESS_URL,
        user_id=uuid4(),
        max_retries=0,
        transport=httpx.MockTransport(lambda _request: response),
    )


def test_every_contract_code_has_its_own_class() -> None:
    classes = [ERROR_OF_CODE[code] for _, code in CONTRACT_CODES]

    assert len(set(classes)) == len(CONTRACT_CODES)
    assert set(ERROR_OF_CODE) == {code for _, code in CONTRACT_CODES}


@pytest.mark.parametrize(("status", "code"), CONTRACT_CODES, ids=[c for _, c in CONTRACT_CODES])
def test_a_problem_raises_the_class_of_its_code(status: int, code: str) -> None:
    answer = problem(status, code, detail=f"{code} happened")

    with answering(answer) as client, pytest.raises(APIStatusError) as raised:
        client.get_workspace()

    error = raised.value
    assert type(error) is ERROR_OF_CODE[code]
    assert isinstance(error, ERROR_OF_STATUS[status])
    assert isinstance(error, ChatstoreError)
    assert (error.status, error.code, error.detail) == (status, code, f"{code} happened")
    assert error.title == HTTPStatus(status).phrase
    assert error.response.status_code == status
    assert str(error) == f"{status} {code}: {code} happened"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        pytest.param(problem(404, "a_code_of_a_newer_service"), NotFoundError, id="unknown-code"),
        pytest.param(problem(500, "chat_not_found"), ERROR_OF_STATUS[500], id="code-off-status"),
        pytest.param(problem(418, "teapot"), APIStatusError, id="unknown-status"),
        pytest.param(
            httpx.Response(400, text="Invalid HTTP request received."),
            BadRequestError,
            id="not-a-problem",
        ),
        pytest.param(httpx.Response(502, json=["not", "an", "object"]), APIStatusError, id="502"),
        pytest.param(
            httpx.Response(307, headers={"Location": "/v1/workspace/"}),
            APIStatusError,
            id="redirect",
        ),
    ],
)
def test_an_answer_without_a_known_code_falls_back_to_its_status(
    answer: httpx.Response, expected: type[APIStatusError]
) -> None:
    with answering(answer) as client, pytest.raises(APIStatusError) as raised:
        client.get_workspace()

    assert type(raised.value) is expected
    assert raised.value.status == answer.status_code


def test_an_answer_that_is_not_a_problem_has_no_code() -> None:
    answer = httpx.Response(400, text="Invalid HTTP request received.")
    with answering(answer) as client, pytest.raises(BadRequestError) as raised:
        client.get_workspace()

    assert raised.value.code is None
    assert raised.value.detail == "Bad Request"


def test_a_success_that_does_not_parse_raises_api_response_error() -> None:
    answer = httpx.Response(200, json={"workspace_id": "nope"})
    with answering(answer) as client, pytest.raises(APIResponseError) as raised:
        client.get_workspace()

    assert raised.value.response is answer


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"ETag": '"e"'}, id="no-revision"),
        pytest.param({"ETag": '"e"', "X-History-Revision": "-1"}, id="not-a-revision"),
        pytest.param({"X-History-Revision": "3"}, id="no-etag"),
    ],
)
def test_a_history_write_answer_without_etag_and_revision_raises_api_response_error(
    headers: dict[str, str],
) -> None:
    answer = httpx.Response(204, headers=headers)
    with answering(answer) as client, pytest.raises(APIResponseError):
        client.put_history(uuid4(), "# history")


# Answers of the real service to requests the client never makes


@pytest.fixture
def raw(service: Service) -> Iterator[httpx.Client]:
    headers = {"X-User-Id": str(uuid4())}
    with httpx.Client(
        base_url=service.base_url, transport=service.transport, headers=headers
    ) as raw:
        assert raw.put("/v1/workspace").status_code == 201
        yield raw


def test_a_route_that_does_not_exist_is_not_found(raw: httpx.Client) -> None:
    error = error_from_response(raw.get("/v1/nothing-here"))

    assert type(error) is NotFoundError
    assert error.code == "not_found"


def test_a_method_a_route_does_not_serve_is_method_not_allowed(raw: httpx.Client) -> None:
    error = error_from_response(raw.patch("/v1/chats"))

    assert type(error) is MethodNotAllowedError
    assert error.response.headers["allow"] == "GET, HEAD, POST"


def test_an_upload_that_is_not_multipart_is_unsupported_media_type(raw: httpx.Client) -> None:
    chat_id = raw.post("/v1/chats").json()["chat_id"]

    error = error_from_response(raw.post(f"/v1/chats/{chat_id}/files", json={"file": "x"}))

    assert type(error) is UnsupportedMediaTypeError


def test_a_malformed_path_id_is_a_validation_error(client: Client) -> None:
    client.ensure_workspace()

    with pytest.raises(ValidationError):
        client.get_chat("not-a-uuid")


def test_an_id_is_one_path_segment_whatever_it_holds(client: Client, service: Service) -> None:
    client.ensure_workspace()

    with pytest.raises(NotFoundError):
        client.get_chat("../workspace")

    assert service.sent[-1].url.raw_path.endswith(b"/v1/chats/..%2Fworkspace")


# Identity: what the client sends


def test_every_request_names_the_user_the_gateway_and_the_client() -> None:
    seen: list[httpx.Request] = []
    user = uuid4()

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return problem(404, "workspace_not_found")

    with Client(
        "http://chatstore.internal/prefix/",
        user_id=user,
        token="s3cret",
        transport=httpx.MockTransport(record),
    ) as client:
        with pytest.raises(NotFoundError):
            client.get_workspace()
        with pytest.raises(NotFoundError):
            client.get_workspace(token="other", headers={"X-Request-Id": "r1"}, timeout=1.5)

    first, second = seen
    assert str(first.url) == "http://chatstore.internal/prefix/v1/workspace"
    assert first.headers["authorization"] == "Bearer s3cret"
    assert first.headers["x-user-id"] == str(user)
    assert first.headers["user-agent"].startswith("chatstore-client/")
    assert second.headers["authorization"] == "Bearer other"
    assert second.headers["x-request-id"] == "r1"
    assert second.extensions["timeout"]["read"] == 1.5


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[httpx.BaseTransport]:
    settings = make_settings(tmp_path / "data", gateway_token=GATEWAY_TOKEN)
    with in_process_transport(settings) as transport:
        yield transport


@pytest.mark.parametrize("token", [None, "wrong"], ids=["none", "wrong"])
def test_without_the_gateway_token_raises_unauthorized(
    guarded: httpx.BaseTransport, token: str | None
) -> None:
    client = Client(IN_PROCESS_URL, user_id=uuid4(), token=token, transport=guarded)
    with client, pytest.raises(UnauthorizedError) as raised:
        client.ensure_workspace()

    assert (raised.value.status, raised.value.code) == (401, "unauthorized")
    assert raised.value.response.headers["www-authenticate"] == "Bearer"


def test_with_the_gateway_token_is_let_in(guarded: httpx.BaseTransport) -> None:
    with Client(IN_PROCESS_URL, user_id=uuid4(), transport=guarded, backoff=NO_WAIT) as client:
        workspace = client.ensure_workspace(token=GATEWAY_TOKEN)

        assert client.with_options(token=GATEWAY_TOKEN).get_workspace() == workspace
