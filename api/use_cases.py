"""What a route receives: the one use case it calls, picked from the app's UseCases.

Each alias is a typed FastAPI dependency; the picker is `async` so that FastAPI does not
run it in a worker thread (a hop per request)."""

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request

from api.container import UseCases
from usecase.chat_import import ImportChats
from usecase.chats import CreateChat, DeleteChat, GetChat, ListChats, UpdateChat
from usecase.erasure import EraseWorkspace
from usecase.export import ExportChat, ExportWorkspace
from usecase.files import (
    ClearFiles,
    DeleteFile,
    GetFile,
    ListFiles,
    OpenFileContent,
    RescanFiles,
    UploadFiles,
)
from usecase.fork import ForkChat
from usecase.history import GetHistory, PutHistory
from usecase.history_append import AppendHistory
from usecase.history_revisions import (
    GetHistoryRevision,
    ListHistoryRevisions,
    PruneHistoryRevisions,
    RestoreHistoryRevision,
)
from usecase.readiness import CheckReadiness
from usecase.sandbox import (
    EndSandboxSession,
    GetActiveSandboxSession,
    HeartbeatSandboxSession,
    StartSandboxSession,
)
from usecase.workspaces import EnsureWorkspace, GetWorkspace, GetWorkspaceUsage

T = TypeVar("T")


def _picked(pick: Callable[[UseCases], T]) -> Any:
    async def dependency(request: Request) -> T:
        use_cases: UseCases = request.app.state.use_cases
        return pick(use_cases)

    return Depends(dependency)


EnsureWorkspaceUseCase = Annotated[EnsureWorkspace, _picked(lambda cases: cases.ensure_workspace)]
GetWorkspaceUseCase = Annotated[GetWorkspace, _picked(lambda cases: cases.get_workspace)]
GetWorkspaceUsageUseCase = Annotated[
    GetWorkspaceUsage, _picked(lambda cases: cases.get_workspace_usage)
]
EraseWorkspaceUseCase = Annotated[EraseWorkspace, _picked(lambda cases: cases.erase_workspace)]
CreateChatUseCase = Annotated[CreateChat, _picked(lambda cases: cases.create_chat)]
ListChatsUseCase = Annotated[ListChats, _picked(lambda cases: cases.list_chats)]
GetChatUseCase = Annotated[GetChat, _picked(lambda cases: cases.get_chat)]
UpdateChatUseCase = Annotated[UpdateChat, _picked(lambda cases: cases.update_chat)]
DeleteChatUseCase = Annotated[DeleteChat, _picked(lambda cases: cases.delete_chat)]
ForkChatUseCase = Annotated[ForkChat, _picked(lambda cases: cases.fork_chat)]
ImportChatsUseCase = Annotated[ImportChats, _picked(lambda cases: cases.import_chats)]
GetHistoryUseCase = Annotated[GetHistory, _picked(lambda cases: cases.get_history)]
PutHistoryUseCase = Annotated[PutHistory, _picked(lambda cases: cases.put_history)]
AppendHistoryUseCase = Annotated[AppendHistory, _picked(lambda cases: cases.append_history)]
ListHistoryRevisionsUseCase = Annotated[
    ListHistoryRevisions, _picked(lambda cases: cases.list_history_revisions)
]
GetHistoryRevisionUseCase = Annotated[
    GetHistoryRevision, _picked(lambda cases: cases.get_history_revision)
]
RestoreHistoryRevisionUseCase = Annotated[
    RestoreHistoryRevision, _picked(lambda cases: cases.restore_history_revision)
]
PruneHistoryRevisionsUseCase = Annotated[
    PruneHistoryRevisions, _picked(lambda cases: cases.prune_history_revisions)
]
UploadFilesUseCase = Annotated[UploadFiles, _picked(lambda cases: cases.upload_files)]
ListFilesUseCase = Annotated[ListFiles, _picked(lambda cases: cases.list_files)]
GetFileUseCase = Annotated[GetFile, _picked(lambda cases: cases.get_file)]
OpenFileContentUseCase = Annotated[OpenFileContent, _picked(lambda cases: cases.open_file_content)]
DeleteFileUseCase = Annotated[DeleteFile, _picked(lambda cases: cases.delete_file)]
ClearFilesUseCase = Annotated[ClearFiles, _picked(lambda cases: cases.clear_files)]
RescanFilesUseCase = Annotated[RescanFiles, _picked(lambda cases: cases.rescan_files)]
StartSandboxSessionUseCase = Annotated[
    StartSandboxSession, _picked(lambda cases: cases.start_sandbox_session)
]
GetActiveSandboxSessionUseCase = Annotated[
    GetActiveSandboxSession, _picked(lambda cases: cases.get_active_sandbox_session)
]
HeartbeatSandboxSessionUseCase = Annotated[
    HeartbeatSandboxSession, _picked(lambda cases: cases.heartbeat_sandbox_session)
]
EndSandboxSessionUseCase = Annotated[
    EndSandboxSession, _picked(lambda cases: cases.end_sandbox_session)
]
ExportWorkspaceUseCase = Annotated[ExportWorkspace, _picked(lambda cases: cases.export_workspace)]
ExportChatUseCase = Annotated[ExportChat, _picked(lambda cases: cases.export_chat)]
CheckReadinessUseCase = Annotated[CheckReadiness, _picked(lambda cases: cases.check_readiness)]
