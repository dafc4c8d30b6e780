"""Attachment downloads: streamed from the checked file descriptor, never reopened by name."""

from collections.abc import AsyncIterator
from urllib.parse import quote

from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse

from usecase.files import FileDownload
from usecase.ports.chat_bytes import ContentReader

# RFC 8187 attr-char beyond alphanumerics: everything else is percent-encoded.
_ATTR_CHARS = "!#$&+-.^_`|~"


def content_disposition(name: str) -> str:
    fallback = "".join(char if " " <= char <= "~" and char not in '"\\%' else "_" for char in name)
    encoded = quote(name, safe=_ATTR_CHARS, encoding="utf-8")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def _headers(download: FileDownload) -> dict[str, str]:
    record = download.record
    return {
        "Content-Type": record.content_type or "application/octet-stream",
        "ETag": download.etag,
        "Accept-Ranges": "bytes",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Content-Disposition": content_disposition(record.name.value),
    }


async def stream_and_close(reader: ContentReader, start: int, end: int) -> AsyncIterator[bytes]:
    try:
        async for chunk in reader.iter_range(start, end):
            yield chunk
    finally:
        await reader.aclose()


def download_response(download: FileDownload, *, head: bool) -> Response:
    headers = _headers(download)
    reader = download.content
    size = reader.size_bytes
    status = 200
    start, end = 0, size - 1
    if download.span is not None:
        start, end = download.span
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(end - start + 1)
    # Content-Type travels in `headers`, not `media_type`, which would append a charset
    # to text/* types: the stored type is served exactly as it was sent.
    close = BackgroundTask(reader.aclose)
    if head or end < start:
        return Response(status_code=status, headers=headers, background=close)
    return StreamingResponse(
        stream_and_close(reader, start, end),
        status_code=status,
        headers=headers,
        background=close,
    )


def not_modified(download: FileDownload) -> Response:
    return Response(
        status_code=304,
        headers={"ETag": download.etag, "Accept-Ranges": "bytes"},
        background=BackgroundTask(download.content.aclose),
    )
