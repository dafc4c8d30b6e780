from typing import Annotated

from fastapi import APIRouter, Header, Request, Response, status
from starlette.responses import StreamingResponse

from api.downloads import stream_and_close
from api.head import is_head
from api.identity import Caller
from api.path_ids import PathUuid
from api.problems import CHAT_LOOKUP, IDENTITY_ERRORS, problem_responses
from api.response_headers import ETAG, HISTORY_REVISION
from api.use_cases import AppendHistoryUseCase, GetHistoryUseCase, PutHistoryUseCase
from domain.errors import (
    HistoryTooLargeError,
    InsufficientStorageError,
    InvalidHistoryEncodingError,
    PreconditionFailedError,
    QuotaExceededError,
    StorageUnavailableError,
)
from domain.history_revision import HistoryRevision
from usecase.history import HistoryRead

router = APIRouter(prefix="/v1/chats/{chat_id}/history", tags=["history"])

MARKDOWN = "text/markdown; charset=utf-8"
# Histories up to this size are answered in one body; larger ones are streamed.
_INLINE_BYTES = 1024 * 1024


@router.get(
    "",
    response_class=Response,
    responses={
        200: {
            "description": "The history, UTF-8 Markdown",
            "content": {MARKDOWN: {"schema": {"type": "string"}}},
            "headers": ETAG,
        },
        304: {"description": "Not Modified: the If-None-Match ETag is current", "headers": ETAG},
        **problem_responses(*IDENTITY_ERRORS, *CHAT_LOOKUP, StorageUnavailableError),
    },
)
async def get_history(
    chat_id: PathUuid,
    request: Request,
    user_id: Caller,
    use_case: GetHistoryUseCase,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    read = await use_case(user_id, chat_id, if_none_match)
    return await history_answer(request, read)


async def history_answer(request: Request, read: HistoryRead) -> Response:
    """A history (or a revision of it) as GET answers it: `304` when the caller holds it,
    in one body when small, streamed when large."""
    headers = {"ETag": read.version.etag}
    if read.content is None:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    reader = read.content
    last = reader.size_bytes - 1
    if is_head(request):
        await reader.aclose()
        headers["Content-Length"] = str(reader.size_bytes)
        return Response(headers=headers, media_type=MARKDOWN)
    if reader.size_bytes <= _INLINE_BYTES:
        try:
            body = b"".join([chunk async for chunk in reader.iter_range(0, last)])
        finally:
            await reader.aclose()
        return Response(body, headers=headers, media_type=MARKDOWN)
    headers["Content-Length"] = str(reader.size_bytes)
    return StreamingResponse(
        stream_and_close(reader, 0, last), headers=headers, media_type=MARKDOWN
    )


def revision_made(revision: HistoryRevision) -> Response:
    """The answer to a change of the history: its ETag and the revision it made."""
    return Response(
        status_code=status.HTTP_204_NO_CONTENT,
        headers={"ETag": revision.etag, "X-History-Revision": str(revision.revision)},
    )


_WRITE_ERRORS = problem_responses(
    *IDENTITY_ERRORS,
    *CHAT_LOOKUP,
    PreconditionFailedError,
    HistoryTooLargeError,
    InvalidHistoryEncodingError,
    StorageUnavailableError,
    QuotaExceededError,
    InsufficientStorageError,
)


def _body(description: str) -> dict[str, object]:
    # The service takes the body whatever its Content-Type. It is described as bytes, the
    # one non-JSON type client generators send as given (openapi-python-client refuses
    # text/markdown and text/plain bodies and skips the operation).
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    }


@router.put(
    "",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={
        204: {
            "description": "Replaced; ETag names the new content",
            "headers": {**ETAG, **HISTORY_REVISION},
        },
        **_WRITE_ERRORS,
    },
    openapi_extra=_body("The whole new history: UTF-8 Markdown, sent with any Content-Type."),
)
async def put_history(
    chat_id: PathUuid,
    request: Request,
    user_id: Caller,
    use_case: PutHistoryUseCase,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    revision = await use_case(user_id, chat_id, request.stream(), if_match)
    return revision_made(revision)


@router.post(
    "",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={
        204: {
            "description": "Appended; ETag names the new content",
            "headers": {**ETAG, **HISTORY_REVISION},
        },
        **_WRITE_ERRORS,
    },
    openapi_extra=_body(
        "What to add to the end of the history: UTF-8 Markdown on its own, any Content-Type."
    ),
)
async def append_history(
    chat_id: PathUuid,
    request: Request,
    user_id: Caller,
    use_case: AppendHistoryUseCase,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    revision = await use_case(user_id, chat_id, request.stream(), if_match)
    return revision_made(revision)
