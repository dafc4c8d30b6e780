"""The crash journal: which chats a change was under way on, so that start-up settling
finds what a crash interrupted (ADR 0011, ADR 0017)."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from domain.chat_file import ChatFile
from domain.history import HistoryVersion


@dataclass(frozen=True, slots=True)
class HistoryAppend:
    """An append under way: the history was `from_size` bytes, and is `to` once written."""

    from_size: int
    to: HistoryVersion


class CrashJournal(Protocol):
    async def mark_unsettled(
        self,
        workspace_id: UUID,
        chat_id: UUID,
        pending: Sequence[ChatFile] = (),
        appending: HistoryAppend | None = None,
    ) -> bool:
        """Note, before a change that spans the chat's bytes and its metadata, that a crash
        could leave the two disagreeing; the mark stays until `mark_settled`. A new mark
        keeps `pending` as its note (see `note_pending_files`), or the append under way,
        in the same write.

        Returns whether the chat was marked already; the mark found is then left as it was,
        note and all. Called under the chat's lock, where no other change holds a mark,
        that is a change a crash cut short, in this instance or another: the caller settles
        it before going on, then notes its own pending records."""
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

    async def settle_append(self, workspace_id: UUID, chat_id: UUID) -> None:
        """After a crash, put the history back where the append the chat's mark notes
        began, unless all of it landed; a no-op when the mark notes no append. Called under
        the chat's lock, before the chat is settled."""
        ...
