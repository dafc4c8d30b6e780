"""Records kept by id and, per group, in list order, so that a page is a bisect and a slice."""

from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable
from typing import Generic, TypeVar
from uuid import UUID

from domain.paging import PageCursor, RecencyCursor
from repository.memory_undo import on_undo

T = TypeVar("T")
Position = TypeVar("Position", bound=PageCursor | RecencyCursor)


class OrderedGroups(Generic[T, Position]):
    """Records by id, and each group's ids sorted by position: (created_at, id), or
    (updated_at, id) for a list read newest first.

    A page costs O(log n + limit). Insert and remove shift the group's sorted list, a memmove
    that stays cheap at tens of thousands of entries. Every change can be undone within a
    unit of work (see `memory_undo`).
    """

    def __init__(self, group_of: Callable[[T], UUID], position_of: Callable[[T], Position]) -> None:
        self._group_of = group_of
        self._position_of = position_of
        self._by_id: dict[UUID, T] = {}
        self._positions: dict[UUID, list[Position]] = {}

    def get(self, item_id: UUID) -> T | None:
        return self._by_id.get(item_id)

    def put(self, record: T) -> None:
        item_id = self._position_of(record).item_id
        self.pop(item_id)
        self._insert(record)
        on_undo(lambda: self._delete(item_id))

    def pop(self, item_id: UUID) -> T | None:
        record = self._delete(item_id)
        if record is not None:
            on_undo(lambda: self._insert(record))
        return record

    def page(self, group: UUID, after: Position | None, limit: int) -> list[T]:
        """Up to `limit` records of the group in position order, after `after`."""
        positions = self._positions.get(group, [])
        start = 0 if after is None else bisect_right(positions, after)
        return [self._by_id[position.item_id] for position in positions[start : start + limit]]

    def page_newest_first(self, group: UUID, after: Position | None, limit: int) -> list[T]:
        """Up to `limit` records of the group in reverse position order, before `after`."""
        positions = self._positions.get(group, [])
        end = len(positions) if after is None else bisect_left(positions, after)
        newest = positions[max(0, end - limit) : end]
        return [self._by_id[position.item_id] for position in reversed(newest)]

    def all_in(self, group: UUID) -> list[T]:
        return [self._by_id[position.item_id] for position in self._positions.get(group, [])]

    def pop_group(self, group: UUID) -> list[T]:
        records = [self._by_id.pop(position.item_id) for position in self._positions.pop(group, [])]
        if records:
            on_undo(lambda: self._insert_group(group, records))
        return records

    def _insert(self, record: T) -> None:
        position = self._position_of(record)
        self._by_id[position.item_id] = record
        insort(self._positions.setdefault(self._group_of(record), []), position)

    def _insert_group(self, group: UUID, records: list[T]) -> None:
        for record in records:
            self._by_id[self._position_of(record).item_id] = record
        self._positions[group] = [self._position_of(record) for record in records]

    def _delete(self, item_id: UUID) -> T | None:
        record = self._by_id.pop(item_id, None)
        if record is None:
            return None
        group = self._group_of(record)
        positions = self._positions[group]
        del positions[bisect_left(positions, self._position_of(record))]
        if not positions:
            del self._positions[group]
        return record
