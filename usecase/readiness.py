from domain.errors import DomainError
from usecase.interface import ChatStorage, MetadataStore


class CheckReadiness:
    """What keeps the service from serving: the data directory and the metadata store."""

    def __init__(self, storage: ChatStorage, metadata: MetadataStore) -> None:
        self._storage = storage
        self._metadata = metadata

    async def __call__(self) -> dict[str, str]:
        failures: dict[str, str] = {}
        try:
            await self._storage.check_writable()
        except DomainError as error:
            failures["data_dir"] = error.detail
        try:
            await self._metadata.ping()
        except DomainError as error:
            failures["metadata"] = error.detail
        return failures
