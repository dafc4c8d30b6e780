from dataclasses import dataclass

from domain.errors import DomainError
from usecase.ports.chat_bytes import ChatDirectories
from usecase.ports.metadata import MetadataStore


@dataclass(frozen=True, slots=True)
class CheckReadiness:
    """What keeps the service from serving: the data directory and the metadata store."""

    storage: ChatDirectories
    metadata: MetadataStore

    async def __call__(self) -> dict[str, str]:
        failures: dict[str, str] = {}
        try:
            await self.storage.check_writable()
        except DomainError as error:
            failures["data_dir"] = error.detail
        try:
            await self.metadata.ping()
        except DomainError as error:
            failures["metadata"] = error.detail
        return failures
