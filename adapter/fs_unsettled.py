"""Marks of chats whose bytes and metadata are changing together: one empty file per chat
under `<data_dir>/unsettled/`, named `<workspace_id>_<chat_id>`.

The marks are not fsynced. They guard against the process dying (SIGKILL, OOM, a crash),
after which the kernel still writes them out; after a power cut a mark may be lost, and
the chat's records then wait for the next rescan or sandbox end, as without marks.
"""

import os
from contextlib import ExitStack, suppress
from pathlib import Path
from uuid import UUID

from adapter.fs_dirs import make_dirs, open_root
from adapter.fs_layout import FILE_MODE, PRIVATE_DIR_MODE

UNSETTLED = "unsettled"
_MARK_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC


def _mark_name(workspace_id: UUID, chat_id: UUID) -> str:
    return f"{workspace_id}_{chat_id}"


def _marks_dir(stack: ExitStack, root: Path) -> int:
    return make_dirs(stack, open_root(stack, root), (UNSETTLED,), PRIVATE_DIR_MODE)


def mark(root: Path, workspace_id: UUID, chat_id: UUID) -> None:
    """Blocking."""
    with ExitStack() as stack:
        fd = os.open(
            _mark_name(workspace_id, chat_id),
            _MARK_FLAGS,
            FILE_MODE,
            dir_fd=_marks_dir(stack, root),
        )
        os.close(fd)


def unmark(root: Path, workspace_id: UUID, chat_id: UUID) -> None:
    """Blocking."""
    with ExitStack() as stack, suppress(FileNotFoundError):
        os.unlink(_mark_name(workspace_id, chat_id), dir_fd=_marks_dir(stack, root))


def marked(root: Path) -> list[tuple[UUID, UUID]]:
    """Blocking. Names that are not marks this module made are ignored."""
    with ExitStack() as stack, os.scandir(_marks_dir(stack, root)) as entries:
        names = [entry.name for entry in entries]
    found = []
    for name in names:
        workspace, _, chat = name.partition("_")
        with suppress(ValueError):
            found.append((UUID(workspace), UUID(chat)))
    return sorted(found)
