"""FilesystemCensus, the DiskCensus port: what the data directory holds, read without
making or changing anything in it (ADR 0026), and the clearing of leftovers."""

import os
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, suppress
from pathlib import Path
from uuid import UUID

from adapter.fs.dirs import open_dirs, open_root, remove_entry
from adapter.fs.fsync import fsync
from adapter.fs.layout import CHATS, REVISIONS, STAGING, TRASH, WORKSPACES, chat_dir_names
from adapter.fs.off_loop import storage_call
from adapter.fs.staging_area import clear_dead_areas, dead_areas
from adapter.fs.unsettled import marked_read_only
from usecase.ports.census import ChatOnDisk, DiskCensus, Leftover, WorkspaceOnDisk


class FilesystemCensus(DiskCensus):
    def __init__(self, root: Path) -> None:
        self._root = root

    async def workspace_ids(self) -> list[UUID]:
        return await storage_call("list the workspaces on disk", self._workspace_ids)

    async def workspace(self, workspace_id: UUID) -> WorkspaceOnDisk:
        return await storage_call("list the chats on disk", self._workspace, workspace_id)

    async def chat(self, workspace_id: UUID, chat_id: UUID) -> ChatOnDisk:
        return await storage_call("look for the chat on disk", self._chat, workspace_id, chat_id)

    async def marked_chats(self) -> list[tuple[UUID, UUID]]:
        return await storage_call("list unsettled chats", marked_read_only, self._root)

    async def leftovers(self) -> list[Leftover]:
        return await storage_call("list staging and trash", self._leftovers)

    async def clear_leftovers(self, leftovers: Sequence[Leftover]) -> None:
        await storage_call("clear staging and trash", self._clear_leftovers, leftovers)

    # The blocking halves, run in a worker thread.

    def _workspace_ids(self) -> list[UUID]:
        with ExitStack() as stack:
            root_fd = open_root(stack, self._root)
            found = {
                workspace_id
                for top in (WORKSPACES, REVISIONS)
                for workspace_id in _directories_named_by_id(stack, root_fd, (top,))
            }
        return sorted(found)

    def _workspace(self, workspace_id: UUID) -> WorkspaceOnDisk:
        with ExitStack() as stack:
            root_fd = open_root(stack, self._root)
            chats = (WORKSPACES, str(workspace_id), CHATS)
            revisions = (REVISIONS, str(workspace_id))
            return WorkspaceOnDisk(
                frozenset(_directories_named_by_id(stack, root_fd, chats)),
                frozenset(_directories_named_by_id(stack, root_fd, revisions)),
            )

    def _chat(self, workspace_id: UUID, chat_id: UUID) -> ChatOnDisk:
        with ExitStack() as stack:
            root_fd = open_root(stack, self._root)
            directory = open_dirs(stack, root_fd, chat_dir_names(workspace_id, chat_id))
            revisions = open_dirs(stack, root_fd, (REVISIONS, str(workspace_id), str(chat_id)))
            return ChatOnDisk(directory is not None, revisions is not None)

    def _leftovers(self) -> list[Leftover]:
        with ExitStack() as stack:
            root_fd = open_root(stack, self._root)
            found: list[Leftover] = []
            staging_fd = open_dirs(stack, root_fd, (STAGING,))
            if staging_fd is not None:
                found += [Leftover(STAGING, name) for name in dead_areas(staging_fd)]
            trash_fd = open_dirs(stack, root_fd, (TRASH,))
            if trash_fd is not None:
                found += [Leftover(TRASH, name) for name in _names(trash_fd)]
        return sorted(found)

    def _clear_leftovers(self, leftovers: Sequence[Leftover]) -> None:
        staged = {leftover.name for leftover in leftovers if leftover.area == STAGING}
        trashed = sorted({leftover.name for leftover in leftovers if leftover.area == TRASH})
        with ExitStack() as stack:
            root_fd = open_root(stack, self._root)
            staging_fd = open_dirs(stack, root_fd, (STAGING,))
            if staging_fd is not None and staged:
                clear_dead_areas(staging_fd, staged)
            trash_fd = open_dirs(stack, root_fd, (TRASH,))
            if trash_fd is not None and trashed:
                for name in trashed:
                    remove_entry(trash_fd, name)
                fsync(trash_fd)


def _directories_named_by_id(
    stack: ExitStack, root_fd: int, names: tuple[str, ...]
) -> Iterator[UUID]:
    """The real directories (never a link) in the directory `names` leads to whose name is
    an id; nothing when it is missing."""
    parent_fd = open_dirs(stack, root_fd, names)
    if parent_fd is None:
        return
    with os.scandir(parent_fd) as entries:
        listed = [entry.name for entry in entries if entry.is_dir(follow_symlinks=False)]
    for name in listed:
        with suppress(ValueError):
            parsed = UUID(name)
            if str(parsed) == name:  # the service's own spelling, nothing else
                yield parsed


def _names(dir_fd: int) -> list[str]:
    with os.scandir(dir_fd) as entries:
        return [entry.name for entry in entries]
