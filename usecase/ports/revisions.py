"""The records of a chat's history revisions (the bytes they keep live elsewhere)."""

from collections.abc import Sequence
from typing import Protocol
from uuid import UUID

from domain.history_revision import HistoryRevision


class HistoryRevisionRepository(Protocol):
    """The kept revisions of each chat, by (chat_id, revision). The caller numbers them
    (the latest + 1) and writes a chat's revisions only under that chat's lock. They go
    with the chat's record: deleting the chat deletes them."""

    async def add(self, revision: HistoryRevision) -> None:
        """Store a new revision. Raises ValueError, storing nothing, when the chat already
        has one of that number: numbers are never reused, so that is the caller's bug."""
        ...

    async def add_all(self, revisions: Sequence[HistoryRevision]) -> None:
        """Store new revisions, all or none: ValueError, storing none, when one of them
        is a number its chat already has (or two of them are the same)."""
        ...

    async def latest(self, chat_id: UUID) -> HistoryRevision | None:
        """The chat's highest-numbered revision, if it has any."""
        ...

    async def get(self, chat_id: UUID, revision: int) -> HistoryRevision | None:
        """That revision of the chat, if it is kept."""
        ...

    async def list_newest_first(
        self, chat_id: UUID, limit: int, before: int | None
    ) -> list[HistoryRevision]:
        """Up to `limit` revisions of the chat numbered below `before` (all when None),
        newest first; one index range scan, however many the chat keeps."""
        ...

    async def delete_older_than(self, chat_id: UUID, revision: int) -> list[HistoryRevision]:
        """Remove every revision of the chat numbered below `revision`; returns them,
        oldest first, so the caller can free what they kept."""
        ...

    async def delete(self, chat_id: UUID, revisions: Sequence[int]) -> None:
        """Remove those revisions of the chat; a number it does not keep is skipped."""
        ...

    async def delete_by_chat_id(self, chat_id: UUID) -> None:
        """Remove every revision of the chat."""
        ...

    async def runs_in_use(self, chat_id: UUID) -> set[int]:
        """The distinct `run` of the chat's kept revisions: the runs whose bytes are still
        needed."""
        ...
