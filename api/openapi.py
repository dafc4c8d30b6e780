"""The OpenAPI description /openapi.json serves: FastAPI's, completed where it falls short of
what a client generator needs."""

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from api.identity import GATEWAY_TOKEN_SCHEME, USER_ID_SCHEME
from api.problems import PROBLEM_SCHEMA
from api.response_headers import REQUEST_ID

Json = dict[str, Any]

# FastAPI lists each security dependency as an alternative of its own ("the user id or the
# token"). The service needs the user id always, and the token too when it has one set.
_CALLER_SECURITY: list[dict[str, list[str]]] = [
    {USER_ID_SCHEME.scheme_name: [], GATEWAY_TOKEN_SCHEME.scheme_name: []},
    {USER_ID_SCHEME.scheme_name: []},
]


def operation_id(route: APIRoute) -> str:
    """The route function's name (`create_chat`), which client generators turn into the
    function a caller calls; FastAPI's default appends the path and method to it."""
    return route.name


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
        body = operation.get("requestBody")
        if body is not None:
            _plain_optional_body(body)
        for response in operation.get("responses", {}).values():
            response["headers"] = {**response.get("headers", {}), **REQUEST_ID}
    return schema


def _operations(schema: Json) -> Iterator[Json]:
    for item in schema.get("paths", {}).values():
        yield from item.values()


def _plain_optional_body(body: Json) -> None:
    """An optional JSON body is the model itself with `required: false`.

    FastAPI describes `Model | None` as `anyOf: [Model, null]`, which a generated client
    sends as JSON `null` when the caller leaves it out (openapi-python-client then fails
    to encode its UNSET marker)."""
    if body.get("required"):
        return
    for media in body.get("content", {}).values():
        alternatives = media.get("schema", {}).get("anyOf", [])
        models = [option for option in alternatives if option != {"type": "null"}]
        if len(alternatives) == 2 and len(models) == 1:
            media["schema"] = models[0]
    body["required"] = False
