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


async def hold_and_log(lock: CountedLock, key: UUID, log: list[str], name: str) -> None:
    async with lock.hold(key):
        log.append(name)


async def join_queue(lock: CountedLock, key: UUID, log: list[str], name: str) -> asyncio.Task[None]:
    """Start a task that logs `name` once it holds `key`, and let it reach the lock's queue."""
    task = asyncio.create_task(hold_and_log(lock, key, log, name))
    await asyncio.sleep(0)
    return task


async def test_holders_of_one_key_never_overlap(lock: CountedLock) -> None:
    key = uuid4()
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


async def test_waiters_are_served_in_arrival_order(lock: CountedLock) -> None:
    key = uuid4()
    log: list[str] = []

    async with lock.hold(key):
        waiters = [await join_queue(lock, key, log, f"waiter {index}") for index in range(5)]

    async with asyncio.timeout(DEADLINE_SECONDS):
        await asyncio.gather(*waiters)
    assert log == [f"waiter {index}" for index in range(5)]


async def test_holder_coming_straight_back_queues_behind_the_waiters(lock: CountedLock) -> None:
    key = uuid4()
    log: list[str] = []

    async with lock.hold(key):
        waiters = [await join_queue(lock, key, log, f"waiter {index}") for index in range(2)]
    async with asyncio.timeout(DEADLINE_SECONDS):
        await hold_and_log(lock, key, log, "former holder")
        await asyncio.gather(*waiters)

    assert log == ["waiter 0", "waiter 1", "former holder"]


async def test_key_has_an_entry_only_while_held_or_awaited(lock: CountedLock) -> None:
    key = uuid4()
    log: list[str] = []

    assert len(lock) == 0
    async with lock.hold(key):
        assert len(lock) == 1
        waiter = await join_queue(lock, key, log, "waiter")
        assert len(lock) == 1
    async with asyncio.timeout(DEADLINE_SECONDS):
        await waiter

    assert len(lock) == 0


async def test_holder_that_raises_releases_the_key_and_its_entry(lock: CountedLock) -> None:
    key = uuid4()
    log: list[str] = []

    with pytest.raises(RuntimeError, match="boom"):
        async with lock.hold(key):
            raise RuntimeError("boom")

    assert len(lock) == 0
    async with asyncio.timeout(DEADLINE_SECONDS):
        await hold_and_log(lock, key, log, "next holder")
    assert log == ["next holder"]


async def test_cancelled_waiter_leaves_no_entry_behind(lock: CountedLock) -> None:
    key = uuid4()
    log: list[str] = []

    async with lock.hold(key):
        waiter = await join_queue(lock, key, log, "cancelled")
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert len(lock) == 1

    assert len(lock) == 0
    assert log == []


async def test_cancelled_waiter_does_not_hold_up_those_behind_it(lock: CountedLock) -> None:
    key = uuid4()
    log: list[str] = []

    async with lock.hold(key):
        cancelled = await join_queue(lock, key, log, "cancelled")
        behind = await join_queue(lock, key, log, "behind")
        cancelled.cancel()

    async with asyncio.timeout(DEADLINE_SECONDS):
        await behind
    assert cancelled.cancelled()
    assert log == ["behind"]
    assert len(lock) == 0


async def test_waiter_cancelled_as_the_key_is_handed_to_it_passes_the_key_on(
    lock: CountedLock,
) -> None:
    key = uuid4()
    log: list[str] = []

    async with lock.hold(key):
        next_in_line = await join_queue(lock, key, log, "next in line")
        behind = await join_queue(lock, key, log, "behind")
    # Releasing woke `next_in_line`, which has not run yet: cancel it before it takes the key.
    next_in_line.cancel()

    async with asyncio.timeout(DEADLINE_SECONDS):
        await behind
    assert next_in_line.cancelled()
    assert log == ["behind"]
    assert len(lock) == 0


async def test_holder_cancelled_inside_its_block_releases_the_key(lock: CountedLock) -> None:
    key = uuid4()
    log: list[str] = []
    entered = asyncio.Event()

    async def hold_forever() -> None:
        async with lock.hold(key):
            entered.set()
            await asyncio.Event().wait()

    holder = asyncio.create_task(hold_forever())
    await entered.wait()
    waiter = await join_queue(lock, key, log, "waiter")
    holder.cancel()

    async with asyncio.timeout(DEADLINE_SECONDS):
        await waiter
    assert holder.cancelled()
    assert log == ["waiter"]
    assert len(lock) == 0
