"""Another user's chat or file answers exactly like one that does not exist."""

from collections.abc import Awaitable, Callable
from uuid import UUID

import pytest

from domain.byte_range import ByteRange
from domain.errors import ChatFileNotFoundError, ChatNotFoundError, WorkspaceNotFoundError
from domain.paging import PageRequest
from test.usecase.service import OTHER_USER, USER, Part, Service, chunks_of, entries, parts

pytestmark = pytest.mark.anyio

UNKNOWN_ID = UUID("00000000-0000-4000-8000-0000000ffff0")

ChatAction = Callable[[Service, UUID, UUID], Awaitable[object]]


async def get_chat(service: Service, user_id: UUID, chat_id: UUID) -> object:
    return await service.run.get_chat(user_id, chat_id)


async def delete_chat(service: Service, user_id: UUID, chat_id: UUID) -> None:
    await service.run.delete_chat(user_id, chat_id)


async def get_history(service: Service, user_id: UUID, chat_id: UUID) -> object:
    return await service.run.get_history(user_id, chat_id, None)


async def put_history(service: Service, user_id: UUID, chat_id: UUID) -> object:
    return await service.run.put_history(user_id, chat_id, chunks_of(b"# mine"), None)


async def upload(service: Service, user_id: UUID, chat_id: UUID) -> object:
    return await service.run.upload_files(user_id, chat_id, parts(Part("a.txt", b"abc")))


async def list_files(service: Service, user_id: UUID, chat_id: UUID) -> object:
    return await service.run.list_files(user_id, chat_id, PageRequest())


async def clear_files(service: Service, user_id: UUID, chat_id: UUID) -> None:
    await service.run.clear_files(user_id, chat_id)


async def rescan(service: Service, user_id: UUID, chat_id: UUID) -> object:
    return await service.run.rescan_files(user_id, chat_id)


async def start_session(service: Service, user_id: UUID, chat_id: UUID) -> object:
    return await service.run.start_sandbox_session(user_id, chat_id, None)


async def active_session(service: Service, user_id: UUID, chat_id: UUID) -> object:
    return await service.run.get_active_sandbox_session(user_id, chat_id)


CHAT_ACTIONS = [
    pytest.param(get_chat, id="get-chat"),
    pytest.param(delete_chat, id="delete-chat"),
    pytest.param(get_history, id="get-history"),
    pytest.param(put_history, id="put-history"),
    pytest.param(upload, id="upload"),
    pytest.param(list_files, id="list-files"),
    pytest.param(clear_files, id="clear-files"),
    pytest.param(rescan, id="rescan"),
    pytest.param(start_session, id="start-session"),
    pytest.param(active_session, id="active-session"),
]


@pytest.mark.parametrize("action", CHAT_ACTIONS)
async def test_another_users_chat_is_chat_not_found(service: Service, action: ChatAction) -> None:
    theirs = await service.new_chat(OTHER_USER)
    await service.run.ensure_workspace(USER)

    with pytest.raises(ChatNotFoundError):
        await action(service, USER, theirs.chat_id)

    assert await service.run.get_chat(OTHER_USER, theirs.chat_id) == theirs
    assert entries(service.chat_dir(theirs)) == ["history.md"]
    assert (service.chat_dir(theirs) / "history.md").read_bytes() == b""


@pytest.mark.parametrize("action", CHAT_ACTIONS)
async def test_unknown_chat_is_chat_not_found(service: Service, action: ChatAction) -> None:
    await service.run.ensure_workspace(USER)

    with pytest.raises(ChatNotFoundError):
        await action(service, USER, UNKNOWN_ID)


@pytest.mark.parametrize("action", CHAT_ACTIONS)
async def test_caller_without_a_workspace_is_workspace_not_found(
    service: Service, action: ChatAction
) -> None:
    theirs = await service.new_chat(OTHER_USER)

    with pytest.raises(WorkspaceNotFoundError):
        await action(service, USER, theirs.chat_id)


FileAction = Callable[[Service, UUID, UUID, UUID], Awaitable[object]]


async def get_file(service: Service, user_id: UUID, chat_id: UUID, file_id: UUID) -> object:
    return await service.run.get_file(user_id, chat_id, file_id)


async def open_file(service: Service, user_id: UUID, chat_id: UUID, file_id: UUID) -> object:
    return await service.run.open_file_content(
        user_id, chat_id, file_id, byte_range=ByteRange(0, 0)
    )


async def delete_file(service: Service, user_id: UUID, chat_id: UUID, file_id: UUID) -> None:
    await service.run.delete_file(user_id, chat_id, file_id)


FILE_ACTIONS = [
    pytest.param(get_file, id="get-file"),
    pytest.param(open_file, id="open-file"),
    pytest.param(delete_file, id="delete-file"),
]


@pytest.mark.parametrize("action", FILE_ACTIONS)
async def test_file_of_another_chat_is_file_not_found_even_for_its_owner(
    service: Service, action: FileAction
) -> None:
    first = await service.new_chat()
    second = await service.run.create_chat(USER)
    [stored] = await service.run.upload_files(USER, first.chat_id, parts(Part("a.txt", b"abc")))

    with pytest.raises(ChatFileNotFoundError):
        await action(service, USER, second.chat_id, stored.file_id)

    assert await service.run.get_file(USER, first.chat_id, stored.file_id) == stored
    assert (service.chat_dir(first) / "a.txt").read_bytes() == b"abc"


@pytest.mark.parametrize("action", FILE_ACTIONS)
async def test_file_in_another_users_chat_is_chat_not_found(
    service: Service, action: FileAction
) -> None:
    theirs = await service.new_chat(OTHER_USER)
    [stored] = await service.run.upload_files(
        OTHER_USER, theirs.chat_id, parts(Part("a.txt", b"abc"))
    )
    await service.run.ensure_workspace(USER)

    with pytest.raises(ChatNotFoundError):
        await action(service, USER, theirs.chat_id, stored.file_id)

    assert (service.chat_dir(theirs) / "a.txt").read_bytes() == b"abc"


@pytest.mark.parametrize("action", FILE_ACTIONS)
async def test_unknown_file_is_file_not_found(service: Service, action: FileAction) -> None:
    chat = await service.new_chat()

    with pytest.raises(ChatFileNotFoundError):
        await action(service, USER, chat.chat_id, UNKNOWN_ID)
