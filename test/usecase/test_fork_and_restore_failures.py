"""A fork or a restore the disk refuses part of the way leaves nothing behind: no chat, no
record, no revision, no byte counted, nothing in staging, no directory."""

from pathlib import Path

import pytest

from domain.chat import Chat
from domain.errors import DomainError, InsufficientStorageError, StorageUnavailableError
from domain.paging import PageRequest
from test.fakes import StorageMethod
from test.usecase.service import USER, Part, Service, chunks_of, open_service, parts, sha256

pytestmark = pytest.mark.anyio


@pytest.fixture
async def service(tmp_path: Path) -> Service:
    return await open_service(tmp_path / "data")


async def chat_with_content(service: Service) -> Chat:
    chat = await service.new_chat()
    await service.run.put_history(USER, chat.chat_id, chunks_of(b"# one\n"), None)
    await service.run.append_history(USER, chat.chat_id, chunks_of(b"two\n"), None)
    await service.run.upload_files(USER, chat.chat_id, parts(Part("notes.txt", b"some notes")))
    return chat


def chat_dirs(service: Service) -> set[Path]:
    return set(service.root.glob("workspaces/*/chats/*"))


@pytest.mark.parametrize(
    "method",
    [
        "copy_history_revision",
        "copy_attachment",
        "ensure_chat",
        "write_history",
        "commit_attachments",
    ],
)
@pytest.mark.parametrize(
    "error", [StorageUnavailableError("I/O error"), InsufficientStorageError("disk full")]
)
async def test_a_fork_the_disk_refuses_part_of_the_way_leaves_nothing(
    service: Service, method: StorageMethod, error: Exception
) -> None:
    source = await chat_with_content(service)
    chats = await service.run.list_chats(USER, page_request())
    usage = await service.run.get_workspace_usage(USER)
    directories = chat_dirs(service)
    assert isinstance(error, DomainError)
    service.storage.fail(method, error)

    with pytest.raises(type(error)):
        await service.run.fork_chat(USER, source.chat_id, None, True)

    service.storage.heal()
    assert await service.run.list_chats(USER, page_request()) == chats
    assert await service.run.get_workspace_usage(USER) == usage
    assert chat_dirs(service) == directories
    assert service.staging_entries() == []
    kept_for = {path.name for path in service.root.glob("revisions/*/*")}
    assert kept_for <= {str(source.chat_id)}


@pytest.mark.parametrize("method", ["copy_history_revision", "write_history"])
async def test_a_restore_the_disk_refuses_changes_nothing(
    service: Service, method: StorageMethod
) -> None:
    chat = await chat_with_content(service)
    before = await service.run.list_history_revisions(USER, chat.chat_id, 100, None)
    usage = await service.run.get_workspace_usage(USER)
    service.storage.fail(method, StorageUnavailableError("I/O error"))

    with pytest.raises(StorageUnavailableError):
        await service.run.restore_history_revision(USER, chat.chat_id, 1, None)

    service.storage.heal()
    assert await service.run.list_history_revisions(USER, chat.chat_id, 100, None) == before
    assert await service.run.get_workspace_usage(USER) == usage
    read = await service.run.get_history(USER, chat.chat_id, None)
    assert read.version.sha256 == sha256(b"# one\ntwo\n")
    assert service.staging_entries() == []


def page_request() -> PageRequest:
    return PageRequest()
