import pytest

from domain.paging import PageRequest
from test.repository.records import chat, chat_file, workspace
from usecase.ports.metadata import MetadataStore

pytestmark = pytest.mark.anyio


async def test_open_store_answers_a_ping(store: MetadataStore) -> None:
    await store.ping()


async def test_repositories_of_one_store_share_its_records(store: MetadataStore) -> None:
    owner = workspace()
    saved_chat = chat(owner.workspace_id)
    saved_file = chat_file(saved_chat.chat_id)

    await store.workspaces.save(owner)
    await store.chats.save(saved_chat)
    await store.files.save(saved_file)

    assert await store.workspaces.get(owner.workspace_id) == owner
    assert await store.chats.get(saved_chat.chat_id) == saved_chat
    assert await store.chats.list_by_workspace_id(owner.workspace_id, PageRequest()) == [saved_chat]
    assert await store.files.get(saved_file.file_id) == saved_file
    assert await store.files.list_all_by_chat_id(saved_chat.chat_id) == [saved_file]
