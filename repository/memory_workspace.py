from uuid import UUID

from domain.workspace import Workspace
from repository.memory_undo import put, remove
from usecase.ports.records import WorkspaceRepository


class InMemoryWorkspaceRepository(WorkspaceRepository):
    def __init__(self) -> None:
        self._by_id: dict[UUID, Workspace] = {}
        self._id_by_user: dict[UUID, UUID] = {}

    async def get(self, workspace_id: UUID) -> Workspace | None:
        return self._by_id.get(workspace_id)

    async def get_by_user_id(self, user_id: UUID) -> Workspace | None:
        return self._find_by_user(user_id)

    async def save(self, workspace: Workspace) -> None:
        self._store(workspace)

    async def add_if_absent(self, workspace: Workspace) -> tuple[Workspace, bool]:
        existing = self._find_by_user(workspace.user_id)
        if existing is not None:
            return existing, False
        self._store(workspace)
        return workspace, True

    async def delete(self, workspace_id: UUID) -> None:
        removed = remove(self._by_id, workspace_id)
        if removed is not None:
            remove(self._id_by_user, removed.user_id)

    def ids(self) -> list[UUID]:
        """Every workspace's id (for the census)."""
        return list(self._by_id)

    def _find_by_user(self, user_id: UUID) -> Workspace | None:
        workspace_id = self._id_by_user.get(user_id)
        return None if workspace_id is None else self._by_id[workspace_id]

    def _store(self, workspace: Workspace) -> None:
        previous = self._by_id.get(workspace.workspace_id)
        if previous is not None and previous.user_id != workspace.user_id:
            remove(self._id_by_user, previous.user_id)
        replaced_id = self._id_by_user.get(workspace.user_id)
        if replaced_id is not None and replaced_id != workspace.workspace_id:
            remove(self._by_id, replaced_id)
        put(self._by_id, workspace.workspace_id, workspace)
        put(self._id_by_user, workspace.user_id, workspace.workspace_id)
