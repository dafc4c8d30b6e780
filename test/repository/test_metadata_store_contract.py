from uuid import uuid4

import pytest

from domain.paging import PageRequest
from test.repository.records import chat
from usecase.interface import MetadataStore

pytestmark = pytest.mark.anyio


async def test_open_store_answers_a_ping(store: MetadataStore) -> None:
    await store.ping()


async def test_repositories_of_one_store_share_its_records(store: MetadataStore) -> None:
    saved = chat(uuid4())

    await store.chats.save(saved)

    assert await store.chats.get(saved.chat_id) == saved
    assert await store.chats.list_by_workspace_id(saved.workspace_id, PageRequest()) == [saved]
