from collections.abc import Callable
from typing import ParamSpec, TypeVar

from aiofiles.os import wrap

P = ParamSpec("P")
R = TypeVar("R")


async def off_loop(func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run blocking file work in aiofiles' executor, so the event loop never waits on disk.

    aiofiles' path-based `open` cannot open relative to a directory descriptor with
    O_NOFOLLOW, so the adapter does its descriptor work in plain functions and hands each
    one to aiofiles' executor wrapper here (see ADR 7)."""
    result: R = await wrap(func)(*args, **kwargs)
    return result
