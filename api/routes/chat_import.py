from fastapi import APIRouter, Request, status

from api.identity import Caller
from api.problems import IDENTITY_ERRORS, problem_responses
from api.schemas import ChatList, ChatOut
from api.use_cases import ImportChatsUseCase
from domain.errors import (
    DuplicateAttachmentNameError,
    FileTooLargeError,
    HistoryTooLargeError,
    InsufficientStorageError,
    InvalidArchiveError,
    InvalidAttachmentNameError,
    InvalidHistoryEncodingError,
    QuotaExceededError,
    ReservedAttachmentNameError,
    StorageUnavailableError,
    WorkspaceNotFoundError,
)

router = APIRouter(prefix="/v1/chats", tags=["chats"])

_ARCHIVE_BODY = {
    "requestBody": {
        "required": True,
        "description": "A ZIP archive as `GET /v1/workspace/export` or"
        " `GET /v1/chats/{chat_id}/export` answer it.",
        "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.post(
    "/import",
    response_model=ChatList,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(
        *IDENTITY_ERRORS,
        WorkspaceNotFoundError,
        FileTooLargeError,
        HistoryTooLargeError,
        InvalidArchiveError,
        InvalidAttachmentNameError,
        ReservedAttachmentNameError,
        DuplicateAttachmentNameError,
        InvalidHistoryEncodingError,
        StorageUnavailableError,
        QuotaExceededError,
        InsufficientStorageError,
    ),
    openapi_extra=_ARCHIVE_BODY,
)
async def import_chats(request: Request, user_id: Caller, use_case: ImportChatsUseCase) -> ChatList:
    """A new chat for each chat of the archive, all or none, in manifest order."""
    chats = await use_case(user_id, request.stream(), _declared_length(request))
    return ChatList(items=[ChatOut.model_validate(chat) for chat in chats])


def _declared_length(request: Request) -> int | None:
    value = request.headers.get("content-length")
    return int(value) if value is not None and value.isascii() and value.isdigit() else None
