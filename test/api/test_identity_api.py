from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from test.api.conftest import (
    NOT_THE_36_CHARACTER_FORM,
    assert_problem,
    in_process_client,
    make_settings,
    running_app,
)

pytestmark = pytest.mark.anyio

TOKEN = "s3cret-gateway-token"

V1_ENDPOINTS = [
    pytest.param("PUT", "/v1/workspace", id="put-workspace"),
    pytest.param("GET", "/v1/chats", id="list-chats"),
    pytest.param("GET", f"/v1/chats/{uuid4()}/history", id="get-history"),
]


@pytest.mark.parametrize(("method", "path"), V1_ENDPOINTS)
async def test_request_without_user_id_is_refused(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path)

    assert_problem(response, 401, "user_id_required")


@pytest.mark.parametrize(
    "user_id",
    [
        *NOT_THE_36_CHARACTER_FORM,
        pytest.param(
            "6f1c3a52-6d0e-4a8e-9d1b-2b1a4a7d5e10, 6f1c3a52-6d0e-4a8e-9d1b-2b1a4a7d5e11",
            id="comma-list",
        ),
    ],
)
async def test_user_id_that_is_not_a_uuid_is_refused(
    client: httpx.AsyncClient, user_id: str
) -> None:
    # As bytes: a header of any text goes on the wire as its UTF-8.
    response = await client.get("/v1/workspace", headers={b"X-User-Id": user_id.encode()})

    assert_problem(response, 400, "invalid_user_id")


@pytest.mark.parametrize(
    "user_id",
    [
        pytest.param("6F1C3A52-6D0E-4A8E-9D1B-2B1A4A7D5E10", id="upper-case"),
        pytest.param(" 6f1c3a52-6d0e-4a8e-9d1b-2b1a4a7d5e10\t", id="surrounding-blanks"),
    ],
)
async def test_user_id_in_any_case_with_blanks_around_names_the_same_user(
    client: httpx.AsyncClient, user_id: str
) -> None:
    canonical = {"X-User-Id": "6f1c3a52-6d0e-4a8e-9d1b-2b1a4a7d5e10"}
    created = await client.put("/v1/workspace", headers=canonical)

    fetched = await client.get("/v1/workspace", headers={"X-User-Id": user_id})

    assert fetched.status_code == 200
    assert fetched.json() == created.json()


async def test_user_id_given_twice_is_refused_whatever_the_order(
    client: httpx.AsyncClient,
) -> None:
    alice, bob = str(uuid4()), str(uuid4())
    await client.put("/v1/workspace", headers={"X-User-Id": alice})

    for pair in [(alice, bob), (bob, alice), (alice, alice)]:
        headers = [("X-User-Id", pair[0]), ("X-User-Id", pair[1])]
        response = await client.post("/v1/chats", headers=headers)

        assert_problem(response, 400, "invalid_user_id")
    listed = await client.get("/v1/chats", headers={"X-User-Id": alice})
    assert listed.json()["items"] == []


async def test_without_gateway_token_setting_no_authorization_is_needed(
    client: httpx.AsyncClient,
) -> None:
    response = await client.put("/v1/workspace", headers={"X-User-Id": str(uuid4())})

    assert response.status_code == 201


@pytest.fixture
async def guarded_client(tmp_path: Path, anyio_backend: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app whose gateway token is set."""
    settings = make_settings(tmp_path / "guarded", gateway_token=TOKEN)
    async with running_app(settings) as app, in_process_client(app) as client:
        yield client


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="missing"),
        pytest.param(f"Bearer {TOKEN}x", id="wrong"),
        pytest.param(f"Bearer {TOKEN[:-1]}", id="prefix"),
        pytest.param("Bearer ", id="empty"),
        pytest.param(f"Basic {TOKEN}", id="basic-scheme"),
        pytest.param(TOKEN, id="no-scheme"),
        pytest.param(f"Token {TOKEN}", id="other-scheme"),
    ],
)
@pytest.mark.parametrize(("method", "path"), V1_ENDPOINTS)
async def test_request_without_the_right_bearer_token_is_unauthorized(
    guarded_client: httpx.AsyncClient, method: str, path: str, authorization: str | None
) -> None:
    headers = {"X-User-Id": str(uuid4())}
    if authorization is not None:
        headers["Authorization"] = authorization

    response = await guarded_client.request(method, path, headers=headers)

    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_unauthorized_caller_learns_nothing_about_its_user_id(
    guarded_client: httpx.AsyncClient,
) -> None:
    response = await guarded_client.get("/v1/workspace", headers={"X-User-Id": "not-a-uuid"})

    assert_problem(response, 401, "unauthorized")


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(f"Bearer {TOKEN}", id="canonical"),
        pytest.param(f"bearer {TOKEN}", id="scheme-is-case-insensitive"),
    ],
)
async def test_request_with_the_right_bearer_token_passes(
    guarded_client: httpx.AsyncClient, authorization: str
) -> None:
    headers = {"X-User-Id": str(uuid4()), "Authorization": authorization}

    created = await guarded_client.put("/v1/workspace", headers=headers)
    fetched = await guarded_client.get("/v1/workspace", headers=headers)

    assert created.status_code == 201
    assert fetched.status_code == 200
    assert fetched.json() == created.json()


@pytest.mark.parametrize(
    "pair",
    [
        pytest.param((f"Bearer {TOKEN}", "Bearer wrong"), id="right-first"),
        pytest.param(("Bearer wrong", f"Bearer {TOKEN}"), id="right-last"),
        pytest.param((f"Bearer {TOKEN}", f"Bearer {TOKEN}"), id="right-twice"),
    ],
)
async def test_authorization_given_twice_is_unauthorized(
    guarded_client: httpx.AsyncClient, pair: tuple[str, str]
) -> None:
    headers = [("X-User-Id", str(uuid4())), ("Authorization", pair[0]), ("Authorization", pair[1])]

    response = await guarded_client.put("/v1/workspace", headers=headers)

    assert_problem(response, 401, "unauthorized")


async def test_right_token_still_needs_a_user_id(guarded_client: httpx.AsyncClient) -> None:
    response = await guarded_client.get(
        "/v1/workspace", headers={"Authorization": f"Bearer {TOKEN}"}
    )

    assert_problem(response, 401, "user_id_required")


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/healthz", id="healthz"),
        pytest.param("/readyz", id="readyz"),
        pytest.param("/metrics", id="metrics"),
        pytest.param(
            "/openapi.json",
            id="openapi",
            # Its duplicate operation id is asserted in test_operations_api.py.
            marks=pytest.mark.filterwarnings("ignore:Duplicate Operation ID:UserWarning"),
        ),
        pytest.param("/docs", id="docs"),
    ],
)
async def test_operations_endpoints_need_neither_token_nor_user_id(
    guarded_client: httpx.AsyncClient, path: str
) -> None:
    response = await guarded_client.get(path)

    assert response.status_code == 200
