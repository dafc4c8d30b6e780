from dataclasses import dataclass
from uuid import UUID

from domain.chat import Chat
from domain.errors import ChatNotFoundError, WorkspaceNotFoundError
from domain.workspace import Workspace
from usecase.interface import ChatRepository, WorkspaceRepository


@dataclass(frozen=True, slots=True)
class ChatAccess:
    """Resolves what a user may touch: their own workspace, and chats inside it only.

    Another user's chat answers exactly like a chat that does not exist."""

    workspaces: WorkspaceRepository
    chats: ChatRepository

    async def workspace(self, user_id: UUID) -> Workspace:
        workspace = await self.workspaces.get_by_user_id(user_id)
        if workspace is None:
            raise WorkspaceNotFoundError(f"user {user_id} has no workspace")
        return workspace

    async def chat(self, user_id: UUID, chat_id: UUID) -> Chat:
        workspace = await self.workspace(user_id)
        chat = await self.chats.get(chat_id)
        if chat is None or chat.workspace_id != workspace.workspace_id:
            raise ChatNotFoundError(f"chat {chat_id} not found")
        return chat
