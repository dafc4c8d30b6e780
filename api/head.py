"""HEAD on every route that answers GET: the same status and headers, no body (RFC 9110 9.3.2)."""

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_HEAD_KEY = "chatstore.head"
_CHUNKED = (b"transfer-encoding", b"chunked")
# Answers that carry no body, so that no framing header goes with them (RFC 9110 6.4.1).
_NO_BODY_STATUSES = frozenset((204, 304))


def is_head(request: Request) -> bool:
    """Whether the request is a HEAD that is being answered as its GET would be."""
    return bool(request.scope.get(_HEAD_KEY, False))


class HeadAsGet:
    """Routes a HEAD as the GET of the same path and drops the body of its answer, keeping
    the status and headers. A route may ask `is_head` to skip reading what it would send.
    The OpenAPI description names GET alone; every GET answers HEAD."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self._app(scope, receive, send)
            return

        async def send_head(message: Message) -> None:
            if message["type"] == "http.response.start" and _would_be_chunked(scope, message):
                # What the server adds to the GET's answer, which it leaves off a HEAD's.
                message = {**message, "headers": [*message.get("headers", ()), _CHUNKED]}
            elif message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        get_scope = {**scope, "method": "GET", _HEAD_KEY: True}
        try:
            await self._app(get_scope, receive, send_head)
        finally:
            # The route that served it, for the metrics and the access log outside.
            if "route" in get_scope:
                scope["route"] = get_scope["route"]


def _would_be_chunked(scope: Scope, start: Message) -> bool:
    """Whether the GET's answer would go out chunked over HTTP/1.1: a status with a body and
    no length of its own (a stream, such as an export). The HEAD then says so too
    (RFC 9112 6.1 allows it), so that its headers are the GET's."""
    if scope.get("http_version") != "1.1" or start["status"] in _NO_BODY_STATUSES:
        return False
    names = {name.lower() for name, _ in start.get("headers", ())}
    return b"content-length" not in names and b"transfer-encoding" not in names
