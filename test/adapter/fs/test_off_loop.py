import errno
import os
import threading

import pytest

from adapter.fs.off_loop import off_loop, storage_call
from domain.errors import InsufficientStorageError, StorageUnavailableError


def thread_of(tag: str, *, loop: str = "") -> tuple[int, str, str]:
    return threading.get_ident(), tag, loop


def failing(code: int) -> None:
    raise OSError(code, "refused", "/secret/path")


@pytest.mark.anyio
async def test_off_loop_runs_the_function_in_another_thread_with_its_arguments() -> None:
    thread, tag, loop = await off_loop(thread_of, "a", loop="keyword named loop")

    assert (tag, loop) == ("a", "keyword named loop")
    assert thread != threading.get_ident()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("code", "error_class"),
    [
        pytest.param(errno.ENOSPC, InsufficientStorageError, id="disk full"),
        pytest.param(errno.EIO, StorageUnavailableError, id="io error"),
    ],
)
async def test_storage_call_raises_an_os_error_as_the_storage_error_of_its_action(
    code: int, error_class: type[Exception]
) -> None:
    with pytest.raises(error_class) as raised:
        await storage_call("write the thing", failing, code)

    assert str(raised.value) == f"could not write the thing: {os.strerror(code)}"
    assert "/secret/path" not in str(raised.value)


@pytest.mark.anyio
async def test_storage_call_lets_other_errors_through() -> None:
    def broken() -> None:
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        await storage_call("write the thing", broken)
