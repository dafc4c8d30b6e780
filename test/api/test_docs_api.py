"""/docs works with no internet access: the page and everything it loads come from the
service itself (ADR 0015)."""

import re

import httpx
import pytest

from test.api.conftest import assert_problem

pytestmark = pytest.mark.anyio

# Every address the page names: its <link href>, <script src> and Swagger UI's `url:`.
_ADDRESSES = re.compile(r"""(?:\bhref=|\bsrc=|\burl:\s*)["']([^"']+)["']""")


async def docs_page(client: httpx.AsyncClient) -> str:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    return response.text


async def test_docs_page_names_no_other_host(client: httpx.AsyncClient) -> None:
    page = await docs_page(client)

    addresses = _ADDRESSES.findall(page)
    assert len(addresses) >= 4, page
    assert all(address.startswith("/") for address in addresses), addresses
    assert not any(address.startswith("//") for address in addresses), addresses
    assert not re.search(r"(?i)\b(https?:|wss?:)", page), page


async def test_every_address_of_the_docs_page_is_served_by_the_service(
    client: httpx.AsyncClient,
) -> None:
    addresses = _ADDRESSES.findall(await docs_page(client))

    for address in addresses:
        response = await client.get(address)
        assert response.status_code == 200, address
        assert response.content, address
    assert "/openapi.json" in addresses


@pytest.mark.parametrize(
    ("asset", "media_type"),
    [
        pytest.param("swagger-ui-bundle.js", "text/javascript", id="script"),
        pytest.param("swagger-ui.css", "text/css", id="stylesheet"),
        pytest.param("favicon.png", "image/png", id="icon"),
    ],
)
async def test_docs_assets_are_served_with_their_media_type(
    client: httpx.AsyncClient, asset: str, media_type: str
) -> None:
    response = await client.get(f"/docs/assets/{asset}")

    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type


async def test_docs_page_turns_off_the_online_validator_badge(client: httpx.AsyncClient) -> None:
    """Swagger UI would load a badge from validator.swagger.io for a public address."""
    page = await docs_page(client)

    assert '"validatorUrl": null' in page


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/docs/assets/no-such-file.js", id="unknown-asset"),
        pytest.param("/docs/assets/../../../etc/passwd", id="dot-dot"),
        pytest.param("/docs/assets/%2e%2e/%2e%2e/pyproject.toml", id="encoded-dot-dot"),
    ],
)
async def test_anything_else_under_docs_assets_is_a_404_problem(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)

    assert_problem(response, 404, "not_found")


async def test_redoc_is_not_served(client: httpx.AsyncClient) -> None:
    """FastAPI's ReDoc page would load its script from a CDN."""
    response = await client.get("/redoc")

    assert_problem(response, 404, "not_found")
