import threading

import pytest

from adapter.fs.side_by_side import SideBySide


def _fsync_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("chatstore-fsync")]


def test_fsyncs_run_at_once_and_all_finish() -> None:
    syncers = SideBySide(threads=3)
    together = threading.Barrier(3, timeout=5)  # broken unless all three wait at once
    done: list[int] = []

    def step(n: int) -> None:
        together.wait()
        done.append(n)

    try:
        syncers.run([lambda: step(1), lambda: step(2), lambda: step(3)])
    finally:
        syncers.close()
    assert sorted(done) == [1, 2, 3]


def test_an_fsync_that_fails_fails_the_run() -> None:
    syncers = SideBySide()

    def fails() -> None:
        raise OSError(5, "Input/output error")

    try:
        with pytest.raises(OSError, match="Input/output error"):
            syncers.run([lambda: None, fails])
    finally:
        syncers.close()


def test_one_fsync_runs_in_the_calling_thread_and_builds_no_pool() -> None:
    before = _fsync_threads()
    syncers = SideBySide()
    ran_in: list[threading.Thread] = []
    syncers.run([lambda: ran_in.append(threading.current_thread())])
    assert ran_in == [threading.current_thread()]
    assert _fsync_threads() == before
    syncers.close()


def test_close_stops_the_threads_and_a_later_run_starts_anew() -> None:
    before = set(_fsync_threads())
    syncers = SideBySide(threads=2)
    syncers.run([lambda: None, lambda: None])
    assert set(_fsync_threads()) - before
    syncers.close()
    assert set(_fsync_threads()) <= before
    ran: list[int] = []
    syncers.run([lambda: ran.append(1), lambda: ran.append(2)])
    syncers.close()
    assert sorted(ran) == [1, 2]
    assert set(_fsync_threads()) <= before
