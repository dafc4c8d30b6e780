"""A bound on request bodies for every route that does not stream its body to disk."""

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.body_bytes import CountingReceive
from api.http_problem import HttpProblemError, invalid_request
from api.problems import problem

JSON_BODY_MAX_BYTES = 64 * 1024
# The routes whose bodies stream to staging under their own limits: uploads, history
# writes and imports.
_STREAMED = re.compile(r"^/v1/chats/([^/]+/(files|history)|import)$")


def _too_large() -> HttpProblemError:
    return invalid_request(f"the request body is larger than {JSON_BODY_MAX_BYTES} bytes")


class BodyLimitMiddleware:
    """Refuses, as `422 validation_error`, a body over JSON_BODY_MAX_BYTES on any route but
    uploads, history writes and imports: at once when Content-Length says so, else as soon as the
    bytes received pass the bound, so a crafted body is never read whole into memory."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _STREAMED.match(scope["path"]):
            await self._app(scope, receive, send)
            return
        if _declared_length(scope) > JSON_BODY_MAX_BYTES:
            refusal = _too_large()
            # Outside the app's exception handlers here, so answer directly.
            await problem(refusal.status, refusal.code, refusal.detail)(scope, receive, send)
            return
        counted = CountingReceive(receive)

        async def bounded_receive() -> Message:
            message = await counted()
            if counted.received > JSON_BODY_MAX_BYTES:
                raise _too_large()
            return message

        await self._app(scope, bounded_receive, send)


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0
