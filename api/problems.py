"""RFC 9457 problem+json answers: one table from error class to HTTP status."""

import logging
import re
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import BaseRoute, Mount, Route

from api.http_problem import HttpProblemError, invalid_request
from api.request_id import request_id_of
from api.response_headers import CONTENT_RANGE_UNSATISFIED, WWW_AUTHENTICATE, Headers
from domain import errors

PROBLEM_MEDIA_TYPE = "application/problem+json"
logger = logging.getLogger("chatstore")

STATUS_OF: dict[type[errors.DomainError], int] = {
    errors.WorkspaceNotFoundError: 404,
    errors.ChatNotFoundError: 404,
    errors.ChatFileNotFoundError: 404,
    errors.SandboxSessionNotFoundError: 404,
    errors.HistoryRevisionNotFoundError: 404,
    errors.ChatHasActiveSandboxError: 409,
    errors.SandboxAlreadyActiveError: 409,
    errors.PreconditionFailedError: 412,
    errors.FileTooLargeError: 413,
    errors.HistoryTooLargeError: 413,
    errors.RangeNotSatisfiableError: 416,
    errors.InvalidAttachmentNameError: 422,
    errors.ReservedAttachmentNameError: 422,
    errors.DuplicateAttachmentNameError: 422,
    errors.InvalidHistoryEncodingError: 422,
    errors.InvalidArchiveError: 422,
    errors.InvalidInputError: 422,
    errors.StorageUnavailableError: 503,
    errors.QuotaExceededError: 507,
    errors.InsufficientStorageError: 507,
}


def status_of(error: Exception) -> int:
    return status_of_class(type(error))


def status_of_class(error_class: type[Exception]) -> int:
    for cls in error_class.__mro__:
        status = STATUS_OF.get(cls)
        if status is not None:
            return status
    return 500


def problem(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = problem_body(status, code, detail)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def problem_body(status: int, code: str, detail: str) -> dict[str, Any]:
    """The RFC 9457 body every refusal carries, from a route or from the HTTP layer."""
    return {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }


async def _domain_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, errors.DomainError)
    headers = None
    if isinstance(error, errors.RangeNotSatisfiableError):
        headers = {"Content-Range": f"bytes */{error.size_bytes}"}
    return problem(status_of(error), error.code, error.detail, headers)


async def _http_problem(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HttpProblemError)
    return _http_problem_response(error)


def _http_problem_response(error: HttpProblemError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if error.code == "unauthorized" else None
    return problem(error.status, error.code, error.detail, headers)


async def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    details = "; ".join(
        f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}" for item in error.errors()
    )
    return _http_problem_response(invalid_request(details or "the request is malformed"))


_CODE_OF_STATUS = {404: "not_found", 405: "method_not_allowed"}
# nginx's status for a request its client abandoned: no answer reaches anyone, but the
# metrics count it apart from the service's own failures.
CLIENT_CLOSED_REQUEST = 499


async def _client_disconnect(request: Request, _error: Exception) -> Response:
    logger.info("client disconnected during %s %s", request.method, request.url.path)
    return Response(status_code=CLIENT_CLOSED_REQUEST)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    # FastAPI wraps whatever fails while it reads a body as "400 error parsing the body";
    # the body limit's refusal, or the client's hang-up, is inside.
    if isinstance(error.__cause__, HttpProblemError):
        return await _http_problem(request, error.__cause__)
    if isinstance(error.__cause__, ClientDisconnect):
        return await _client_disconnect(request, error.__cause__)
    if error.status_code == 400:
        # The contract's only 400 is invalid_user_id; a body FastAPI could not read is
        # "any other malformed request".
        return _http_problem_response(invalid_request(str(error.detail)))
    code = _CODE_OF_STATUS.get(error.status_code, HTTPStatus(error.status_code).name.lower())
    headers = dict(error.headers or {})
    if error.status_code == 405:
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return problem(error.status_code, code, str(error.detail), headers)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette names only the first route's)."""
    path = request.url.path
    table: list[tuple[re.Pattern[str], set[str]]] = request.app.state.method_table
    return sorted(
        {method for pattern, methods in table if pattern.match(path) for method in methods}
    )


def _with_head(methods: Iterable[str]) -> set[str]:
    """A route's methods as it answers them: HEAD wherever GET (api.head)."""
    answered = set(methods)
    return answered | {"HEAD"} if "GET" in answered else answered


def method_table(routes: Iterable[BaseRoute]) -> list[tuple[re.Pattern[str], set[str]]]:
    """Each route's path pattern and methods, for the Allow header of a 405. A mount serves
    static files (the docs' assets), which answer GET and HEAD."""
    table: list[tuple[re.Pattern[str], set[str]]] = []
    for route in routes:
        if isinstance(route, Route):
            table.append((route.path_regex, _with_head(route.methods or ())))
        elif isinstance(route, Mount):
            table.append((route.path_regex, {"GET", "HEAD"}))
    return table


async def _unexpected(request: Request, _error: Exception) -> JSONResponse:
    # Starlette answers this outside every middleware, so the id comes from the scope.
    request_id = request_id_of(request.scope)
    logger.exception(
        "unexpected error on %s %s",
        request.method,
        request.url.path,
        extra={"request_id": request_id},
    )
    headers = {"X-Request-Id": request_id} if request_id else None
    return problem(500, "internal_error", "the service failed unexpectedly", headers)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(errors.DomainError, _domain_error)
    app.add_exception_handler(HttpProblemError, _http_problem)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(ClientDisconnect, _client_disconnect)
    app.add_exception_handler(Exception, _unexpected)


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "example": "about:blank"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
    },
}


# Headers that problem answers of these statuses carry.
_PROBLEM_HEADERS: dict[int, Headers] = {401: WWW_AUTHENTICATE, 416: CONTENT_RANGE_UNSATISFIED}


# What every /v1 route can answer before it runs: 400 invalid_user_id, 401
# user_id_required or unauthorized, 422 validation_error (a malformed id in the path).
IDENTITY_ERRORS = (400, 401, 422)
# What a route under /v1/chats/{chat_id} answers when the caller cannot see the chat.
CHAT_LOOKUP = (errors.WorkspaceNotFoundError, errors.ChatNotFoundError)


def problem_responses(
    *sources: type[errors.DomainError] | int,
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem answers a route can give: each domain error class
    under its status from STATUS_OF, its code named in the description; a bare status for
    the refusals of the HTTP layer (identity, media type)."""
    codes: dict[int, set[str]] = {}
    for source in sources:
        if isinstance(source, int):
            codes.setdefault(source, set())
        else:
            codes.setdefault(status_of_class(source), set()).add(source.code)
    responses: dict[int | str, dict[str, Any]] = {}
    for status in sorted(codes):
        named = ", ".join(f"`{code}`" for code in sorted(codes[status]))
        phrase = HTTPStatus(status).phrase
        response: dict[str, Any] = {
            "description": f"{phrase}: {named}" if named else phrase,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        if status in _PROBLEM_HEADERS:
            response["headers"] = _PROBLEM_HEADERS[status]
        responses[status] = response
    return responses
