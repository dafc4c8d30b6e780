"""The thread that drives a SQLite connection: one at a time, in order, results and
errors handed back to the loop that asked (ADR 0035)."""

import asyncio
import threading
from functools import partial

import pytest

from repository.serial_thread import SerialThread

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_work_runs_in_the_order_queued_on_one_thread_off_the_loop() -> None:
    serial = SerialThread("test-serial")
    ran: list[tuple[int, str]] = []

    def note(number: int) -> int:
        ran.append((number, threading.current_thread().name))
        return number * 2

    serial.submit(lambda: note(0))
    results = await asyncio.gather(*(serial.start(partial(note, n)) for n in range(1, 50)))
    serial.stop()

    assert results == [n * 2 for n in range(1, 50)]
    assert [number for number, _ in ran] == list(range(50))
    assert {name for _, name in ran} == {"test-serial"}
    assert threading.current_thread().name != "test-serial"


async def test_an_error_reaches_its_caller_and_the_thread_goes_on() -> None:
    serial = SerialThread("test-serial")

    def fail() -> None:
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        await serial.start(fail)
    serial.submit(fail)  # dropped: nobody waits for it
    assert await serial.start(lambda: "still serving") == "still serving"
    serial.stop()


async def test_a_caller_that_went_away_does_not_stop_the_work_or_the_ones_after() -> None:
    serial = SerialThread("test-serial")
    release = threading.Event()
    done: list[str] = []

    def slow() -> None:
        release.wait(5)
        done.append("slow")

    waiting = asyncio.ensure_future(serial.start(slow))
    await asyncio.sleep(0)
    waiting.cancel()
    after = serial.start(lambda: done.append("after"))
    release.set()
    await after
    assert done == ["slow", "after"]
    serial.stop()


async def test_a_stopped_thread_finishes_what_was_queued_and_a_later_call_starts_anew() -> None:
    serial = SerialThread("test-serial")
    first = serial.start(threading.get_ident)
    serial.stop()
    assert isinstance(await first, int)
    assert await serial.start(lambda: "again") == "again"
    serial.stop()
