from uuid import UUID

from domain.attachment_name import ChatAttachmentName
from domain.chat_file import ChatFile
from domain.paging import PageCursor, PageRequest
from repository.memory_index import OrderedGroups
from repository.memory_undo import put, remove
from usecase.ports.records import ChatFileRepository


def _chat_of(chat_file: ChatFile) -> UUID:
    return chat_file.chat_id


def _position_of(chat_file: ChatFile) -> PageCursor:
    return PageCursor(chat_file.created_at, chat_file.file_id)


class InMemoryChatFileRepository(ChatFileRepository):
    def __init__(self) -> None:
        self._files = OrderedGroups(_chat_of, _position_of)
        self._id_by_name: dict[tuple[UUID, ChatAttachmentName], UUID] = {}

    async def get(self, file_id: UUID) -> ChatFile | None:
        return self._files.get(file_id)

    async def get_by_chat_id_and_name(
        self, chat_id: UUID, name: ChatAttachmentName
    ) -> ChatFile | None:
        file_id = self._id_by_name.get((chat_id, name))
        return None if file_id is None else self._files.get(file_id)

    async def list_by_chat_id(self, chat_id: UUID, page: PageRequest) -> list[ChatFile]:
        return self._files.page(chat_id, page.after, page.limit)

    async def list_all_by_chat_id(self, chat_id: UUID) -> list[ChatFile]:
        return self._files.all_in(chat_id)

    async def save(self, chat_file: ChatFile) -> None:
        self._remove(chat_file.file_id)
        holder_id = self._id_by_name.get((chat_file.chat_id, chat_file.name))
        if holder_id is not None:
            self._remove(holder_id)
        self._files.put(chat_file)
        put(self._id_by_name, (chat_file.chat_id, chat_file.name), chat_file.file_id)

    async def delete(self, file_id: UUID) -> None:
        self._remove(file_id)

    async def delete_by_chat_id(self, chat_id: UUID) -> None:
        for chat_file in self._files.pop_group(chat_id):
            remove(self._id_by_name, (chat_id, chat_file.name))

    def _remove(self, file_id: UUID) -> None:
        chat_file = self._files.pop(file_id)
        if chat_file is not None:
            remove(self._id_by_name, (chat_file.chat_id, chat_file.name))
