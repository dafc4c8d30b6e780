from uuid import UUID

from domain.limits import StorageLimits
from domain.workspace import Workspace, WorkspaceUsage
from usecase.access import ChatAccess
from usecase.interface import Clock, IdGenerator, UsageRepository, WorkspaceRepository


class EnsureWorkspace:
    """Create the caller's workspace unless it has one; safe to retry and to race."""

    def __init__(self, workspaces: WorkspaceRepository, ids: IdGenerator, clock: Clock) -> None:
        self._workspaces = workspaces
        self._ids = ids
        self._clock = clock

    async def __call__(self, user_id: UUID) -> tuple[Workspace, bool]:
        existing = await self._workspaces.get_by_user_id(user_id)
        if existing is not None:
            return existing, False
        candidate = Workspace(self._ids.new_id(), user_id, self._clock.now())
        return await self._workspaces.add_if_absent(candidate)


class GetWorkspace:
    def __init__(self, access: ChatAccess) -> None:
        self._access = access

    async def __call__(self, user_id: UUID) -> Workspace:
        return await self._access.workspace(user_id)


class GetWorkspaceUsage:
    def __init__(self, access: ChatAccess, usage: UsageRepository, limits: StorageLimits) -> None:
        self._access = access
        self._usage = usage
        self._limits = limits

    async def __call__(self, user_id: UUID) -> WorkspaceUsage:
        workspace = await self._access.workspace(user_id)
        used = await self._usage.used_bytes(workspace.workspace_id)
        return WorkspaceUsage(workspace.workspace_id, used, self._limits.quota_bytes)
