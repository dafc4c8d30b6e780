from collections import OrderedDict
from dataclasses import dataclass, field
from uuid import UUID

from domain.chat import Chat
from domain.errors import ChatNotFoundError, WorkspaceNotFoundError
from domain.workspace import Workspace
from usecase.ports.records import ChatRepository, WorkspaceRepository

# Workspaces remembered per process; the bound only caps memory (about 200 bytes each).
KNOWN_WORKSPACES = 50_000


@dataclass(frozen=True, slots=True)
class ChatAccess:
    """Resolves what a user may touch: their own workspace, and chats inside it only.

    Another user's chat answers exactly like a chat that does not exist. A workspace can be
    erased, by this instance or another one on the same store, and its user can then make a
    new one (ADR 0024), so what is remembered is used only where the store proves it still
    holds:

    - `workspace` always asks the store, and remembers what it answers: the workspace
      routes (and creating a chat) see an erasure at once, in every instance.
    - `chat` reads the chat from the store as before, and skips the workspace lookup when
      it remembers the user's workspace and the chat found belongs to it: the records of a
      workspace's chats go in the same unit of work as its own, and no chat can be added
      to an erased workspace, so a chat found in it proves it is still there. Any other
      answer (no such chat, or a chat of another workspace) asks the store for the user's
      workspace before answering: `workspace_not_found` once it is gone, and a chat of the
      user's new workspace is found.
    """

    workspaces: WorkspaceRepository
    chats: ChatRepository
    _known: OrderedDict[UUID, Workspace] = field(default_factory=OrderedDict, repr=False)

    async def workspace(self, user_id: UUID) -> Workspace:
        """The user's workspace, as the store has it now."""
        workspace = await self.workspaces.get_by_user_id(user_id)
        if workspace is None:
            self.forget(user_id)
            raise WorkspaceNotFoundError(f"user {user_id} has no workspace")
        self._known[user_id] = workspace
        self._known.move_to_end(user_id)
        if len(self._known) > KNOWN_WORKSPACES:
            self._known.popitem(last=False)
        return workspace

    async def chat(self, user_id: UUID, chat_id: UUID) -> Chat:
        remembered = self._known.get(user_id)
        if remembered is not None:
            self._known.move_to_end(user_id)
        workspace = remembered or await self.workspace(user_id)
        chat = await self.chats.get(chat_id)
        if chat is not None and chat.workspace_id == workspace.workspace_id:
            return chat
        if remembered is not None:  # perhaps erased since, or made anew: ask the store
            workspace = await self.workspace(user_id)
            if chat is not None and chat.workspace_id == workspace.workspace_id:
                return chat
        raise ChatNotFoundError(f"chat {chat_id} not found")

    async def check_workspace(self, workspace_id: UUID) -> None:
        """Raise WorkspaceNotFoundError unless the store still has the workspace."""
        if await self.workspaces.get(workspace_id) is None:
            raise WorkspaceNotFoundError(f"workspace {workspace_id} was erased")

    def forget(self, user_id: UUID) -> None:
        """Stop remembering the user's workspace (this instance erased it)."""
        self._known.pop(user_id, None)
