from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query, Response, status

from api.identity import Caller
from api.path_ids import PathUuid
from api.problems import CHAT_LOOKUP, IDENTITY_ERRORS, problem_responses
from api.response_headers import LOCATION
from api.schemas import ChatCreateRequest, ChatOut, ChatPage, ChatPatchRequest, ForkRequest
from api.use_cases import (
    CreateChatUseCase,
    DeleteChatUseCase,
    ForkChatUseCase,
    GetChatUseCase,
    ListChatsUseCase,
    UpdateChatUseCase,
)
from domain.errors import (
    ChatHasActiveSandboxError,
    HistoryRevisionNotFoundError,
    InsufficientStorageError,
    QuotaExceededError,
    StorageUnavailableError,
    WorkspaceNotFoundError,
)
from domain.paging import PageRequest, RecentPageRequest

router = APIRouter(prefix="/v1/chats", tags=["chats"])

Limit = Annotated[
    int, Query(ge=PageRequest.MIN_LIMIT, le=PageRequest.MAX_LIMIT, description="Page size.")
]
Cursor = Annotated[str | None, Query(description="The `next_cursor` of the page before.")]
Order = Annotated[
    Literal["created", "-updated"],
    Query(
        description="`created`: oldest first by `created_at`, then id. `-updated`: newest"
        " first by `updated_at`, then id, highest first. A cursor belongs to its order."
    ),
]
OptionalCreate = Annotated[ChatCreateRequest | None, Body()]


@router.post(
    "",
    response_model=ChatOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        201: {"description": "Created", "headers": LOCATION},
        **problem_responses(
            *IDENTITY_ERRORS,
            WorkspaceNotFoundError,
            StorageUnavailableError,
            InsufficientStorageError,
        ),
    },
)
async def create_chat(
    user_id: Caller,
    use_case: CreateChatUseCase,
    response: Response,
    body: OptionalCreate = None,
) -> ChatOut:
    request = body or ChatCreateRequest()
    chat = await use_case(user_id, request.title_value(), request.metadata_value())
    response.headers["Location"] = f"/v1/chats/{chat.chat_id}"
    return ChatOut.model_validate(chat)


@router.get(
    "",
    response_model=ChatPage,
    responses=problem_responses(*IDENTITY_ERRORS, WorkspaceNotFoundError),
)
async def list_chats(
    user_id: Caller,
    use_case: ListChatsUseCase,
    limit: Limit = PageRequest.DEFAULT_LIMIT,
    cursor: Cursor = None,
    order: Order = "created",
) -> ChatPage:
    request = (
        RecentPageRequest.from_token(limit, cursor)
        if order == "-updated"
        else PageRequest.from_token(limit, cursor)
    )
    return ChatPage.model_validate(await use_case(user_id, request))


@router.get(
    "/{chat_id}",
    response_model=ChatOut,
    responses=problem_responses(*IDENTITY_ERRORS, *CHAT_LOOKUP),
)
async def get_chat(chat_id: PathUuid, user_id: Caller, use_case: GetChatUseCase) -> ChatOut:
    return ChatOut.model_validate(await use_case(user_id, chat_id))


MergePatch = Annotated[
    ChatPatchRequest,
    Body(media_type="application/merge-patch+json"),
]


@router.patch(
    "/{chat_id}",
    response_model=ChatOut,
    responses=problem_responses(*IDENTITY_ERRORS, *CHAT_LOOKUP),
)
async def update_chat(
    chat_id: PathUuid, user_id: Caller, use_case: UpdateChatUseCase, body: MergePatch
) -> ChatOut:
    """A JSON merge patch (RFC 7396) of `title` and `metadata`, sent as
    `application/merge-patch+json` or `application/json`."""
    return ChatOut.model_validate(await use_case(user_id, chat_id, body.patch()))


OptionalFork = Annotated[ForkRequest | None, Body()]


@router.post(
    "/{chat_id}/fork",
    response_model=ChatOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        201: {"description": "Forked: the new chat", "headers": LOCATION},
        **problem_responses(
            *IDENTITY_ERRORS,
            *CHAT_LOOKUP,
            HistoryRevisionNotFoundError,
            StorageUnavailableError,
            QuotaExceededError,
            InsufficientStorageError,
        ),
    },
)
async def fork_chat(
    chat_id: PathUuid,
    user_id: Caller,
    use_case: ForkChatUseCase,
    response: Response,
    body: OptionalFork = None,
) -> ChatOut:
    request = body or ForkRequest()
    fork = await use_case(user_id, chat_id, request.revision, request.attachments)
    response.headers["Location"] = f"/v1/chats/{fork.chat_id}"
    return ChatOut.model_validate(fork)


@router.delete(
    "/{chat_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(
        *IDENTITY_ERRORS, *CHAT_LOOKUP, ChatHasActiveSandboxError, StorageUnavailableError
    ),
)
async def delete_chat(chat_id: PathUuid, user_id: Caller, use_case: DeleteChatUseCase) -> Response:
    await use_case(user_id, chat_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
