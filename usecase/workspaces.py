from dataclasses import dataclass
from uuid import UUID

from domain.limits import StorageLimits
from domain.workspace import Workspace, WorkspaceUsage
from usecase.access import ChatAccess
from usecase.ports.records import WorkspaceRepository
from usecase.ports.runtime import Clock, IdGenerator
from usecase.ports.usage import UsageRepository


@dataclass(frozen=True, slots=True)
class EnsureWorkspace:
    """Create the caller's workspace unless it has one; safe to retry and to race."""

    workspaces: WorkspaceRepository
    ids: IdGenerator
    clock: Clock

    async def __call__(self, user_id: UUID) -> tuple[Workspace, bool]:
        existing = await self.workspaces.get_by_user_id(user_id)
        if existing is not None:
            return existing, False
        candidate = Workspace(self.ids.new_id(), user_id, self.clock.now())
        return await self.workspaces.add_if_absent(candidate)


@dataclass(frozen=True, slots=True)
class GetWorkspace:
    access: ChatAccess

    async def __call__(self, user_id: UUID) -> Workspace:
        return await self.access.workspace(user_id)


@dataclass(frozen=True, slots=True)
class GetWorkspaceUsage:
    access: ChatAccess
    usage: UsageRepository
    limits: StorageLimits

    async def __call__(self, user_id: UUID) -> WorkspaceUsage:
        workspace = await self.access.workspace(user_id)
        counted = await self.usage.workspace_bytes(workspace.workspace_id)
        return WorkspaceUsage(
            workspace.workspace_id,
            counted.used_bytes,
            counted.revision_bytes,
            self.limits.quota_bytes,
        )
