"""Export answers: a ZIP archive streamed as it is made, and let go of whatever ends it."""

from collections.abc import AsyncIterator

import anyio
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from usecase.export import Export

ZIP = "application/zip"


def archive_headers(export: Export) -> dict[str, str]:
    # The name is an id, so plain ASCII: no filename* needed.
    return {"Content-Disposition": f'attachment; filename="chatstore-{export.archive_id}.zip"'}


class _ArchiveStream(StreamingResponse):
    """Streams an export. However the answer ends (its last byte sent, a disk error, the
    client gone, the server shutting down), the export is closed before the request is
    done, shielded from the cancellation that may have ended it, so that none of the
    descriptors it holds outlives the answer."""

    def __init__(self, export: Export, chunks: AsyncIterator[bytes]) -> None:
        super().__init__(chunks, headers=archive_headers(export), media_type=ZIP)
        self._export = export

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await self._export.aclose()


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield  # an async generator that yields nothing


def archive_response(export: Export, *, head: bool) -> Response:
    """The archive, streamed (no Content-Length: its size is known once it is made); for
    HEAD, the same headers (so no Content-Length either), nothing built."""
    return _ArchiveStream(export, _nothing() if head else export.chunks)
