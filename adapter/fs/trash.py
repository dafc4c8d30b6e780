"""`trash/`: where what is being deleted goes out of sight in one rename, to be removed after
(design.md, "On disk"); whatever is left there is cleared at start-up."""

import logging
import os
import secrets
from contextlib import ExitStack
from pathlib import Path
from uuid import UUID

from adapter.fs.dirs import open_existing_dir, open_root, remove_entry
from adapter.fs.fsync import fsync
from adapter.fs.layout import TRASH

_log = logging.getLogger(__name__)


def trashed_name(owner: UUID, kind: str = "") -> str:
    """A new name in the trash for something of `owner` (a chat, a workspace), which
    `purge` finds by its first component."""
    name = f"{owner}.{secrets.token_hex(8)}"
    return f"{name}.{kind}" if kind else name


def into_trash(dir_fd: int, name: str, trash_fd: int, trashed: str) -> bool:
    """Blocking. Move `name` into the trash as `trashed`, durably for `dir_fd`; False when
    missing."""
    try:
        os.rename(name, trashed, src_dir_fd=dir_fd, dst_dir_fd=trash_fd)
    except FileNotFoundError:
        return False
    fsync(dir_fd)
    return True


def purge(root: Path, owner: UUID) -> None:
    """Blocking. Remove everything of `owner` in the trash, never following a link. Never
    raises: what it cannot remove waits for the trash to be cleared at the next start-up."""
    prefix = f"{owner}."
    try:
        with ExitStack() as stack:
            trash_fd = open_existing_dir(stack, open_root(stack, root), TRASH)
            with os.scandir(trash_fd) as entries:
                trashed = [entry.name for entry in entries if entry.name.startswith(prefix)]
            for name in trashed:
                remove_entry(trash_fd, name)
    except OSError:
        # Out of sight already; `prepare` empties the trash at the next start.
        _log.warning("could not empty the trash of %s", owner, exc_info=True)
