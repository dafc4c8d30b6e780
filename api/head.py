"""HEAD on every route that answers GET: the same status and headers, no body (RFC 9110 9.3.2)."""

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_HEAD_KEY = "chatstore.head"


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
            if message["type"] == "http.response.start":
                message = _framed_as_get(message, scope.get("http_version"))
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self._app({**scope, "method": "GET", _HEAD_KEY: True}, receive, send_head)


def _framed_as_get(start: Message, http_version: str | None) -> Message:
    """The start of a HEAD answer, with the framing header its GET gets on HTTP/1.1: a GET
    answer of unknown length goes out chunked, and the server, seeing HEAD, would not say
    so (RFC 9112 6.1 lets a HEAD answer carry it for that reason)."""
    headers = list(start.get("headers", []))
    names = {name.lower() for name, _ in headers}
    if (
        http_version != "1.1"
        or start["status"] in (204, 304)
        or start["status"] < 200
        or names & {b"content-length", b"transfer-encoding"}
    ):
        return start
    return {**start, "headers": [*headers, (b"transfer-encoding", b"chunked")]}
