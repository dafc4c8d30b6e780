from collections import OrderedDict
from dataclasses import dataclass, field
from uuid import UUID

from domain.chat import Chat
from domain.errors import ChatNotFoundError, WorkspaceNotFoundError
from domain.workspace import Workspace
from usecase.ports.records import ChatRepository, WorkspaceRepository

# Workspaces remembered per process. A workspace never changes and is never deleted, so a
# remembered one is never stale; the bound only caps memory (about 200 bytes each).
KNOWN_WORKSPACES = 50_000


@dataclass(frozen=True, slots=True)
class ChatAccess:
    """Resolves what a user may touch: their own workspace, and chats inside it only.

    Another user's chat answers exactly like a chat that does not exist. A user's workspace,
    once found, is remembered (most recently used first out of `KNOWN_WORKSPACES`): every
    request starts here, and this saves it a store round trip. Chats are always looked up,
    since another instance may delete one at any time."""

    workspaces: WorkspaceRepository
    chats: ChatRepository
    _known: OrderedDict[UUID, Workspace] = field(default_factory=OrderedDict, repr=False)

    async def workspace(self, user_id: UUID) -> Workspace:
        known = self._known.get(user_id)
        if known is not None:
            self._known.move_to_end(user_id)
            return known
        workspace = await self.workspaces.get_by_user_id(user_id)
        if workspace is None:
            raise WorkspaceNotFoundError(f"user {user_id} has no workspace")
        self._known[user_id] = workspace
        if len(self._known) > KNOWN_WORKSPACES:
            self._known.popitem(last=False)
        return workspace

    async def chat(self, user_id: UUID, chat_id: UUID) -> Chat:
        workspace = await self.workspace(user_id)
        chat = await self.chats.get(chat_id)
        if chat is None or chat.workspace_id != workspace.workspace_id:
            raise ChatNotFoundError(f"chat {chat_id} not found")
        return chat
