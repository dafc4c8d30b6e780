"""The bytes of chats: one directory per chat, holding `history.md` and attachments.

A sandbox may change anything inside a chat directory: a link, FIFO, directory or socket
under a name is treated as a missing file; nothing behind it is ever read, written,
counted or deleted. Writes are atomic (old or new, never a mix). OSErrors surface as
InsufficientStorageError (disk or filesystem full) or StorageUnavailableError (any other
I/O error).
"""

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from domain.attachment_name import ChatAttachmentName
from domain.history import HistoryVersion
from usecase.ports.archives import StagedArchives
from usecase.ports.crash_journal import CrashJournal
from usecase.ports.staging import StagedContent, Staging


class ContentReader(Protocol):
    """An open, checked regular file. Reads never go past `size_bytes`, the size seen when
    it was opened, even if the file grows behind the service's back."""

    @property
    def size_bytes(self) -> int: ...

    def iter_range(self, start: int, end: int) -> AsyncIterator[bytes]:
        """The bytes from `start` to `end` inclusive, in bounded chunks."""
        ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ScannedFile:
    """A regular file found at the top of a chat directory under a valid attachment name."""

    name: ChatAttachmentName
    size_bytes: int
    sha256: str


class ChatDirectories(Protocol):
    """The data root and a directory per chat."""

    async def prepare(self) -> None:
        """Create the layout under the data root and clear what a previous run left in
        staging and trash."""
        ...

    async def close(self) -> None:
        """Let go of what `prepare` holds for this process (its staging area, which the
        next `prepare` of any process then clears); a no-op when nothing is held."""
        ...

    async def check_writable(self) -> None:
        """Raise StorageUnavailableError unless a file can be created and removed."""
        ...

    async def ensure_chat(self, workspace_id: UUID, chat_id: UUID) -> None:
        """Create the chat directory with an empty `history.md` (a no-op if it exists)."""
        ...

    async def delete_chat(self, workspace_id: UUID, chat_id: UUID) -> None:
        """Move the chat directory out of sight, durably: the step of a chat's deletion
        that can fail, after which its bytes are gone from every view. `purge_chat`
        removes them (or the next start-up does)."""
        ...

    async def purge_chat(self, chat_id: UUID) -> None:
        """Remove what `delete_chat` moved out of sight, never following links. Never
        raises: what it cannot remove waits for the next start-up."""
        ...


