from fastapi import APIRouter, Response, status

from api.identity import Caller
from api.problems import IDENTITY_ERRORS, problem_responses
from api.schemas import WorkspaceOut, WorkspaceUsageOut
from api.use_cases import (
    EnsureWorkspaceUseCase,
    EraseWorkspaceUseCase,
    GetWorkspaceUsageUseCase,
    GetWorkspaceUseCase,
)
from domain.errors import (
    ChatHasActiveSandboxError,
    StorageUnavailableError,
    WorkspaceNotFoundError,
)

router = APIRouter(prefix="/v1/workspace", tags=["workspace"])


@router.put(
    "",
    response_model=WorkspaceOut,
    status_code=status.HTTP_200_OK,
    responses={
        201: {"model": WorkspaceOut, "description": "Created"},
        **problem_responses(*IDENTITY_ERRORS),
    },
    summary="Create the caller's workspace if it has none",
)
async def ensure_workspace(
    user_id: Caller, use_case: EnsureWorkspaceUseCase, response: Response
) -> WorkspaceOut:
    workspace, created = await use_case(user_id)
    if created:
        response.status_code = status.HTTP_201_CREATED
    return WorkspaceOut.model_validate(workspace)


@router.get(
    "",
    response_model=WorkspaceOut,
    responses=problem_responses(*IDENTITY_ERRORS, WorkspaceNotFoundError),
)
async def get_workspace(user_id: Caller, use_case: GetWorkspaceUseCase) -> WorkspaceOut:
    return WorkspaceOut.model_validate(await use_case(user_id))


@router.get(
    "/usage",
    response_model=WorkspaceUsageOut,
    responses=problem_responses(*IDENTITY_ERRORS, WorkspaceNotFoundError),
)
async def get_workspace_usage(
    user_id: Caller, use_case: GetWorkspaceUsageUseCase
) -> WorkspaceUsageOut:
    return WorkspaceUsageOut.model_validate(await use_case(user_id))


@router.delete(
    "",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(
        *IDENTITY_ERRORS,
        WorkspaceNotFoundError,
        ChatHasActiveSandboxError,
        StorageUnavailableError,
    ),
    summary="Erase the caller's workspace",
    description=(
        "Every chat, history, revision, attachment, file a sandbox wrote, record and lease"
        " of the workspace, and the workspace itself. Refused while a sandbox session is"
        " active on any of its chats (nothing removed). Afterwards `PUT` makes a new, empty"
        " workspace with a new id."
    ),
)
async def erase_workspace(user_id: Caller, use_case: EraseWorkspaceUseCase) -> Response:
    await use_case(user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
