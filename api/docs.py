"""/docs: Swagger UI served from the service itself, so it works with no internet access
(ADR 0015). FastAPI's own page loads its JavaScript, CSS and icon from a CDN."""

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_PATH = "/docs"
ASSETS_PATH = f"{DOCS_PATH}/assets"
# fastapi-offline ships Swagger UI's dist files in its package directory `static/`.
_ASSETS_PACKAGE = ("fastapi_offline", "static")
# Swagger UI would otherwise fetch a badge from validator.swagger.io for a public address.
_SWAGGER_UI_PARAMETERS = {"validatorUrl": None}


def install_docs(app: FastAPI) -> None:
    """Serve the Swagger UI page at /docs and its assets under /docs/assets; the app must be
    built with `docs_url=None` and `redoc_url=None`."""
    app.mount(ASSETS_PATH, StaticFiles(packages=[_ASSETS_PACKAGE]), name="docs-assets")

    @app.get(DOCS_PATH, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            swagger_ui_parameters=_SWAGGER_UI_PARAMETERS,
        )