class HistoryFiles(Protocol):
    """Each chat's `history.md`."""

    async def history_version(
        self, workspace_id: UUID, chat_id: UUID, *, settled: bool = False
    ) -> HistoryVersion:
        """The version of the current history (empty when missing or not a regular file).
        `settled`: the caller holds the chat's lock and has settled what a crash left on it,
        so a version hashed now may be remembered (ADR 0021): without it, the bytes an
        append a crash cut short left could be taken for a version."""
        ...

    async def open_history(
        self, workspace_id: UUID, chat_id: UUID
    ) -> tuple[HistoryVersion, ContentReader]:
        """The current history and a reader of exactly the bytes that version names.
        Called under the chat's lock, once settled (see `history_version`)."""
        ...

    async def open_known_history(
        self, workspace_id: UUID, chat_id: UUID
    ) -> tuple[HistoryVersion, ContentReader] | None:
        """As `open_history`, without hashing: None when the history on disk is not a
        version this storage knows (read or written before, unchanged since). A history in
        the middle of an append is never known, so a reader that gets None opens it again
        under the chat's lock."""
        ...

    async def extend_history_version(
        self, workspace_id: UUID, chat_id: UUID, version: HistoryVersion, staged: StagedContent
    ) -> HistoryVersion:
        """The version of `version`'s content followed by the staged bytes, hashing only
        those bytes. `version` is the chat's current history, or one this method made;
        callers hold the chat's lock."""
        ...

    async def append_history(
        self,
        workspace_id: UUID,
        chat_id: UUID,
        base: HistoryVersion,
        staged: Sequence[StagedContent],
        result: HistoryVersion,
    ) -> None:
        """Append the staged bytes, in order, to the history, which is `base`, making it
        `result` (as `extend_history_version` said), durably, with one fsync. The history
        is grown in place; when it is not the regular file `base` names on disk (a sandbox
        removed it or planted something there), it is rebuilt from what stands there and
        renamed in. The staged files are consumed, whatever happens."""
        ...

    async def write_history(
        self,
        workspace_id: UUID,
        chat_id: UUID,
        staged: StagedContent,
        *,
        keep_run: int | None = None,
        keep_bodies: Sequence[tuple[int, StagedContent]] = (),
    ) -> int:
        """Atomically make the staged bytes the history. Returns the size of the regular
        file it replaced (0 if there was none). A directory a sandbox made under the name is
        never removed: the write fails (StorageUnavailableError) until the sandbox removes
        it. With `keep_run`, what the history held is first kept, durably, as that run's
        content for history revisions (outside the chat directory; no copy when it can be
        kept by a second name); each of `keep_bodies` (run, staged body) is kept, durably,
        as its run's content. Every staged file of the call is consumed, whatever happens."""
        ...

    async def keep_history_run(self, workspace_id: UUID, chat_id: UUID, run: int) -> int:
        """Keep what the history holds now, durably, as `run`'s content, as `write_history`
        does with `keep_run`; returns the size kept (0 when the history is missing or not a
        regular file)."""
        ...

    async def open_history_revision(
        self, workspace_id: UUID, chat_id: UUID, run: int, size_bytes: int, *, current: bool
    ) -> ContentReader | None:
        """A reader of the first `size_bytes` bytes of `run`'s content: of the history
        itself when `current` (the run the history continues), else of what `write_history`
        kept for it. None when that is gone or shorter. Empty needs no bytes: never None."""
        ...

    async def copy_history_revision(
        self,
        workspace_id: UUID,
        chat_id: UUID,
        run: int,
        version: HistoryVersion,
        *,
        current: bool,
    ) -> StagedContent | None:
        """The first `version.size_bytes` bytes of `run`'s content (as `open_history_revision`
        reads them), copied by the kernel into a new durable staging file that is said to
        hold `version`; None when they are gone."""
        ...

    async def history_starts_with(
        self, workspace_id: UUID, chat_id: UUID, version: HistoryVersion
    ) -> bool:
        """Whether the history's first bytes are `version`'s content (always, for the empty
        version): reads and hashes that many bytes."""
        ...

    async def drop_history_runs(self, workspace_id: UUID, chat_id: UUID, keep: set[int]) -> int:
        """Remove what was kept for every run but those in `keep`; returns the bytes freed."""
        ...

    async def history_run_sizes(self, workspace_id: UUID, chat_id: UUID) -> dict[int, int]:
        """Each run kept beside the chat's history, and the size of what is kept for it."""
        ...


class Attachments(Protocol):
    """Each chat's attachments, by name."""

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

    async def open_attachments(
        self, workspace_id: UUID, chat_id: UUID, names: Sequence[ChatAttachmentName]
    ) -> list[ContentReader | None]:
        """Open each attachment as `open_attachment` does, in one pass: per name, in order,
        its reader, or None when it is missing or not a regular file. The caller closes
        every reader; if the call fails, none is left open."""
        ...

    async def copy_attachment(
        self,
        workspace_id: UUID,
        chat_id: UUID,
        name: ChatAttachmentName,
        size_bytes: int,
        sha256: str,
    ) -> StagedContent | None:
        """The attachment's bytes, copied by the kernel (never through the service's memory)
        into a new durable staging file said to hold `sha256`; None when it is missing, not
        a regular file, or not `size_bytes` long (changed since it was recorded)."""
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


class ChatStorage(
    ChatDirectories, HistoryFiles, Attachments, Staging, StagedArchives, CrashJournal, Protocol
):
    """Every job of the chats' bytes, as one filesystem adapter does them all."""
