"""The repositories of the metadata records: workspaces, chats, file records, sessions."""

from collections.abc import Collection
from datetime import datetime
from typing import Protocol
from uuid import UUID

from domain.attachment_name import ChatAttachmentName
from domain.chat import Chat
from domain.chat_file import ChatFile
from domain.paging import PageRequest, RecentPageRequest
from domain.sandbox_session import SandboxSession
from domain.workspace import Workspace


class WorkspaceRepository(Protocol):
    async def get(self, workspace_id: UUID) -> Workspace | None: ...

    async def get_by_user_id(self, user_id: UUID) -> Workspace | None: ...

    async def save(self, workspace: Workspace) -> None:
        """Store `workspace`. A user owns one workspace: saving another one for the same user
        replaces the first, which is then gone by id too."""
        ...

    async def add_if_absent(self, workspace: Workspace) -> tuple[Workspace, bool]:
        """Atomically store `workspace` unless its user already owns one.

        Returns the user's workspace afterwards and whether this call created it."""
        ...

    async def delete(self, workspace_id: UUID) -> None:
        """Remove the workspace record; an unknown id is a no-op. Its chats' records go
        first (SQL stores refuse to leave a chat without its workspace)."""
        ...


class ChatRepository(Protocol):
    async def get(self, chat_id: UUID) -> Chat | None: ...

    async def list_by_workspace_id(self, workspace_id: UUID, page: PageRequest) -> list[Chat]:
        """Up to `page.limit` chats of the workspace ordered by (created_at, chat_id),
        strictly after `page.after` when given."""
        ...

    async def list_recent_by_workspace_id(
        self, workspace_id: UUID, page: RecentPageRequest
    ) -> list[Chat]:
        """Up to `page.limit` chats of the workspace ordered by (updated_at, chat_id),
        newest first, strictly older than `page.after` when given. Like the list in
        creation order, a page costs an index range: O(log n + limit)."""
        ...

    async def save(self, chat: Chat) -> None:
        """Insert or update every field of the chat by chat_id."""
        ...

    async def touch(self, chat_id: UUID, at: datetime) -> None:
        """Move the chat's `updated_at` to `at` unless it is already there or later (a
        change saved in the same unit as the change it dates); an unknown id is a no-op."""
        ...

    async def delete(self, chat_id: UUID) -> None:
        """Remove the chat record, its file records and its history revisions; an unknown
        id is a no-op."""
        ...

    async def ids_by_workspace_id(self, workspace_id: UUID) -> list[UUID]:
        """The id of every chat of the workspace, in id order."""
        ...

    async def delete_by_workspace_id(self, workspace_id: UUID) -> None:
        """Remove every chat record of the workspace, each with its file records and its
        history revisions, as `delete` does."""
        ...


class ChatFileRepository(Protocol):
    async def get(self, file_id: UUID) -> ChatFile | None: ...

    async def get_by_chat_id_and_name(
        self, chat_id: UUID, name: ChatAttachmentName
    ) -> ChatFile | None: ...

    async def list_by_chat_id(self, chat_id: UUID, page: PageRequest) -> list[ChatFile]:
        """Up to `page.limit` records of the chat ordered by (created_at, file_id),
        strictly after `page.after` when given."""
        ...

    async def list_all_by_chat_id(self, chat_id: UUID) -> list[ChatFile]:
        """Every record of the chat, ordered by (created_at, file_id)."""
        ...

    async def save(self, chat_file: ChatFile) -> None:
        """Insert or update by file_id. Records are unique per (chat_id, name): saving under a
        name another record of the chat holds replaces that older record."""
        ...

    async def delete(self, file_id: UUID) -> None:
        """Remove one record; an unknown id is a no-op."""
        ...

    async def delete_by_chat_id(self, chat_id: UUID) -> None:
        """Remove every record of the chat."""
        ...


class SandboxSessionRepository(Protocol):
    async def get(self, session_id: UUID) -> SandboxSession | None: ...

    async def get_active_by_chat_id(self, chat_id: UUID, now: datetime) -> SandboxSession | None:
        """The session active on the chat at `now` (not ended, not expired), if any."""
        ...

    async def add(self, session: SandboxSession, now: datetime) -> bool:
        """Atomically store a new session unless another is active on its chat at `now`.

        Returns False (and stores nothing) when one is active."""
        ...

    async def save(self, session: SandboxSession) -> None:
        """Update a stored session (a heartbeat's new `expires_at`, an `ended_at`)."""
        ...

    async def delete_by_chat_id(self, chat_id: UUID) -> None: ...

    async def get_active_by_chat_ids(
        self, chat_ids: Collection[UUID], now: datetime
    ) -> SandboxSession | None:
        """A session active at `now` on any of the chats, if there is one (the newest
        started, when several are)."""
        ...

    async def delete_by_chat_ids(self, chat_ids: Collection[UUID]) -> None:
        """Remove every session, active or not, of each of the chats."""
        ...
