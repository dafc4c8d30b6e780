import os
import stat
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from uuid import UUID

from adapter.fs.dirs import open_dir_fd, open_dirs, open_root
from adapter.fs.layout import chat_dir_names
from adapter.fs.off_loop import storage_call
from usecase.ports.usage import StorageUsageReader


class FilesystemUsageReader(StorageUsageReader):
    def __init__(self, root: Path) -> None:
        self._root = root

    async def chat_used_bytes(self, workspace_id: UUID, chat_id: UUID) -> int:
        return await storage_call(
            "measure the chat directory", self._chat_used_bytes, workspace_id, chat_id
        )

    def _chat_used_bytes(self, workspace_id: UUID, chat_id: UUID) -> int:
        with ExitStack() as stack:
            root_fd = open_root(stack, self._root)
            chat_fd = open_dirs(stack, root_fd, chat_dir_names(workspace_id, chat_id))
            return 0 if chat_fd is None else regular_file_bytes(chat_fd)


def regular_file_bytes(top_fd: int) -> int:
    """Blocking. The lstat size of every regular file at any depth under `top_fd`.

    Walks without recursion and enters only real directories (`O_DIRECTORY | O_NOFOLLOW`),
    so no link is ever followed; one descriptor stays open per level of the current path.
    """
    total, subdirs = _scan_level(top_fd)
    # The directories on the current path, each with the subdirectories it has left to visit.
    levels: list[tuple[int, Iterator[str]]] = [(top_fd, iter(subdirs))]
    try:
        while levels:
            parent_fd, remaining = levels[-1]
            name = next(remaining, None)
            if name is None:
                levels.pop()
                if levels:  # the top descriptor belongs to the caller
                    os.close(parent_fd)
                continue
            child_fd = open_dir_fd(parent_fd, name)
            if child_fd is None:
                continue  # gone, or replaced by a link, since the listing
            levels.append((child_fd, iter(())))
            size_bytes, subdirs = _scan_level(child_fd)
            total += size_bytes
            levels[-1] = (child_fd, iter(subdirs))
    finally:
        for fd, _ in levels[1:]:
            os.close(fd)
    return total


def _scan_level(dir_fd: int) -> tuple[int, list[str]]:
    """The bytes of the regular files directly in the directory, and its real subdirectories."""
    size_bytes = 0
    subdirs: list[str] = []
    with os.scandir(dir_fd) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                subdirs.append(entry.name)
            elif entry.is_file(follow_symlinks=False):
                try:
                    status = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                # Checked again: the name may have become something else since the listing.
                if stat.S_ISREG(status.st_mode):
                    size_bytes += status.st_size
    return size_bytes, subdirs
