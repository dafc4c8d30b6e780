"""Group commit: writes to one key that queue up while another is being committed are
committed together, by one of their callers, in one pass.

Each key has at most one leader at a time. A caller whose key has no leader leads: it takes
every queued item (its own included) and hands them to `process`, which returns one
outcome per item. When the batch is done, the first caller still queued (if any) is woken
to lead the next batch, so no leader works for longer than one batch. Items are processed
in arrival order, so `process` can give each the outcome of that serial order.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar
from uuid import UUID

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class _Lead:
    """What a waiting caller is told when it is its turn to lead."""


@dataclass(frozen=True, slots=True)
class _Done(Generic[R]):
    """What a waiting caller is told when a batch gave its item this outcome (an exception
    is set on its future instead)."""

    value: R


@dataclass(eq=False, slots=True)
class _Entry(Generic[T, R]):
    item: T
    outcome: "asyncio.Future[_Lead | _Done[R]]"
    taken: bool = False


@dataclass(slots=True)
class _Queue(Generic[T, R]):
    pending: list[_Entry[T, R]] = field(default_factory=list)
    # The entry whose caller leads now, or has been woken to; None while nobody does.
    leader: _Entry[T, R] | None = None


class GroupCommit(Generic[T, R]):
    """Batches of items per key, each processed by one of the callers (see module doc)."""

    def __init__(self) -> None:
        self._queues: dict[UUID, _Queue[T, R]] = {}

    @property
    def active_keys(self) -> frozenset[UUID]:
        """The keys with a batch under way or callers waiting; nothing is kept for the others."""
        return frozenset(self._queues)

    def waiting(self, key: UUID) -> int:
        """How many callers of `key` wait for their turn: not taken into a batch, not woken
        to lead one, and not cancelled."""
        queue = self._queues.get(key)
        return 0 if queue is None else sum(not entry.outcome.done() for entry in queue.pending)

    async def submit(
        self,
        key: UUID,
        item: T,
        process: Callable[[list[T]], Awaitable[list[R | BaseException]]],
        abandon: Callable[[T], Awaitable[None]],
    ) -> R:
        """The outcome `process` gave `item`, raised if it is an exception.

        If the caller is cancelled before its item was taken into a batch, the item is
        dropped and `abandon(item)` is awaited; once taken, the batch decides its fate."""
        queue = self._queues.setdefault(key, _Queue())
        entry: _Entry[T, R] = _Entry(item, asyncio.get_running_loop().create_future())
        queue.pending.append(entry)
        if queue.leader is None:
            queue.leader = entry
        else:
            try:
                told = await entry.outcome
            except asyncio.CancelledError:
                await self._leave(key, queue, entry, abandon)
                raise
            if isinstance(told, _Done):
                return told.value
        try:
            return await self._lead(queue, entry, process)
        finally:
            self._pass_on(key, queue)

    async def _lead(
        self,
        queue: _Queue[T, R],
        own: _Entry[T, R],
        process: Callable[[list[T]], Awaitable[list[R | BaseException]]],
    ) -> R:
        batch, queue.pending = queue.pending, []
        for entry in batch:
            entry.taken = True
        # Shielded: once taken, every item of the batch gets its outcome even if the
        # leader's own caller goes away meanwhile.
        work = asyncio.ensure_future(_outcomes(process, [entry.item for entry in batch]))
        try:
            outcomes = await asyncio.shield(work)
        except asyncio.CancelledError:
            _tell(batch, await work, own)
            raise
        _tell(batch, outcomes, own)
        mine = outcomes[batch.index(own)]
        if isinstance(mine, BaseException):
            raise mine
        return mine

    async def _leave(
        self,
        key: UUID,
        queue: _Queue[T, R],
        entry: _Entry[T, R],
        abandon: Callable[[T], Awaitable[None]],
    ) -> None:
        if entry.taken:
            return  # in a batch: it gets its outcome there
        queue.pending.remove(entry)
        if queue.leader is entry:
            self._pass_on(key, queue)  # woken to lead, gone before it did
        elif queue.leader is None and not queue.pending:
            self._retire(key, queue)
        await abandon(entry.item)

    def _pass_on(self, key: UUID, queue: _Queue[T, R]) -> None:
        """Wake the first caller still waiting to lead the next batch, or retire the queue."""
        queue.leader = None
        for entry in queue.pending:
            if not entry.outcome.done():  # a done one was cancelled and is leaving
                queue.leader = entry
                entry.outcome.set_result(_Lead())
                return
        if not queue.pending:
            self._retire(key, queue)

    def _retire(self, key: UUID, queue: _Queue[T, R]) -> None:
        if self._queues.get(key) is queue:
            del self._queues[key]


async def _outcomes(
    process: Callable[[list[T]], Awaitable[list[R | BaseException]]], items: list[T]
) -> list[R | BaseException]:
    """One outcome per item; if `process` itself fails, that failure is every item's."""
    try:
        outcomes = list(await process(items))
    except BaseException as error:  # every caller raises it
        return [error] * len(items)
    if len(outcomes) != len(items):
        raise RuntimeError(f"{len(outcomes)} outcomes for {len(items)} items")
    return outcomes


def _tell(batch: list[_Entry[T, R]], outcomes: list[R | BaseException], own: _Entry[T, R]) -> None:
    for entry, outcome in zip(batch, outcomes, strict=True):
        if entry is own or entry.outcome.done():
            continue
        if isinstance(outcome, BaseException):
            entry.outcome.set_exception(outcome)
        else:
            entry.outcome.set_result(_Done(outcome))
