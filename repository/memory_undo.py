"""The in-memory store's unit of work: an undo log of the writes made inside it.

Every write of an in-memory repository records, while a unit of work is open in the
current task, the step that takes it back. Each step restores one key (a record by id, a
chat's usage figure), and a chat's keys are only written under its lock, so undoing one
unit of work never disturbs what another wrote meanwhile. Writes are visible to other
tasks before the unit of work ends: the store gives atomicity, not isolation.
"""

from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")

_open_log: ContextVar[list[Callable[[], object]] | None] = ContextVar("undo_log", default=None)


def on_undo(step: Callable[[], object]) -> None:
    """Have `step` run if the unit of work open in this task is rolled back."""
    log = _open_log.get()
    if log is not None:
        log.append(step)


def put(mapping: MutableMapping[K, V], key: K, value: V) -> None:
    """`mapping[key] = value`, undoably."""
    on_undo(_restorer(mapping, key))
    mapping[key] = value


def remove(mapping: MutableMapping[K, V], key: K) -> V | None:
    """`mapping.pop(key, None)`, undoably."""
    if key not in mapping:
        return None
    on_undo(_restorer(mapping, key))
    return mapping.pop(key)


def _restorer(mapping: MutableMapping[K, V], key: K) -> Callable[[], object]:
    if key in mapping:
        before = mapping[key]
        return lambda: mapping.__setitem__(key, before)
    return lambda: mapping.pop(key, None)


@contextmanager
def undoable() -> Iterator[None]:
    """Log the writes made in the block; if it raises, take them back, newest first."""
    log: list[Callable[[], object]] = []
    token = _open_log.set(log)
    try:
        yield
    except BaseException:
        _open_log.reset(token)
        for step in reversed(log):
            step()
        raise
    _open_log.reset(token)
