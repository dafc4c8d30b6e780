from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response, status

from api.downloads import download_response, not_modified
from api.head import is_head
from api.identity import Caller
from api.multipart import MultipartStream
from api.path_ids import PathUuid
from api.problems import CHAT_LOOKUP, IDENTITY_ERRORS, problem_responses
from api.ranges import parse_range_header
from api.response_headers import DOWNLOAD_PART, DOWNLOAD_WHOLE, NOT_MODIFIED
from api.routes.chats import Cursor, Limit
from api.schemas import ChatFileList, ChatFileOut, ChatFilePage
from api.use_cases import (
    ClearFilesUseCase,
    DeleteFileUseCase,
    GetFileUseCase,
    ListFilesUseCase,
    OpenFileContentUseCase,
    RescanFilesUseCase,
    UploadFilesUseCase,
)
from domain.errors import (
    ChatFileNotFoundError,
    DuplicateAttachmentNameError,
    FileTooLargeError,
    InsufficientStorageError,
    InvalidAttachmentNameError,
    QuotaExceededError,
    RangeNotSatisfiableError,
    ReservedAttachmentNameError,
    StorageUnavailableError,
)
from domain.paging import PageRequest

router = APIRouter(prefix="/v1/chats/{chat_id}/files", tags=["files"])

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "minItems": 1,
                        }
                    },
                }
            }
        },
    }
}


@router.post(
    "",
    response_model=ChatFileList,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(
        *IDENTITY_ERRORS,
        *CHAT_LOOKUP,
        InvalidAttachmentNameError,
        ReservedAttachmentNameError,
        DuplicateAttachmentNameError,
        FileTooLargeError,
        415,
        StorageUnavailableError,
        QuotaExceededError,
        InsufficientStorageError,
    ),
    openapi_extra=_UPLOAD_BODY,
)
async def upload_files(
    chat_id: PathUuid, request: Request, user_id: Caller, use_case: UploadFilesUseCase
) -> ChatFileList:
    parts = MultipartStream(request.headers.get("content-type"), request.stream())
    stored = await use_case(user_id, chat_id, parts.files())
    return ChatFileList(items=[ChatFileOut.model_validate(record) for record in stored])


@router.get(
    "", response_model=ChatFilePage, responses=problem_responses(*IDENTITY_ERRORS, *CHAT_LOOKUP)
)
async def list_files(
    chat_id: PathUuid,
    user_id: Caller,
    use_case: ListFilesUseCase,
    limit: Limit = PageRequest.DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> ChatFilePage:
    page = await use_case(user_id, chat_id, PageRequest.from_token(limit, cursor))
    return ChatFilePage.model_validate(page)


@router.delete(
    "",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(*IDENTITY_ERRORS, *CHAT_LOOKUP, StorageUnavailableError),
)
async def clear_files(chat_id: PathUuid, user_id: Caller, use_case: ClearFilesUseCase) -> Response:
    await use_case(user_id, chat_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/rescan",
    response_model=ChatFileList,
    responses=problem_responses(*IDENTITY_ERRORS, *CHAT_LOOKUP, StorageUnavailableError),
)
async def rescan_files(
    chat_id: PathUuid, user_id: Caller, use_case: RescanFilesUseCase
) -> ChatFileList:
    records = await use_case(user_id, chat_id)
    return ChatFileList(items=[ChatFileOut.model_validate(record) for record in records])


@router.get(
    "/{file_id}",
    response_model=ChatFileOut,
    responses=problem_responses(*IDENTITY_ERRORS, *CHAT_LOOKUP, ChatFileNotFoundError),
)
async def get_file(
    chat_id: PathUuid, file_id: PathUuid, user_id: Caller, use_case: GetFileUseCase
) -> ChatFileOut:
    return ChatFileOut.model_validate(await use_case(user_id, chat_id, file_id))


# The bytes are served with the Content-Type they were uploaded with, else
# application/octet-stream. That one is listed first: client generators read the body as
# the first media type they know (openapi-python-client: bytes, whatever type came back).
# `*/*` says that any stored type can answer.
_BINARY = {"schema": {"type": "string", "format": "binary"}}
_FILE_BYTES = {"application/octet-stream": _BINARY, "*/*": _BINARY}
_DOWNLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The bytes, with their stored Content-Type",
        "content": _FILE_BYTES,
        "headers": DOWNLOAD_WHOLE,
    },
    206: {
        "description": "Partial Content: the requested range",
        "content": _FILE_BYTES,
        "headers": DOWNLOAD_PART,
    },
    304: {
        "description": "Not Modified: the If-None-Match ETag is current",
        "headers": NOT_MODIFIED,
    },
    **problem_responses(
        *IDENTITY_ERRORS,
        *CHAT_LOOKUP,
        ChatFileNotFoundError,
        RangeNotSatisfiableError,
        StorageUnavailableError,
    ),
}


@router.get(
    "/{file_id}/content",
    response_class=Response,
    responses=_DOWNLOAD_RESPONSES,
    operation_id="download_file_content",
)
async def download_file(
    chat_id: PathUuid,
    file_id: PathUuid,
    request: Request,
    user_id: Caller,
    use_case: OpenFileContentUseCase,
    range_header: Annotated[str | None, Header(alias="Range")] = None,
    if_range: Annotated[str | None, Header()] = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    download = await use_case(
        user_id,
        chat_id,
        file_id,
        byte_range=parse_range_header(range_header),
        if_none_match=if_none_match,
        if_range=if_range,
    )
    if download.not_modified:
        return not_modified(download)
    return download_response(download, head=is_head(request))


@router.delete(
    "/{file_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(
        *IDENTITY_ERRORS, *CHAT_LOOKUP, ChatFileNotFoundError, StorageUnavailableError
    ),
)
async def delete_file(
    chat_id: PathUuid, file_id: PathUuid, user_id: Caller, use_case: DeleteFileUseCase
) -> Response:
    await use_case(user_id, chat_id, file_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
