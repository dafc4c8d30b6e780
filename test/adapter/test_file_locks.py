import asyncio
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import UUID, uuid4

import pytest

import adapter.file_locks
from adapter.file_locks import FileKeyedLock, stripe_of
from domain.errors import StorageUnavailableError

pytestmark = pytest.mark.anyio

DEADLINE_SECONDS = 10

# Another process holds `key` under `data_dir` until it reads a line on stdin, then writes
# "released" to `log` just before letting go.
_HOLDER = """
import asyncio, sys
from pathlib import Path
from uuid import UUID
from adapter.file_locks import FileKeyedLock, stripe_of

async def main() -> None:
    lock = FileKeyedLock(Path(sys.argv[1]))
    async with lock.hold(UUID(sys.argv[2])):
        print("held", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        Path(sys.argv[3]).write_text("released")

asyncio.run(main())
"""


@contextmanager
def held_by_another_process(
    data_dir: Path, key: UUID, log: Path
) -> Iterator[subprocess.Popen[str]]:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(data_dir), str(key), str(log)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        holder.kill()
        holder.wait(timeout=DEADLINE_SECONDS)
        for pipe in (holder.stdin, holder.stdout):
            if pipe is not None:
                pipe.close()


def let_go(holder: "subprocess.Popen[str]") -> None:
    assert holder.stdin is not None
    holder.stdin.write("go\n")
    holder.stdin.flush()


async def test_a_holder_in_another_process_is_waited_for(tmp_path: Path) -> None:
    key, log = uuid4(), tmp_path / "log"
    lock = FileKeyedLock(tmp_path)

    async def read_log_when_held() -> str:
        async with lock.hold(key):
            return log.read_text() if log.exists() else "not released"

    with held_by_another_process(tmp_path, key, log) as holder:
        waiter = asyncio.create_task(read_log_when_held())
        await asyncio.sleep(0.05)
        assert not waiter.done()

        let_go(holder)
        async with asyncio.timeout(DEADLINE_SECONDS):
            assert await waiter == "released"


async def test_a_cancelled_waiter_leaves_the_lock_usable(tmp_path: Path) -> None:
    key, log = uuid4(), tmp_path / "log"
    lock = FileKeyedLock(tmp_path)

    async def hold_once() -> None:
        async with lock.hold(key):
            pass

    with held_by_another_process(tmp_path, key, log) as holder:
        waiter = asyncio.create_task(hold_once())
        await asyncio.sleep(0.02)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        let_go(holder)
        holder.wait(timeout=DEADLINE_SECONDS)

    async with asyncio.timeout(DEADLINE_SECONDS), lock.hold(key):
        pass


async def test_waiting_too_long_is_storage_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(adapter.file_locks, "_WAIT_LIMIT_SECONDS", 0.05)
    key = uuid4()
    with (
        held_by_another_process(tmp_path, key, tmp_path / "log"),
        pytest.raises(StorageUnavailableError),
    ):
        async with FileKeyedLock(tmp_path).hold(key):
            pass


async def test_lock_files_live_under_locks_and_stay_few(tmp_path: Path) -> None:
    lock = FileKeyedLock(tmp_path)
    for _ in range(3000):
        async with lock.hold(uuid4()):
            pass

    files = list((tmp_path / "locks").iterdir())
    assert 0 < len(files) <= 1024


def keys_sharing_a_lock_file(count: int) -> list[UUID]:
    """`count` distinct keys that hash to one lock file (one in 1024 keys does)."""
    first = uuid4()
    keys = [first]
    while len(keys) < count:
        key = uuid4()
        if stripe_of(key) == stripe_of(first) and key not in keys:
            keys.append(key)
    return keys


async def test_a_holder_of_a_key_holds_another_key_of_its_lock_file_at_once(
    tmp_path: Path,
) -> None:
    # As a fork holds its source's key, then its own new one: the flock the task already
    # has is not asked for again, which would wait on the task itself for a minute.
    source, fork = keys_sharing_a_lock_file(2)
    lock = FileKeyedLock(tmp_path)
    async with asyncio.timeout(DEADLINE_SECONDS), lock.hold(source), lock.hold(fork):
        assert len(lock) == 2


async def test_holders_in_one_process_of_keys_sharing_a_lock_file_do_not_wait(
    tmp_path: Path,
) -> None:
    first, second = keys_sharing_a_lock_file(2)
    lock = FileKeyedLock(tmp_path)
    log: list[str] = []

    async def hold_and_log() -> None:
        async with lock.hold(second):
            log.append("second")

    async with lock.hold(first), asyncio.timeout(DEADLINE_SECONDS):
        await asyncio.create_task(hold_and_log())
    assert log == ["second"]


async def test_a_lock_file_shared_in_one_process_is_held_against_others_until_the_last_goes(
    tmp_path: Path,
) -> None:
    # The first holder lets go while the second still holds: another process must still
    # wait for the second, on a third key of that file.
    first, second, third = keys_sharing_a_lock_file(3)
    lock = FileKeyedLock(tmp_path)
    second_held, release_second = asyncio.Event(), asyncio.Event()

    async def hold_second() -> None:
        async with lock.hold(second):
            second_held.set()
            await release_second.wait()

    async with asyncio.timeout(DEADLINE_SECONDS):
        async with lock.hold(first):
            holding_second = asyncio.create_task(hold_second())
            await second_held.wait()
        holder = await asyncio.create_subprocess_exec(
            *(sys.executable, "-c", _HOLDER, str(tmp_path), str(third), str(tmp_path / "log")),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert holder.stdin is not None
        assert holder.stdout is not None
        try:
            reported = asyncio.create_task(holder.stdout.readline())
            await asyncio.sleep(0.2)
            assert not reported.done()
            release_second.set()
            await holding_second
            assert await reported == b"held\n"
            holder.stdin.write(b"go\n")
            await holder.stdin.drain()
            assert await holder.wait() == 0
        finally:
            if holder.returncode is None:
                holder.kill()
                await holder.wait()

    async with asyncio.timeout(DEADLINE_SECONDS), lock.hold(first):
        assert len(lock) == 1
