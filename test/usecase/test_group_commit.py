import asyncio
from collections.abc import Callable
from uuid import UUID, uuid4

import pytest

from usecase.group_commit import GroupCommit

pytestmark = pytest.mark.anyio

KEY = UUID("00000000-0000-4000-8000-0000000000aa")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # GroupCommit is built on asyncio futures


class Recorder:
    """A `process` that records each batch and can be held open until released."""

    def __init__(self, failing: frozenset[str] = frozenset()) -> None:
        self.batches: list[list[str]] = []
        self.abandoned: list[str] = []
        self.failing = failing
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.release.set()

    async def process(self, items: list[str]) -> list[str | BaseException]:
        self.batches.append(items)
        self.entered.set()
        await self.release.wait()
        return [ValueError(item) if item in self.failing else item.upper() for item in items]

    async def abandon(self, item: str) -> None:
        self.abandoned.append(item)


@pytest.fixture
def commits() -> GroupCommit[str, str]:
    return GroupCommit()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


async def submit(commits: GroupCommit[str, str], recorder: Recorder, item: str) -> str:
    return await commits.submit(KEY, item, recorder.process, recorder.abandon)


async def until_queued(commits: GroupCommit[str, str], count: int) -> None:
    """Let the event loop run until `count` items wait for the next batch."""
    for _ in range(1000):
        if commits.waiting(KEY) == count:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"{count} items never queued")


async def behind_a_held_batch(
    commits: GroupCommit[str, str],
    recorder: Recorder,
    items: str,
    then: Callable[[], None] | None = None,
) -> tuple["asyncio.Task[str]", list["asyncio.Task[str]"]]:
    """Submit "a" and hold its batch open, then submit each of `items`, which queue up.
    `then` runs in "a"'s caller the moment its outcome is back, before any other task."""
    recorder.release.clear()

    async def submit_a() -> str:
        outcome = await submit(commits, recorder, "a")
        if then is not None:
            then()
        return outcome

    first = asyncio.ensure_future(submit_a())
    await recorder.entered.wait()
    rest = [asyncio.ensure_future(submit(commits, recorder, item)) for item in items]
    await until_queued(commits, len(items))
    return first, rest


async def test_a_lone_item_is_processed_alone(
    commits: GroupCommit[str, str], recorder: Recorder
) -> None:
    assert await submit(commits, recorder, "a") == "A"
    assert recorder.batches == [["a"]]
    assert commits.active_keys == frozenset()


async def test_items_queued_during_a_batch_are_processed_together_in_arrival_order(
    commits: GroupCommit[str, str], recorder: Recorder
) -> None:
    first, rest = await behind_a_held_batch(commits, recorder, "bcd")

    recorder.release.set()

    assert await asyncio.gather(first, *rest) == ["A", "B", "C", "D"]
    assert recorder.batches == [["a"], ["b", "c", "d"]]
    assert commits.active_keys == frozenset()


async def test_each_caller_gets_its_own_outcome_and_only_its_own_error(
    commits: GroupCommit[str, str],
) -> None:
    recorder = Recorder(failing=frozenset({"c"}))
    first, rest = await behind_a_held_batch(commits, recorder, "bcd")
    recorder.release.set()

    outcomes = await asyncio.gather(first, *rest, return_exceptions=True)

    assert outcomes[:2] == ["A", "B"]
    assert isinstance(outcomes[2], ValueError)
    assert outcomes[3] == "D"


async def test_a_failing_process_fails_every_item_of_its_batch(
    commits: GroupCommit[str, str],
) -> None:
    async def broken(items: list[str]) -> list[str | BaseException]:
        raise RuntimeError("disk gone")

    async def abandon(item: str) -> None:
        raise AssertionError("nothing was abandoned")

    outcomes = await asyncio.gather(
        *(commits.submit(KEY, item, broken, abandon) for item in "ab"), return_exceptions=True
    )

    assert all(isinstance(outcome, RuntimeError) for outcome in outcomes)
    assert commits.active_keys == frozenset()


async def test_a_caller_cancelled_while_queued_is_abandoned_and_the_rest_go_on(
    commits: GroupCommit[str, str], recorder: Recorder
) -> None:
    first, (gone, kept) = await behind_a_held_batch(commits, recorder, "bc")

    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    recorder.release.set()

    assert list(await asyncio.gather(first, kept)) == ["A", "C"]
    assert recorder.abandoned == ["b"]
    assert recorder.batches == [["a"], ["c"]]
    assert commits.active_keys == frozenset()


async def test_a_leader_cancelled_mid_batch_still_gives_every_item_its_outcome(
    commits: GroupCommit[str, str], recorder: Recorder
) -> None:
    first, (second, third) = await behind_a_held_batch(commits, recorder, "bc")
    recorder.entered.clear()
    recorder.release.set()
    await recorder.entered.wait()  # "b" leads the batch [b, c]
    recorder.release.clear()

    second.cancel()
    await asyncio.sleep(0)
    recorder.release.set()

    assert await first == "A"
    assert await third == "C"
    with pytest.raises(asyncio.CancelledError):
        await second
    assert recorder.batches == [["a"], ["b", "c"]]
    assert recorder.abandoned == []
    assert commits.active_keys == frozenset()


async def test_a_caller_woken_to_lead_but_cancelled_passes_the_lead_on(
    commits: GroupCommit[str, str], recorder: Recorder
) -> None:
    queued: list[asyncio.Task[str]] = []
    waiting_when_cancelled: list[int] = []

    def cancel_the_woken() -> None:
        # "a"'s batch is done, so "b" has been told to lead; cancel it before it can run.
        waiting_when_cancelled.append(commits.waiting(KEY))
        queued[0].cancel()

    first, rest = await behind_a_held_batch(commits, recorder, "bc", then=cancel_the_woken)
    queued.extend(rest)
    woken, after = rest
    recorder.release.set()

    async with asyncio.timeout(5):  # a lead nobody takes up would hang here
        assert await first == "A"
        assert await after == "C"
    with pytest.raises(asyncio.CancelledError):
        await woken
    assert waiting_when_cancelled == [1]  # only "c": "b" was woken, not cancelled queued
    assert recorder.abandoned == ["b"]
    assert recorder.batches == [["a"], ["c"]]
    assert commits.active_keys == frozenset()


async def test_keys_are_batched_apart(commits: GroupCommit[str, str], recorder: Recorder) -> None:
    other = uuid4()

    outcomes = await asyncio.gather(
        commits.submit(KEY, "a", recorder.process, recorder.abandon),
        commits.submit(other, "b", recorder.process, recorder.abandon),
    )

    assert list(outcomes) == ["A", "B"]
    assert sorted(recorder.batches) == [["a"], ["b"]]
