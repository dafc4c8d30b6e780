import asyncio
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import UUID, uuid4

import pytest

import adapter.file_locks
from adapter.file_locks import FileKeyedLock
from domain.errors import StorageUnavailableError

pytestmark = pytest.mark.anyio

DEADLINE_SECONDS = 10

# Another process holds `key` under `data_dir` until it reads a line on stdin, then writes
# "released" to `log` just before letting go.
_HOLDER = """
import asyncio, sys
from pathlib import Path
from uuid import UUID
from adapter.file_locks import FileKeyedLock

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
