"""The MetadataCensus port over the in-memory store (ADR 0026). Its usage sums move with
its figures in one step, so they never drift; `resum` is there for the port's sake."""

from uuid import UUID

from repository.memory_chat import InMemoryChatRepository
from repository.memory_usage import InMemoryUsageRepository
from repository.memory_workspace import InMemoryWorkspaceRepository
from usecase.ports.census import ChatUsage, MetadataCensus, WorkspaceLedger


class InMemoryMetadataCensus(MetadataCensus):
    def __init__(
        self,
        workspaces: InMemoryWorkspaceRepository,
        chats: InMemoryChatRepository,
        usage: InMemoryUsageRepository,
    ) -> None:
        self._workspaces = workspaces
        self._chats = chats
        self._usage = usage

    async def workspace_ids(self) -> list[UUID]:
        return sorted({*self._workspaces.ids(), *self._usage.workspace_ids()})

    async def chat_ids(self, workspace_id: UUID) -> list[UUID]:
        return sorted(self._chats.ids_in(workspace_id))

    async def ledger(self, workspace_id: UUID) -> WorkspaceLedger:
        return self._usage.ledger(workspace_id)

    async def chat_usage(self, chat_id: UUID) -> ChatUsage | None:
        return self._usage.chat_usage(chat_id)

    async def resum(self, workspace_id: UUID) -> None:
        self._usage.resum(workspace_id)
