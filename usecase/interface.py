"""Ports: what the use cases need from the outside world, as async Protocols.

Implementations subclass these explicitly so mypy checks conformance where they are written.
Ports take and return domain objects, never rows, Pydantic models or paths.
"""

from collections.abc import AsyncIterable, AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol
from uuid import UUID

from domain.attachment_name import ChatAttachmentName
from domain.chat import Chat
from domain.chat_file import ChatFile
from domain.content import ScannedFile, StagedContent
from domain.history import HistoryVersion
from domain.paging import PageRequest
from domain.sandbox_session import SandboxSession
from domain.workspace import Workspace


class IdGenerator(Protocol):
    def new_id(self) -> UUID: ...


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class KeyedLock(Protocol):
    def hold(self, key: UUID) -> AbstractAsyncContextManager[None]:
        """Exclusive hold on `key` for the duration of the `async with` block.

        Holders of different keys never wait for each other; holders of one key are served
        one at a time, in arrival order.
        """
        ...


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


class ChatRepository(Protocol):
    async def get(self, chat_id: UUID) -> Chat | None: ...

    async def list_by_workspace_id(self, workspace_id: UUID, page: PageRequest) -> list[Chat]:
        """Up to `page.limit` chats of the workspace ordered by (created_at, chat_id),
        strictly after `page.after` when given."""
        ...

    async def save(self, chat: Chat) -> None: ...

    async def delete(self, chat_id: UUID) -> None:
        """Remove the chat record and its file records; an unknown id is a no-op."""
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


class UsageRepository(Protocol):
    """Bytes each chat takes on disk, kept beside the metadata so that the quota check reads
    one figure per workspace instead of walking its directories."""

    async def used_bytes(self, workspace_id: UUID) -> int:
        """Sum over the workspace's chats; 0 for a workspace with none recorded."""
        ...

    async def try_add(
        self, workspace_id: UUID, chat_id: UUID, delta_bytes: int, quota_bytes: int
    ) -> bool:
        """Atomically add `delta_bytes` to the chat's figure, unless the delta is positive
        and would take the workspace's sum over `quota_bytes`. A negative or zero delta
        always applies. Returns whether it applied. A chat's figure never goes below 0."""
        ...

    async def history_bytes(self, chat_id: UUID) -> int:
        """The size of `history.md` that the chat's figure counts (0 if none recorded)."""
        ...

    async def try_set_history(
        self, workspace_id: UUID, chat_id: UUID, size_bytes: int, quota_bytes: int | None
    ) -> bool:
        """Atomically count `size_bytes` as the chat's history instead of the size counted
        so far, adjusting the chat's figure by the difference, unless that grows the
        workspace over `quota_bytes` (None: always applies). Returns whether it applied."""
        ...

    async def set_chat_bytes(
        self, workspace_id: UUID, chat_id: UUID, used_bytes: int, history_bytes: int
    ) -> None:
        """Replace the chat's figure with a fresh measurement of its directory, of which
        `history_bytes` are its history."""
        ...

    async def delete_chat(self, chat_id: UUID) -> None: ...


class MetadataStore(Protocol):
    """Every metadata repository of one backend, with its health and lifecycle."""

    @property
    def workspaces(self) -> WorkspaceRepository: ...

    @property
    def chats(self) -> ChatRepository: ...

    @property
    def files(self) -> ChatFileRepository: ...

    @property
    def sessions(self) -> SandboxSessionRepository: ...

    @property
    def usage(self) -> UsageRepository: ...

    async def open(self) -> None:
        """Connect and bring the schema up to date; a no-op when already open. Raises
        StorageUnavailableError when the store cannot be reached."""
        ...

    async def ping(self) -> None:
        """Raise StorageUnavailableError when the store does not answer."""
        ...

    async def close(self) -> None: ...


class ContentReader(Protocol):
    """An open, checked regular file. Reads never go past `size_bytes`, the size seen when
    it was opened, even if the file grows behind the service's back."""

    @property
    def size_bytes(self) -> int: ...

    def iter_range(self, start: int, end: int) -> AsyncIterator[bytes]:
        """The bytes from `start` to `end` inclusive, in bounded chunks."""
        ...

    async def aclose(self) -> None: ...


