"""Erasing a workspace (`DELETE /v1/workspace`), and finishing at start-up an erasure a
crash cut short (ADR 0024).

The order: under the locks of every chat of the workspace and then of the workspace
itself, a durable note that the erasure is under way; then every record of the workspace
in one unit of work, which decides the erasure; then its bytes; then the note goes. A
crash before the unit commits leaves the workspace whole (start-up drops the note); after
it, the workspace answers as erased at once and start-up removes its bytes.
"""

import logging
from collections.abc import Collection
from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass
from uuid import UUID

from domain.errors import (
    ChatHasActiveSandboxError,
    DomainError,
    StorageUnavailableError,
    WorkspaceNotFoundError,
)
from domain.workspace import Workspace
from usecase.access import ChatAccess
from usecase.ports.erasure import WorkspaceErasure
from usecase.ports.metadata import MetadataStore, Repositories
from usecase.ports.runtime import Clock, KeyedLock

# Times an erasure starts over when chats were created in the workspace after it listed
# them (each such chat's lock must be taken in order with the others).
ATTEMPTS = 5

_log = logging.getLogger(__name__)


async def erase_records(
    records: Repositories, workspace_id: UUID, chat_ids: Collection[UUID]
) -> None:
    """Remove every record of the workspace, whose chats are `chat_ids`, in the unit of work
    `records`: the chats' sandbox sessions, the chats with their file records and history
    revisions, their usage and the workspace's sums, and the workspace itself."""
    await records.sessions.delete_by_chat_ids(chat_ids)
    await records.chats.delete_by_workspace_id(workspace_id)
    await records.usage.delete_workspace(workspace_id)
    await records.workspaces.delete(workspace_id)


class _ChatsChangedError(Exception):
    """A chat was created in the workspace after the erasure listed and locked its chats."""


# What the unit of work refuses with before it writes anything.
_REFUSED = (_ChatsChangedError, WorkspaceNotFoundError, ChatHasActiveSandboxError)


@dataclass(frozen=True, slots=True)
class EraseWorkspace:
    """Erase the caller's workspace: every record and byte of it, its chats' directories
    (and what a sandbox wrote there), revisions, crash marks and journals. Refused while a
    sandbox session is active on any of its chats, with nothing removed.

    Every chat's lock is held, in id order, then the workspace's: no change of a chat is
    half-way, and none can start (each finds its chat gone under the lock); no chat is
    being created (creation holds the workspace's lock, see ChatGuard.creating). The unit
    of work lists the chats again: one created between the listing and the locks makes
    the erasure start over."""

    access: ChatAccess
    metadata: MetadataStore
    erasure: WorkspaceErasure
    locks: KeyedLock
    clock: Clock

    async def __call__(self, user_id: UUID) -> None:
        workspace = await self.access.workspace(user_id)
        for _ in range(ATTEMPTS):
            chat_ids = await self.metadata.chats.ids_by_workspace_id(workspace.workspace_id)
            try:
                await self._erase(workspace, chat_ids)
            except _ChatsChangedError:
                continue
            return
        raise StorageUnavailableError(
            "chats kept being created in the workspace while it was erased; try again"
        )

    async def _erase(self, workspace: Workspace, chat_ids: list[UUID]) -> None:
        workspace_id = workspace.workspace_id
        async with AsyncExitStack() as workspace_held:
            async with AsyncExitStack() as chats_held:
                for chat_id in chat_ids:
                    await chats_held.enter_async_context(self.locks.hold(chat_id))
                await workspace_held.enter_async_context(self.locks.hold(workspace_id))
                await self.access.check_workspace(workspace_id)  # not erased meanwhile
                await self.erasure.note_erasure(workspace_id)
                try:
                    await self._erase_records(workspace_id, chat_ids)
                except _REFUSED:
                    await _drop_note(self.erasure, workspace_id)
                    raise
                except Exception:
                    await self._drop_note_unless_erased(workspace_id)
                    raise
                self.access.forget(workspace.user_id)
                try:
                    await self.erasure.hide_workspace(workspace_id)
                except DomainError:
                    # Erased as far as any request can tell; the note has the next start-up
                    # remove the bytes.
                    _log.exception("workspace %s erased, its bytes wait for start-up", workspace_id)
                    return
            await self.erasure.purge_workspace(workspace_id)
            await _drop_note(self.erasure, workspace_id)
        await _scrub(self.metadata)

    async def _erase_records(self, workspace_id: UUID, locked: list[UUID]) -> None:
        async with self.metadata.transaction() as records:
            if await records.workspaces.get(workspace_id) is None:
                raise WorkspaceNotFoundError(f"workspace {workspace_id} was erased")
            chat_ids = await records.chats.ids_by_workspace_id(workspace_id)
            if not set(chat_ids) <= set(locked):
                raise _ChatsChangedError
            active = await records.sessions.get_active_by_chat_ids(chat_ids, self.clock.now())
            if active is not None:
                raise ChatHasActiveSandboxError(
                    f"chat {active.chat_id} has an active sandbox session {active.session_id}"
                )
            await erase_records(records, workspace_id, chat_ids)

    async def _drop_note_unless_erased(self, workspace_id: UUID) -> None:
        """After the unit failed in the store: the note goes unless the unit committed
        after all (a commit whose answer was lost), which leaves the erasure to start-up."""
        with suppress(DomainError):
            if await self.metadata.workspaces.get(workspace_id) is not None:
                await self.erasure.drop_erasure_note(workspace_id)


async def _scrub(metadata: MetadataStore) -> None:
    try:
        await metadata.scrub()
    except DomainError:
        # The records are gone from every answer; what the store keeps of their bytes
        # goes with its own upkeep.
        _log.warning("could not scrub the metadata store after an erasure", exc_info=True)


async def _drop_note(erasure: WorkspaceErasure, workspace_id: UUID) -> None:
    try:
        await erasure.drop_erasure_note(workspace_id)
    except DomainError:
        # Only costs the next start-up a look at a workspace already erased.
        _log.warning("could not drop the erasure note of workspace %s", workspace_id)


@dataclass(frozen=True, slots=True)
class FinishErasures:
    """At start-up, finish every erasure a crash cut short. A noted workspace whose record
    is gone was erased (its unit of work committed): whatever records are left of it go,
    then its bytes. One whose record is still there was never erased: the request was cut
    short before it decided, and the workspace stays as it was. Each under the
    workspace's lock, so an erasure still running in another instance finishes first."""

    metadata: MetadataStore
    erasure: WorkspaceErasure
    locks: KeyedLock

    async def __call__(self) -> list[UUID]:
        """The workspaces whose erasure it finished."""
        finished: list[UUID] = []
        for workspace_id in await self.erasure.noted_erasures():
            async with self.locks.hold(workspace_id):
                if workspace_id not in await self.erasure.noted_erasures():
                    continue  # finished meanwhile by the instance erasing it
                if await self.metadata.workspaces.get(workspace_id) is None:
                    async with self.metadata.transaction() as records:
                        chat_ids = await records.chats.ids_by_workspace_id(workspace_id)
                        await erase_records(records, workspace_id, chat_ids)
                    await self.erasure.hide_workspace(workspace_id)
                    await self.erasure.purge_workspace(workspace_id)
                    finished.append(workspace_id)
                await self.erasure.drop_erasure_note(workspace_id)
        if finished:
            await _scrub(self.metadata)
        return finished
