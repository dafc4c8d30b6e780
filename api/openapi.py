"""The OpenAPI description /openapi.json serves: FastAPI's, completed where it falls short of
what a client generator needs."""

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.identity import GATEWAY_TOKEN_SCHEME, USER_ID_SCHEME
from api.problems import PROBLEM_SCHEMA

Json = dict[str, Any]

# FastAPI lists each security dependency as an alternative of its own ("the user id or the
# token"). The service needs the user id always, and the token too when it has one set.
_CALLER_SECURITY: list[dict[str, list[str]]] = [
    {USER_ID_SCHEME.scheme_name: [], GATEWAY_TOKEN_SCHEME.scheme_name: []},
    {USER_ID_SCHEME.scheme_name: []},
]


def install_openapi(app: FastAPI) -> None:
    def openapi() -> Json:
        if app.openapi_schema is None:
            app.openapi_schema = describe(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def describe(app: FastAPI) -> Json:
    schema = get_openapi(
        title=app.title, version=app.version, summary=app.summary, routes=app.routes
    )
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for operation in _operations(schema):
        if "security" in operation:
            operation["security"] = _CALLER_SECURITY
    return schema


def _operations(schema: Json) -> Iterator[Json]:
    for item in schema.get("paths", {}).values():
        yield from item.values()
