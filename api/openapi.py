"""The OpenAPI description /openapi.json serves: FastAPI's, completed where it falls short of
what a client generator needs."""

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from fastapi.security.base import SecurityBase

from api.identity import GATEWAY_TOKEN_SCHEME, USER_ID_SCHEME, caller
from api.problems import PROBLEM_SCHEMA
from api.response_headers import REQUEST_ID

Json = dict[str, Any]

# The service needs the user id always, and the token too when it has one set. (FastAPI,
# given them as security dependencies, would list each as an alternative of its own: "the
# user id or the token".)
_CALLER_SECURITY: list[dict[str, list[str]]] = [
    {USER_ID_SCHEME.scheme_name: [], GATEWAY_TOKEN_SCHEME.scheme_name: []},
    {USER_ID_SCHEME.scheme_name: []},
]


def operation_id(route: APIRoute) -> str:
    """The route function's name (`create_chat`), which client generators turn into the
    function a caller calls; FastAPI's default appends the path and method to it."""
    return route.name


def install_openapi(app: FastAPI, routers: Iterable[APIRouter]) -> None:
    """Serve `describe(app, routers)`, `routers` being every router `app` includes."""
    callers = _caller_operations(routers)

    def openapi() -> Json:
        if app.openapi_schema is None:
            app.openapi_schema = describe(app, callers)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def describe(app: FastAPI, callers: set[tuple[str, str]]) -> Json:
    """FastAPI's description, completed; `callers` are the (path, method) operations that
    receive `Caller`: they need the identity's security schemes."""
    schema = get_openapi(
        title=app.title, version=app.version, summary=app.summary, routes=app.routes
    )
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    if callers:
        components["securitySchemes"] = {
            scheme.scheme_name: _scheme(scheme) for scheme in (USER_ID_SCHEME, GATEWAY_TOKEN_SCHEME)
        }
    for path, method, operation in _operations(schema):
        if (path, method) in callers:
            operation["security"] = _CALLER_SECURITY
        body = operation.get("requestBody")
        if body is not None:
            _plain_optional_body(body)
        for response in operation.get("responses", {}).values():
            response["headers"] = {**response.get("headers", {}), **REQUEST_ID}
    return schema


def _caller_operations(routers: Iterable[APIRouter]) -> set[tuple[str, str]]:
    return {
        (route.path_format, method.lower())
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute) and route.include_in_schema and _needs(route.dependant)
        for method in route.methods or ()
    }


def _needs(dependant: Dependant) -> bool:
    """Whether `caller` is among what `dependant` depends on, at any depth."""
    return any(dep.call is caller or _needs(dep) for dep in dependant.dependencies)


def _scheme(scheme: SecurityBase) -> Json:
    """A security scheme as FastAPI writes it in components."""
    described: Json = scheme.model.model_dump(by_alias=True, exclude_none=True, mode="json")
    return described


def _operations(schema: Json) -> Iterator[tuple[str, str, Json]]:
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            yield path, method, operation


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
