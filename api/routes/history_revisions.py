from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response, status

from api.identity import Caller
from api.path_ids import PathUuid
from api.problems import CHAT_LOOKUP, IDENTITY_ERRORS, problem_responses
from api.response_headers import ETAG, HISTORY_REVISION
from api.routes.history import MARKDOWN, history_answer, revision_made
from api.schemas import HistoryRevisionPage
from api.use_cases import (
    GetHistoryRevisionUseCase,
    ListHistoryRevisionsUseCase,
    PruneHistoryRevisionsUseCase,
    RestoreHistoryRevisionUseCase,
)
from domain.errors import (
    HistoryRevisionNotFoundError,
    InsufficientStorageError,
    InvalidInputError,
    PreconditionFailedError,
    QuotaExceededError,
    StorageUnavailableError,
)
from domain.paging import PageRequest, RevisionCursor

router = APIRouter(prefix="/v1/chats/{chat_id}/history/revisions", tags=["history"])

# A whole number from 0 up; anything else is 422 validation_error (api.md).
RevisionNumber = Annotated[
    str, Path(pattern=r"^[0-9]{1,18}$", description="A revision number, from 0 up.")
]
Limit = Annotated[
    int, Query(ge=PageRequest.MIN_LIMIT, le=PageRequest.MAX_LIMIT, description="Page size.")
]
Cursor = Annotated[str | None, Query(description="The `next_cursor` of the page before.")]
_REVISION_LOOKUP = (*IDENTITY_ERRORS, *CHAT_LOOKUP, HistoryRevisionNotFoundError)


@router.get(
    "",
    response_model=HistoryRevisionPage,
    responses=problem_responses(*IDENTITY_ERRORS, *CHAT_LOOKUP, InvalidInputError),
)
async def list_history_revisions(
    chat_id: PathUuid,
    user_id: Caller,
    use_case: ListHistoryRevisionsUseCase,
    limit: Limit = PageRequest.DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> HistoryRevisionPage:
    after = None if cursor is None else RevisionCursor.decode(cursor)
    page = await use_case(user_id, chat_id, limit, after)
    return HistoryRevisionPage.model_validate(page)


@router.get(
    "/{revision}",
    response_class=Response,
    responses={
        200: {
            "description": "That revision's content, UTF-8 Markdown",
            "content": {MARKDOWN: {"schema": {"type": "string"}}},
            "headers": ETAG,
        },
        304: {"description": "Not Modified: the If-None-Match ETag is this one", "headers": ETAG},
        **problem_responses(*_REVISION_LOOKUP, StorageUnavailableError),
    },
)
async def get_history_revision(
    chat_id: PathUuid,
    revision: RevisionNumber,
    request: Request,
    user_id: Caller,
    use_case: GetHistoryRevisionUseCase,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    read = await use_case(user_id, chat_id, int(revision), if_none_match)
    return await history_answer(request, read)


@router.post(
    "/{revision}/restore",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={
        204: {
            "description": "Restored as a new revision; ETag names the content",
            "headers": {**ETAG, **HISTORY_REVISION},
        },
        **problem_responses(
            *_REVISION_LOOKUP,
            PreconditionFailedError,
            StorageUnavailableError,
            QuotaExceededError,
            InsufficientStorageError,
        ),
    },
)
async def restore_history_revision(
    chat_id: PathUuid,
    revision: RevisionNumber,
    user_id: Caller,
    use_case: RestoreHistoryRevisionUseCase,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    return revision_made(await use_case(user_id, chat_id, int(revision), if_match))


@router.delete(
    "",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(*IDENTITY_ERRORS, *CHAT_LOOKUP, StorageUnavailableError),
)
async def prune_history_revisions(
    chat_id: PathUuid, user_id: Caller, use_case: PruneHistoryRevisionsUseCase
) -> Response:
    await use_case(user_id, chat_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
