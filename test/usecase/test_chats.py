import pytest

from domain.chat import Chat
from domain.errors import (
    ChatHasActiveSandboxError,
    ChatNotFoundError,
    StorageUnavailableError,
    WorkspaceNotFoundError,
)
from domain.paging import PageCursor, PageRequest
from test.usecase.service import (
    OTHER_USER,
    T0,
    USER,
    Part,
    Service,
    chunks_of,
    entries,
    mark_of,
    marks,
    parts,
)

pytestmark = pytest.mark.anyio


async def test_create_chat_makes_its_directory_with_an_empty_history(service: Service) -> None:
    workspace, _ = await service.run.ensure_workspace(USER)

    chat = await service.run.create_chat(USER)

    assert (chat.workspace_id, chat.created_at) == (workspace.workspace_id, T0)
    assert entries(service.chat_dir(chat)) == ["history.md"]
    assert (service.chat_dir(chat) / "history.md").read_bytes() == b""
    assert await service.run.get_chat(USER, chat.chat_id) == chat
    assert await service.used_bytes() == 0


async def test_create_chat_without_a_workspace_creates_nothing(service: Service) -> None:
    with pytest.raises(WorkspaceNotFoundError):
        await service.run.create_chat(USER)

    assert entries(service.root / "workspaces") == []


async def test_create_chat_the_disk_refuses_leaves_no_record(service: Service) -> None:
    await service.run.ensure_workspace(USER)
    service.storage.fail("ensure_chat", StorageUnavailableError("disk gone"))

    with pytest.raises(StorageUnavailableError):
        await service.run.create_chat(USER)

    assert (await service.run.list_chats(USER, PageRequest())).items == []


async def create_chats(service: Service, count: int) -> list[Chat]:
    """`count` chats, two per clock instant, so ties on created_at are broken by id."""
    await service.run.ensure_workspace(USER)
    chats = []
    for index in range(count):
        if index % 2 == 0:
            service.clock.advance(1)
        chats.append(await service.run.create_chat(USER))
    return chats


async def test_list_chats_pages_through_every_chat_in_creation_order(service: Service) -> None:
    chats = await create_chats(service, 5)
    await service.new_chat(OTHER_USER)

    pages = []
    cursor = None
    for _ in range(5):
        page = await service.run.list_chats(USER, PageRequest.from_token(2, cursor))
        pages.append(list(page.items))
        cursor = page.next_cursor
        if cursor is None:
            break

    assert pages == [chats[0:2], chats[2:4], chats[4:5]]


async def test_list_chats_full_last_page_has_no_next_cursor(service: Service) -> None:
    chats = await create_chats(service, 4)

    first = await service.run.list_chats(USER, PageRequest(2))
    assert first.next_cursor is not None
    last = await service.run.list_chats(USER, PageRequest.from_token(2, first.next_cursor))

    assert PageCursor.decode(first.next_cursor) == PageCursor(chats[1].created_at, chats[1].chat_id)
    assert (list(last.items), last.next_cursor) == (chats[2:4], None)


async def test_list_chats_of_a_new_workspace_is_empty(service: Service) -> None:
    await service.run.ensure_workspace(USER)

    page = await service.run.list_chats(USER, PageRequest())

    assert (list(page.items), page.next_cursor) == ([], None)


async def test_list_chats_without_a_workspace_is_workspace_not_found(service: Service) -> None:
    with pytest.raises(WorkspaceNotFoundError):
        await service.run.list_chats(USER, PageRequest())


