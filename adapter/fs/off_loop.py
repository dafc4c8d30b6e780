"""The one way the filesystem adapter runs blocking work: off the event loop, in aiofiles'
executor (ADR 0007).

aiofiles' path-based `open` cannot open relative to a directory descriptor with
O_NOFOLLOW, so the adapter does its descriptor work in plain blocking functions and hands
each one to aiofiles' executor wrapper here, the same mechanism aiofiles uses for its own
`aiofiles.os` functions.
"""

from collections.abc import Callable
from functools import partial
from typing import ParamSpec, TypeVar

from aiofiles.os import wrap

from adapter.fs.errors import translated_os_errors

P = ParamSpec("P")
R = TypeVar("R")


async def off_loop(func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """`func(*args, **kwargs)` in a worker thread, so the event loop never waits on disk."""
    # Bound first: aiofiles' wrapper would take keywords named `loop` or `executor` as its own.
    result: R = await wrap(partial(func, *args, **kwargs))()
    return result


async def storage_call(action: str, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """`off_loop`, with an OSError of `func` raised as the domain's storage error for
    failing to `action` ("could not <action>: <reason>")."""
    with translated_os_errors(action):
        return await off_loop(func, *args, **kwargs)
