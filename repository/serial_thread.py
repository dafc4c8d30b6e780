"""One thread that runs callables one at a time, in the order they were queued, and hands
each result back to the event loop that asked (ADR 0035).

It does what a one-worker `ThreadPoolExecutor` under `loop.run_in_executor` does for a
SQLite connection, with less on every round trip: no `concurrent.futures.Future` (its
condition variable and callbacks), no chaining of that future into an asyncio one, no
executor bookkeeping on submit. The result goes straight to the asyncio future by
`call_soon_threadsafe`. A metadata write makes a dozen such trips, so their cost counts.
"""

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

# What the thread takes from its queue: the work, and the future and loop to tell, if any;
# None stops the thread.
_Item = tuple[Callable[[], Any], "asyncio.Future[Any] | None", asyncio.AbstractEventLoop | None]


class SerialThread:
    """Started at the first call, stopped by `stop` (after everything queued before it)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[_Item | None] | None = None

    def start(self, work: Callable[[], T]) -> "asyncio.Future[T]":
        """Queue `work` now, before anything queued after this call; the future resolves
        with its result or exception once it ran."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._running().put((work, future, loop))
        return future

    def submit(self, work: Callable[[], object]) -> None:
        """Queue `work` without anyone waiting for it; what it raises is dropped."""
        self._running().put((work, None, None))

    def stop(self) -> None:
        """Let the thread end once what was queued so far has run; a later call starts a
        new one."""
        with self._lock:
            if self._queue is not None:
                self._queue.put(None)
                self._queue = None

    def _running(self) -> "queue.SimpleQueue[_Item | None]":
        with self._lock:
            if self._queue is None:
                self._queue = queue.SimpleQueue()
                # A daemon thread: an interpreter that exits without closing the store
                # must not hang on it; SQLite leaves a cut-off transaction undone.
                threading.Thread(
                    target=_serve, args=(self._queue,), name=self._name, daemon=True
                ).start()
            return self._queue


def _serve(items: "queue.SimpleQueue[_Item | None]") -> None:
    while (item := items.get()) is not None:
        work, future, loop = item
        try:
            result = work()
        except BaseException as error:  # handed to the caller, as an executor would
            if future is not None and loop is not None:
                _tell(loop, _fail, future, error)
            continue
        if future is not None and loop is not None:
            _tell(loop, _succeed, future, result)


def _tell(
    loop: asyncio.AbstractEventLoop,
    settle: Callable[["asyncio.Future[Any]", Any], None],
    future: "asyncio.Future[Any]",
    outcome: object,
) -> None:
    with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
        loop.call_soon_threadsafe(settle, future, outcome)


def _succeed(future: "asyncio.Future[Any]", result: object) -> None:
    if not future.done():  # a cancelled caller no longer waits
        future.set_result(result)


def _fail(future: "asyncio.Future[Any]", error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)