class ChatStorage(Protocol):
    """The bytes of chats: one directory per chat, holding `history.md` and attachments.

    A sandbox may change anything inside a chat directory: a link, FIFO, directory or
    socket under a name is treated as a missing file; nothing behind it is ever read,
    written, counted or deleted. Writes are atomic (old or new, never a mix). OSErrors
    surface as InsufficientStorageError (disk or filesystem full) or
    StorageUnavailableError (any other I/O error).
    """

    async def prepare(self) -> None:
        """Create the layout under the data root and clear what a previous run left in
        staging and trash."""
        ...

    async def check_writable(self) -> None:
        """Raise StorageUnavailableError unless a file can be created and removed."""
        ...

    async def ensure_chat(self, workspace_id: UUID, chat_id: UUID) -> None:
        """Create the chat directory with an empty `history.md` (a no-op if it exists)."""
        ...

    async def delete_chat(self, workspace_id: UUID, chat_id: UUID) -> None:
        """Move the chat directory out of sight, then remove it without following links."""
        ...

    async def mark_unsettled(self, workspace_id: UUID, chat_id: UUID) -> None:
        """Note, before a change that spans the chat's bytes and its metadata, that a crash
        could leave the two disagreeing; the mark stays until `mark_settled`."""
        ...

    async def mark_settled(self, workspace_id: UUID, chat_id: UUID) -> None:
        """Drop the chat's mark (a no-op when it has none)."""
        ...

    async def unsettled_chats(self) -> list[tuple[UUID, UUID]]:
        """(workspace_id, chat_id) of every chat still marked: after a crash, those whose
        bytes and metadata may disagree."""
        ...

    async def note_pending_files(
        self, workspace_id: UUID, chat_id: UUID, records: Sequence[ChatFile]
    ) -> None:
        """Keep with the chat's mark the records a change will save once their bytes are in
        place, so that settling after a crash between the two gives those bytes these
        records (their new ids) rather than taking them for a sandbox's edit of the old
        ones. Called while the chat is marked; `mark_settled` drops the note with the mark."""
        ...

    async def pending_files(self, workspace_id: UUID, chat_id: UUID) -> list[ChatFile]:
        """The records `note_pending_files` kept with the chat's mark; [] when none.
        Called under the chat's lock when settling: a `commit_attachments` that a crash
        cut short before its last rename is first rolled back (what it replaced put back,
        what it added removed) and its note dropped, so the chat settles to its state
        before that change; one whose renames were all done stands, and its note is
        returned."""
        ...

    async def stage(self, chunks: AsyncIterable[bytes], *, durable: bool = True) -> StagedContent:
        """Write the chunks to a new staging file, computing size and sha256; durably
        (fsynced) unless `durable` is False, for content that `write_history` makes
        durable itself, only if it is ever committed.

        If `chunks` raises, or the write fails, the staging file is removed and the
        error propagates."""
        ...

    async def discard(self, staged: StagedContent) -> None:
        """Remove a staged file that will not be committed; a no-op if it is gone."""
        ...

    async def history_version(self, workspace_id: UUID, chat_id: UUID) -> HistoryVersion:
        """The version of the current history (empty when missing or not a regular file)."""
        ...

    async def open_history(
        self, workspace_id: UUID, chat_id: UUID
    ) -> tuple[HistoryVersion, ContentReader]:
        """The current history and a reader of exactly the bytes that version names."""
        ...

    async def write_history(self, workspace_id: UUID, chat_id: UUID, staged: StagedContent) -> int:
        """Atomically make the staged bytes the history. Returns the size of the regular
        file it replaced (0 if there was none)."""
        ...

    async def commit_attachments(
        self,
        workspace_id: UUID,
        chat_id: UUID,
        items: Sequence[tuple[ChatAttachmentName, StagedContent]],
    ) -> list[int]:
        """Make each staged file the attachment of its name, all of them or none.

        Each one replaces atomically what stands under its name (a planted link is
        replaced, never written through). If any fails, those already in place are rolled
        back (what they replaced is put back) and the error propagates; every staged file
        of the call is consumed either way. A crash part of the way through is rolled back
        too, by `pending_files` when the chat is settled. Returns, per item, the size of
        the regular file it replaced (0 if there was none)."""
        ...

    async def open_attachment(
        self, workspace_id: UUID, chat_id: UUID, name: ChatAttachmentName
    ) -> ContentReader:
        """Open the attachment; ChatFileNotFoundError when missing or not a regular file."""
        ...

    async def delete_attachment(
        self, workspace_id: UUID, chat_id: UUID, name: ChatAttachmentName
    ) -> int:
        """Remove the name from the chat directory (never a directory, never a link's
        target). Returns the bytes freed: the size of the regular file removed, else 0."""
        ...

    async def scan_attachments(
        self, workspace_id: UUID, chat_id: UUID, max_size_bytes: int
    ) -> list[ScannedFile]:
        """Every regular file directly in the chat directory whose name is a valid
        attachment name (so never `history.md`) and whose size is at most `max_size_bytes`,
        with its size and sha256. A larger file is left out without being read, so a huge
        (even sparse) file a sandbox wrote never costs a scan more than that bound."""
        ...


class StorageUsageReader(Protocol):
    async def chat_used_bytes(self, workspace_id: UUID, chat_id: UUID) -> int:
        """The logical size (lstat) of every regular file at any depth in the chat directory;
        links are never followed or counted."""
        ...
