"""Records outlive the store object: write through one store, close it, open the factory again
on the same scratch directory, and everything written before is there, unchanged."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from uuid import uuid4

import pytest

from test.repository.conftest import StoreFactory
from test.repository.listings import CHATS, FILES
from test.repository.records import (
    T0,
    at,
    chat,
    chat_file,
    many_created_at,
    save_all,
    session,
    shuffled,
    workspace,
)
from usecase.ports.metadata import MetadataStore
from usecase.ports.usage import WorkspaceBytes

pytestmark = pytest.mark.anyio

QUOTA = 1_000


@asynccontextmanager
async def opened(factory: StoreFactory, scratch_dir: Path) -> AsyncIterator[MetadataStore]:
    store = await factory(scratch_dir)
    try:
        yield store
    finally:
        await store.close()


async def test_workspace_survives_reopening(factory: StoreFactory, tmp_path: Path) -> None:
    saved = workspace()
    async with opened(factory, tmp_path) as store:
        await store.workspaces.save(saved)

    async with opened(factory, tmp_path) as store:
        assert await store.workspaces.get(saved.workspace_id) == saved
        assert await store.workspaces.get_by_user_id(saved.user_id) == saved
        other = workspace(user_id=saved.user_id)
        assert await store.workspaces.add_if_absent(other) == (saved, False)


async def test_chats_survive_reopening_in_paging_order(
    factory: StoreFactory, tmp_path: Path
) -> None:
    owner = workspace()
    items = [chat(owner.workspace_id, created_at) for created_at in many_created_at(7)]
    async with opened(factory, tmp_path) as store:
        await store.workspaces.save(owner)
        await save_all(store.chats.save, shuffled(items))

    async with opened(factory, tmp_path) as store:
        pages = await CHATS.pages(store, owner.workspace_id, limit=3, max_pages=5)
        assert [item for page in pages for item in page] == sorted(items, key=CHATS.position_of)
        assert [await store.chats.get(item.chat_id) for item in items] == items


async def test_files_survive_reopening_in_paging_order(
    factory: StoreFactory, tmp_path: Path
) -> None:
    owner = workspace()
    parent = chat(owner.workspace_id)
    items = [
        chat_file(parent.chat_id, f"file-{index}.txt", created_at, size_bytes=index)
        for index, created_at in enumerate(many_created_at(7))
    ]
    async with opened(factory, tmp_path) as store:
        await store.workspaces.save(owner)
        await store.chats.save(parent)
        await save_all(store.files.save, shuffled(items))

    in_order = sorted(items, key=FILES.position_of)
    async with opened(factory, tmp_path) as store:
        pages = await FILES.pages(store, parent.chat_id, limit=3, max_pages=5)
        assert [item for page in pages for item in page] == in_order
        assert await store.files.list_all_by_chat_id(parent.chat_id) == in_order
        assert [await store.files.get(item.file_id) for item in items] == items
        assert [
            await store.files.get_by_chat_id_and_name(parent.chat_id, item.name) for item in items
        ] == items


async def test_sessions_survive_reopening_and_the_active_one_still_blocks(
    factory: StoreFactory, tmp_path: Path
) -> None:
    chat_id = uuid4()
    first = session(chat_id, started_at=T0, ttl_seconds=60)
    active = session(chat_id, started_at=at(1), ttl_seconds=60)
    heartbeat = active.extended(at(30), ttl_seconds=None)
    async with opened(factory, tmp_path) as store:
        await store.sessions.add(first, now=T0)
        await store.sessions.save(first.ended(at(1)))
        await store.sessions.add(active, now=at(1))
        await store.sessions.save(heartbeat)

    async with opened(factory, tmp_path) as store:
        assert await store.sessions.get(first.session_id) == first.ended(at(1))
        assert await store.sessions.get(active.session_id) == heartbeat
        assert await store.sessions.get_active_by_chat_id(chat_id, at(70)) == heartbeat
        assert await store.sessions.add(session(chat_id, at(70)), now=at(70)) is False


async def test_usage_figures_survive_reopening(factory: StoreFactory, tmp_path: Path) -> None:
    workspace_id, measured, grown = uuid4(), uuid4(), uuid4()
    async with opened(factory, tmp_path) as store:
        await store.usage.set_chat_bytes(workspace_id, measured, 300, 100, 40)
        await store.usage.try_add(workspace_id, grown, 200, QUOTA)

    async with opened(factory, tmp_path) as store:
        assert await store.usage.workspace_bytes(workspace_id) == WorkspaceBytes(500, 40)
        assert await store.usage.history_bytes(measured) == 100
        assert await store.usage.history_bytes(grown) == 0
        assert await store.usage.revision_bytes(measured) == 40
        assert await store.usage.try_add(workspace_id, grown, 461, QUOTA) is False


async def test_deletions_survive_reopening(factory: StoreFactory, tmp_path: Path) -> None:
    replaced = workspace()
    owner = workspace(user_id=replaced.user_id)
    kept_chat, deleted_chat = chat(owner.workspace_id, at(0)), chat(owner.workspace_id, at(1))
    kept_file = chat_file(kept_chat.chat_id, "kept.txt", at(0))
    deleted_file = chat_file(kept_chat.chat_id, "gone.txt", at(1))
    deleted_session = session(deleted_chat.chat_id)
    async with opened(factory, tmp_path) as store:
        await store.workspaces.save(replaced)
        await store.workspaces.save(owner)
        await store.chats.save(kept_chat)
        await store.chats.save(deleted_chat)
        await store.files.save(kept_file)
        await store.files.save(deleted_file)
        await store.sessions.add(deleted_session, now=T0)
        await store.usage.set_chat_bytes(owner.workspace_id, deleted_chat.chat_id, 300, 100, 40)
        await store.chats.delete(deleted_chat.chat_id)
        await store.files.delete(deleted_file.file_id)
        await store.sessions.delete_by_chat_id(deleted_chat.chat_id)
        await store.usage.delete_chat(deleted_chat.chat_id)

    async with opened(factory, tmp_path) as store:
        assert await store.workspaces.get(replaced.workspace_id) is None
        assert await store.workspaces.get_by_user_id(owner.user_id) == owner
        assert await store.chats.get(deleted_chat.chat_id) is None
        assert await store.chats.get(kept_chat.chat_id) == kept_chat
        assert await store.files.get(deleted_file.file_id) is None
        assert await store.files.list_all_by_chat_id(kept_chat.chat_id) == [kept_file]
        assert await store.sessions.get(deleted_session.session_id) is None
        assert await store.usage.charged_bytes(owner.workspace_id) == 0
        assert await store.usage.history_bytes(deleted_chat.chat_id) == 0
        assert await store.usage.revision_bytes(deleted_chat.chat_id) == 0
