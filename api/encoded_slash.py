"""An encoded slash (`%2F`) in a path is part of a segment, never a separator."""

from starlette.types import ASGIApp, Receive, Scope, Send

from api.problems import problem


class EncodedSlashGuard:
    """Answers `404 not_found` for a path that holds `%2F`.

    The server decodes `%2F` to `/` in `path`, so routing would take `<id>%2Fhistory` for
    `<id>/history`. No route has a segment that may hold a slash (every one is an id), so a
    path with an encoded slash names no route."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
            if b"%2f" in raw_path.partition(b"?")[0].lower():
                detail = "no route has a segment holding an encoded slash"
                await problem(404, "not_found", detail)(scope, receive, send)
                return
        await self._app(scope, receive, send)
