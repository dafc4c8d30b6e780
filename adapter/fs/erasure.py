"""Erasing a workspace's bytes (ADR 0024): its chat directories, what its chats' history
revisions keep, and its chats' crash marks and commit journals; and the note, one empty
file `erasures/<workspace_id>`, fsynced with its directory, that says an erasure is under
way until its bytes are gone."""

import os
from contextlib import ExitStack, suppress
from pathlib import Path
from uuid import UUID

from adapter.fs.dirs import make_dirs, open_dir, open_existing_dir, open_root
from adapter.fs.fsync import fsync
from adapter.fs.layout import ERASURES, FILE_MODE, PRIVATE_DIR_MODE, REVISIONS, TRASH, WORKSPACES
from adapter.fs.off_loop import off_loop, storage_call
from adapter.fs.trash import into_trash, purge, trashed_name
from adapter.fs.unsettled import UNSETTLED, unmark_workspace
from usecase.ports.erasure import WorkspaceErasure

_NOTE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC


class FilesystemWorkspaceErasure(WorkspaceErasure):
    """A workspace's bytes under the data root `root`, laid out as design.md's "On disk"
    describes. Its directories are moved into `trash/` whole, one rename each, so no reader
    ever sees part of a workspace; `purge_workspace` then removes them without following
    links (a link a sandbox planted is removed, its target left alone)."""

    def __init__(self, root: Path) -> None:
        self._root = root

    async def note_erasure(self, workspace_id: UUID) -> None:
        await storage_call("note the erasure", self._note, workspace_id)

    async def noted_erasures(self) -> list[UUID]:
        return await storage_call("list the erasures under way", self._noted)

    async def drop_erasure_note(self, workspace_id: UUID) -> None:
        await storage_call("drop the erasure note", self._drop_note, workspace_id)

    async def hide_workspace(self, workspace_id: UUID) -> None:
        await storage_call("erase the workspace", self._hide, workspace_id)

    async def purge_workspace(self, workspace_id: UUID) -> None:
        await off_loop(purge, self._root, workspace_id)

    # The blocking halves, run in a worker thread.

    def _note(self, workspace_id: UUID) -> None:
        with ExitStack() as stack:
            notes_fd = make_dirs(stack, open_root(stack, self._root), (ERASURES,), PRIVATE_DIR_MODE)
            fd = os.open(str(workspace_id), _NOTE_FLAGS, FILE_MODE, dir_fd=notes_fd)
            try:
                fsync(fd)
            finally:
                os.close(fd)
            fsync(notes_fd)

    def _noted(self) -> list[UUID]:
        with ExitStack() as stack:
            notes_fd = open_dir(stack, open_root(stack, self._root), ERASURES)
            if notes_fd is None:
                return []
            with os.scandir(notes_fd) as entries:
                names = [entry.name for entry in entries]
        noted = set()
        for name in names:
            with suppress(ValueError):
                noted.add(UUID(name))
        return sorted(noted)

    def _drop_note(self, workspace_id: UUID) -> None:
        with ExitStack() as stack:
            notes_fd = open_dir(stack, open_root(stack, self._root), ERASURES)
            if notes_fd is None:
                return
            try:
                os.unlink(str(workspace_id), dir_fd=notes_fd)
            except FileNotFoundError:
                return
            fsync(notes_fd)

    def _hide(self, workspace_id: UUID) -> None:
        with ExitStack() as stack:
            root_fd = open_root(stack, self._root)
            trash_fd = open_existing_dir(stack, root_fd, TRASH)
            moved = False
            for parent, kind in ((WORKSPACES, "workspace"), (REVISIONS, "revisions")):
                parent_fd = open_dir(stack, root_fd, parent)
                if parent_fd is not None:
                    trashed = trashed_name(workspace_id, kind)
                    moved |= into_trash(parent_fd, str(workspace_id), trash_fd, trashed)
            if moved:
                fsync(trash_fd)
            marks_fd = open_dir(stack, root_fd, UNSETTLED)
            if marks_fd is not None:
                unmark_workspace(marks_fd, workspace_id)
