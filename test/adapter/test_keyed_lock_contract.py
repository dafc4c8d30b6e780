"""The KeyedLock contract, run on every implementation: the in-process lock, and the file
lock that also holds across processes (its cross-process behaviour is in
test_file_locks.py)."""

import asyncio
from collections.abc import Sized
from pathlib import Path
from typing import Protocol
from uuid import UUID, uuid4

import pytest

from adapter.file_locks import FileKeyedLock
from adapter.locks import InProcessKeyedLock
from usecase.ports.runtime import KeyedLock

pytestmark = pytest.mark.anyio


class CountedLock(KeyedLock, Sized, Protocol):
    """A KeyedLock that says how many keys this process holds or waits for."""


@pytest.fixture(params=["in-process", "file"])
def lock(request: pytest.FixtureRequest, tmp_path: Path) -> CountedLock:
    if request.param == "in-process":
        return InProcessKeyedLock()
    return FileKeyedLock(tmp_path)


# Every wait below ends at once when the lock works; the deadline only turns a hang into a failure.
DEADLINE_SECONDS = 5


@pytest.fixture
def key() -> UUID:
    return uuid4()


@pytest.fixture
def log() -> list[str]:
    """Who held the key, in the order they got it."""
    return []


async def hold_and_log(lock: CountedLock, key: UUID, log: list[str], name: str) -> None:
    async with lock.hold(key):
        log.append(name)


async def join_queue(lock: CountedLock, key: UUID, log: list[str], name: str) -> asyncio.Task[None]:
    """Start a task that logs `name` once it holds `key`, and let it reach the lock's queue."""
    task = asyncio.create_task(hold_and_log(lock, key, log, name))
    await asyncio.sleep(0)
    return task


async def assert_key_passed_on(
    lock: CountedLock, cancelled: asyncio.Task[None], to: asyncio.Task[None]
) -> None:
    """`to` gets the key and is done with it, `cancelled` ended cancelled, and no entry is
    left."""
    async with asyncio.timeout(DEADLINE_SECONDS):
        await to
    assert cancelled.cancelled()
    assert len(lock) == 0


async def queued_while_held(
    lock: CountedLock, key: UUID, log: list[str], count: int
) -> list[asyncio.Task[None]]:
    """Hold `key` while `count` waiters, named "waiter 0", "waiter 1", ..., queue for it,
    then let it go: the waiters, still to be awaited."""
    async with lock.hold(key):
        return [await join_queue(lock, key, log, f"waiter {index}") for index in range(count)]


async def test_holders_of_one_key_never_overlap(lock: CountedLock, key: UUID) -> None:
    inside, most_inside, finished = 0, 0, 0

    async def critical_section() -> None:
        nonlocal inside, most_inside, finished
        async with lock.hold(key):
            inside += 1
            most_inside = max(most_inside, inside)
            for _ in range(3):
                await asyncio.sleep(0)
            inside -= 1
            finished += 1

    async with asyncio.timeout(DEADLINE_SECONDS):
        await asyncio.gather(*(critical_section() for _ in range(20)))

    assert most_inside == 1
    assert finished == 20


async def test_holders_of_different_keys_do_not_wait_for_each_other(lock: CountedLock) -> None:
    held, other = uuid4(), uuid4()
    log: list[str] = []

    async with lock.hold(held):
        async with asyncio.timeout(DEADLINE_SECONDS):
            await asyncio.create_task(hold_and_log(lock, other, log, "other key"))

    assert log == ["other key"]


async def test_waiters_are_served_in_arrival_order(
    lock: CountedLock, key: UUID, log: list[str]
) -> None:
    waiters = await queued_while_held(lock, key, log, 5)

    async with asyncio.timeout(DEADLINE_SECONDS):
        await asyncio.gather(*waiters)
    assert log == [f"waiter {index}" for index in range(5)]


async def test_holder_coming_straight_back_queues_behind_the_waiters(
    lock: CountedLock, key: UUID, log: list[str]
) -> None:
    waiters = await queued_while_held(lock, key, log, 2)
    async with asyncio.timeout(DEADLINE_SECONDS):
        await hold_and_log(lock, key, log, "former holder")
        await asyncio.gather(*waiters)

    assert log == ["waiter 0", "waiter 1", "former holder"]


async def test_key_has_an_entry_only_while_held_or_awaited(
    lock: CountedLock, key: UUID, log: list[str]
) -> None:
    assert len(lock) == 0
    async with lock.hold(key):
        assert len(lock) == 1
        waiter = await join_queue(lock, key, log, "waiter")
        assert len(lock) == 1
    async with asyncio.timeout(DEADLINE_SECONDS):
        await waiter

    assert len(lock) == 0


async def test_holder_that_raises_releases_the_key_and_its_entry(
    lock: CountedLock, key: UUID, log: list[str]
) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        async with lock.hold(key):
            raise RuntimeError("boom")

    assert len(lock) == 0
    async with asyncio.timeout(DEADLINE_SECONDS):
        await hold_and_log(lock, key, log, "next holder")
    assert log == ["next holder"]


async def test_cancelled_waiter_leaves_no_entry_behind(
    lock: CountedLock, key: UUID, log: list[str]
) -> None:
    async with lock.hold(key):
        waiter = await join_queue(lock, key, log, "cancelled")
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert len(lock) == 1

    assert len(lock) == 0
    assert log == []


@pytest.mark.parametrize(
    "while_queued",
    [
        pytest.param(True, id="cancelled-while-queued"),
        # Releasing wakes the next in line, which has not run yet: it is cancelled before it
        # takes the key.
        pytest.param(False, id="cancelled-as-the-key-is-handed-to-it"),
    ],
)
async def test_cancelled_waiter_passes_the_key_on_to_those_behind_it(
    lock: CountedLock, key: UUID, log: list[str], while_queued: bool
) -> None:
    async with lock.hold(key):
        cancelled = await join_queue(lock, key, log, "cancelled")
        behind = await join_queue(lock, key, log, "behind")
        if while_queued:
            cancelled.cancel()
    if not while_queued:
        cancelled.cancel()

    await assert_key_passed_on(lock, cancelled, to=behind)
    assert log == ["behind"]


async def test_holder_cancelled_inside_its_block_releases_the_key(
    lock: CountedLock, key: UUID, log: list[str]
) -> None:
    entered = asyncio.Event()

    async def hold_forever() -> None:
        async with lock.hold(key):
            entered.set()
            await asyncio.Event().wait()

    holder = asyncio.create_task(hold_forever())
    await entered.wait()
    waiter = await join_queue(lock, key, log, "waiter")
    holder.cancel()

    await assert_key_passed_on(lock, holder, to=waiter)
    assert log == ["waiter"]
