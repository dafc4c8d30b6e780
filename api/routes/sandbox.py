from typing import Annotated

from fastapi import APIRouter, Body, Response, status

from api.identity import Caller
from api.path_ids import PathUuid
from api.problems import CHAT_LOOKUP, IDENTITY_ERRORS, problem_responses
from api.schemas import SandboxSessionOut, SandboxSessionRequest
from api.use_cases import (
    EndSandboxSessionUseCase,
    GetActiveSandboxSessionUseCase,
    HeartbeatSandboxSessionUseCase,
    StartSandboxSessionUseCase,
)
from domain.errors import (
    SandboxAlreadyActiveError,
    SandboxSessionNotFoundError,
    StorageUnavailableError,
)

router = APIRouter(prefix="/v1/chats/{chat_id}/sandbox-sessions", tags=["sandbox sessions"])

OptionalTtl = Annotated[SandboxSessionRequest | None, Body()]


@router.post(
    "",
    response_model=SandboxSessionOut,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(*IDENTITY_ERRORS, *CHAT_LOOKUP, SandboxAlreadyActiveError),
)
async def start_session(
    chat_id: PathUuid,
    user_id: Caller,
    use_case: StartSandboxSessionUseCase,
    body: OptionalTtl = None,
) -> SandboxSessionOut:
    ttl = None if body is None else body.ttl_seconds
    return SandboxSessionOut.model_validate(await use_case(user_id, chat_id, ttl))


@router.get(
    "/active",
    response_model=SandboxSessionOut,
    responses=problem_responses(*IDENTITY_ERRORS, *CHAT_LOOKUP, SandboxSessionNotFoundError),
)
async def get_active_session(
    chat_id: PathUuid, user_id: Caller, use_case: GetActiveSandboxSessionUseCase
) -> SandboxSessionOut:
    return SandboxSessionOut.model_validate(await use_case(user_id, chat_id))


@router.post(
    "/{session_id}/heartbeat",
    response_model=SandboxSessionOut,
    responses=problem_responses(*IDENTITY_ERRORS, *CHAT_LOOKUP, SandboxSessionNotFoundError),
)
async def heartbeat_session(
    chat_id: PathUuid,
    session_id: PathUuid,
    user_id: Caller,
    use_case: HeartbeatSandboxSessionUseCase,
    body: OptionalTtl = None,
) -> SandboxSessionOut:
    ttl = None if body is None else body.ttl_seconds
    session = await use_case(user_id, chat_id, session_id, ttl)
    return SandboxSessionOut.model_validate(session)


@router.delete(
    "/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(
        *IDENTITY_ERRORS, *CHAT_LOOKUP, SandboxSessionNotFoundError, StorageUnavailableError
    ),
)
async def end_session(
    chat_id: PathUuid,
    session_id: PathUuid,
    user_id: Caller,
    use_case: EndSandboxSessionUseCase,
) -> Response:
    await use_case(user_id, chat_id, session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
