from bisect import bisect_left, insort
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from uuid import UUID

from domain.history_revision import HistoryRevision
from repository.memory_undo import on_undo, remove
from usecase.ports.revisions import HistoryRevisionRepository


@dataclass(slots=True)
class _ChatRevisions:
    """One chat's revisions by number, their numbers in order, and how many use each run."""

    by_number: dict[int, HistoryRevision] = field(default_factory=dict)
    numbers: list[int] = field(default_factory=list)
    runs: Counter[int] = field(default_factory=Counter)

    def insert(self, revision: HistoryRevision) -> None:
        self.by_number[revision.revision] = revision
        insort(self.numbers, revision.revision)
        self.runs[revision.run] += 1

    def pop(self, number: int) -> None:
        revision = self.by_number.pop(number)
        del self.numbers[bisect_left(self.numbers, number)]
        self.runs[revision.run] -= 1
        if not self.runs[revision.run]:
            del self.runs[revision.run]

    def pop_below(self, number: int) -> list[HistoryRevision]:
        cut = bisect_left(self.numbers, number)
        popped = [self.by_number.pop(older) for older in self.numbers[:cut]]
        del self.numbers[:cut]
        self.runs.subtract(revision.run for revision in popped)
        for revision in popped:
            if not self.runs[revision.run]:
                del self.runs[revision.run]
        return popped


class InMemoryHistoryRevisionRepository(HistoryRevisionRepository):
    """Each chat's revisions in number order, so that a listing is a bisect and a slice."""

    def __init__(self) -> None:
        self._chats: dict[UUID, _ChatRevisions] = {}

    async def add(self, revision: HistoryRevision) -> None:
        kept = self._chats.get(revision.chat_id)
        if kept is not None and revision.revision in kept.by_number:
            raise ValueError(f"chat {revision.chat_id} already has revision {revision.revision}")
        if kept is None:
            kept = self._chats[revision.chat_id] = _ChatRevisions()
            on_undo(lambda: self._chats.pop(revision.chat_id, None))
        kept.insert(revision)
        on_undo(lambda: kept.pop(revision.revision))

    async def add_all(self, revisions: Sequence[HistoryRevision]) -> None:
        keys = [(revision.chat_id, revision.revision) for revision in revisions]
        taken = any(
            number in kept.by_number
            for chat_id, number in keys
            if (kept := self._chats.get(chat_id)) is not None
        )
        if taken or len(set(keys)) != len(keys):
            raise ValueError(f"revisions {keys} include a number already taken")
        for revision in revisions:
            await self.add(revision)

    async def latest(self, chat_id: UUID) -> HistoryRevision | None:
        kept = self._chats.get(chat_id)
        if kept is None or not kept.numbers:
            return None
        return kept.by_number[kept.numbers[-1]]

    async def get(self, chat_id: UUID, revision: int) -> HistoryRevision | None:
        kept = self._chats.get(chat_id)
        return None if kept is None else kept.by_number.get(revision)

    async def list_newest_first(
        self, chat_id: UUID, limit: int, before: int | None
    ) -> list[HistoryRevision]:
        kept = self._chats.get(chat_id)
        if kept is None:
            return []
        end = len(kept.numbers) if before is None else bisect_left(kept.numbers, before)
        start = max(end - limit, 0)
        return [kept.by_number[number] for number in reversed(kept.numbers[start:end])]

    async def delete_older_than(self, chat_id: UUID, revision: int) -> list[HistoryRevision]:
        kept = self._chats.get(chat_id)
        if kept is None:
            return []
        popped = kept.pop_below(revision)
        if popped:
            on_undo(lambda: _insert_all(kept, popped))
        return popped

    async def delete(self, chat_id: UUID, revisions: Sequence[int]) -> None:
        kept = self._chats.get(chat_id)
        if kept is None:
            return
        for number in revisions:
            revision = kept.by_number.get(number)
            if revision is not None:
                kept.pop(number)
                on_undo(lambda revision=revision: kept.insert(revision))  # type: ignore[misc]

    async def delete_by_chat_id(self, chat_id: UUID) -> None:
        remove(self._chats, chat_id)

    async def runs_in_use(self, chat_id: UUID) -> set[int]:
        kept = self._chats.get(chat_id)
        return set() if kept is None else set(kept.runs)


def _insert_all(kept: _ChatRevisions, revisions: list[HistoryRevision]) -> None:
    for revision in revisions:
        kept.insert(revision)