async def test_delete_chat_removes_its_directory_records_and_usage(service: Service) -> None:
    chat = await service.new_chat()
    await service.run.put_history(USER, chat.chat_id, chunks_of(b"# hi"), None)
    [stored] = await service.run.upload_files(USER, chat.chat_id, parts(Part("a.txt", b"abc")))
    session = await service.run.start_sandbox_session(USER, chat.chat_id, 60)
    await service.run.end_sandbox_session(USER, chat.chat_id, session.session_id)

    await service.run.delete_chat(USER, chat.chat_id)

    with pytest.raises(ChatNotFoundError):
        await service.run.get_chat(USER, chat.chat_id)
    assert not service.chat_dir(chat).exists()
    assert await service.metadata.files.get(stored.file_id) is None
    assert await service.metadata.sessions.get(session.session_id) is None
    assert await service.used_bytes() == 0
    assert entries(service.root / "trash") == []


async def test_delete_chat_leaves_the_other_chats_alone(service: Service) -> None:
    doomed = await service.new_chat()
    kept = await service.run.create_chat(USER)
    await service.run.put_history(USER, kept.chat_id, chunks_of(b"# kept"), None)

    await service.run.delete_chat(USER, doomed.chat_id)

    assert (await service.run.list_chats(USER, PageRequest())).items == [kept]
    assert (service.chat_dir(kept) / "history.md").read_bytes() == b"# kept"
    assert await service.used_bytes() == 6


async def test_delete_chat_twice_is_chat_not_found(service: Service) -> None:
    chat = await service.new_chat()
    await service.run.delete_chat(USER, chat.chat_id)

    with pytest.raises(ChatNotFoundError):
        await service.run.delete_chat(USER, chat.chat_id)


async def test_delete_chat_with_an_active_sandbox_is_refused_and_removes_nothing(
    service: Service,
) -> None:
    chat = await service.new_chat()
    [stored] = await service.run.upload_files(USER, chat.chat_id, parts(Part("a.txt", b"abc")))
    await service.run.start_sandbox_session(USER, chat.chat_id, 60)
    service.clock.advance(59)

    with pytest.raises(ChatHasActiveSandboxError):
        await service.run.delete_chat(USER, chat.chat_id)

    assert await service.run.get_chat(USER, chat.chat_id) == chat
    assert await service.run.get_file(USER, chat.chat_id, stored.file_id) == stored
    assert entries(service.chat_dir(chat)) == ["a.txt", "history.md"]
    assert await service.used_bytes() == 3


async def test_delete_chat_is_allowed_once_its_session_ended(service: Service) -> None:
    chat = await service.new_chat()
    session = await service.run.start_sandbox_session(USER, chat.chat_id, 60)
    await service.run.end_sandbox_session(USER, chat.chat_id, session.session_id)

    await service.run.delete_chat(USER, chat.chat_id)

    assert not service.chat_dir(chat).exists()


async def test_delete_chat_is_allowed_once_its_session_expired(service: Service) -> None:
    chat = await service.new_chat()
    await service.run.start_sandbox_session(USER, chat.chat_id, 60)
    service.clock.advance(60)

    await service.run.delete_chat(USER, chat.chat_id)

    assert not service.chat_dir(chat).exists()


async def test_delete_chat_the_disk_refuses_after_the_records_went_is_finished_by_settling(
    service: Service,
) -> None:
    """The records go first (a crash never leaves a listed chat without its bytes); a disk
    that then will not move the directory leaves it under the chat's mark, for settling,
    as a crash there would: the chat is deleted as far as any client can see."""
    chat = await service.new_chat()
    await service.run.upload_files(USER, chat.chat_id, parts(Part("a.txt", b"abc")))
    service.storage.fail("delete_chat", StorageUnavailableError("disk gone"))

    await service.run.delete_chat(USER, chat.chat_id)

    assert await service.used_bytes() == 0
    assert entries(service.chat_dir(chat)) == ["a.txt", "history.md"]
    assert marks(service) == [mark_of(chat)]
    with pytest.raises(ChatNotFoundError):
        await service.run.get_chat(USER, chat.chat_id)
    service.storage.heal()

    await service.run.settle_chats()  # at the next start-up

    assert not service.chat_dir(chat).exists()
    assert marks(service) == []
