from typing import Any

from fastapi import APIRouter, Request, Response

from api.exports import ZIP, archive_response
from api.head import is_head
from api.identity import Caller
from api.path_ids import PathUuid
from api.problems import CHAT_LOOKUP, IDENTITY_ERRORS, problem_responses
from api.response_headers import ARCHIVE
from api.use_cases import ExportChatUseCase, ExportWorkspaceUseCase
from domain.errors import DomainError, StorageUnavailableError, WorkspaceNotFoundError

router = APIRouter(tags=["export"])

_BINARY = {"schema": {"type": "string", "format": "binary"}}
# The answer is application/zip. application/octet-stream, any bytes, is named after it for
# client generators that know no zip type: they read the body as the first type they know
# (openapi-python-client: as bytes), and would otherwise leave the operation untyped.
_ARCHIVE = {ZIP: _BINARY, "application/octet-stream": _BINARY}


def _archive_responses(what: str, *errors: type[DomainError]) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": (
                f"{what} as a ZIP archive, streamed as it is made (no Content-Length): per"
                " chat chats/<chat_id>/history.md and chats/<chat_id>/files/<name>, then"
                " manifest.json"
            ),
            "content": _ARCHIVE,
            "headers": ARCHIVE,
        },
        **problem_responses(*IDENTITY_ERRORS, *errors, StorageUnavailableError),
    }


@router.get(
    "/v1/workspace/export",
    response_class=Response,
    responses=_archive_responses("Every chat of the workspace", WorkspaceNotFoundError),
)
async def export_workspace(
    request: Request, user_id: Caller, use_case: ExportWorkspaceUseCase
) -> Response:
    export = await use_case(user_id)
    return archive_response(export, head=is_head(request))


@router.get(
    "/v1/chats/{chat_id}/export",
    response_class=Response,
    responses=_archive_responses("The chat", *CHAT_LOOKUP),
)
async def export_chat(
    chat_id: PathUuid, request: Request, user_id: Caller, use_case: ExportChatUseCase
) -> Response:
    export = await use_case(user_id, chat_id)
    return archive_response(export, head=is_head(request))
