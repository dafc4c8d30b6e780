"""After a crash: chats whose change was interrupted are marked, and start-up settles them."""

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from uuid import UUID, uuid4

import pytest

from domain.chat import Chat
from domain.chat_file import ChatFile
from domain.errors import ChatFileNotFoundError, QuotaExceededError, StorageUnavailableError
from domain.paging import PageRequest
from test.usecase.service import USER, Part, Service, chunks_of, mark_of, marks, parts, sha256
from usecase.ports.metadata import Repositories

pytestmark = pytest.mark.anyio


def plant_mark(service: Service, chat: Chat) -> None:
    """What a process killed in the middle of a change leaves behind."""
    (service.root / "unsettled" / mark_of(chat)).touch()


async def test_finished_changes_leave_no_mark(service: Service) -> None:
    chat = await service.new_chat()
    [stored] = await service.run.upload_files(USER, chat.chat_id, parts(Part("a.txt", b"abc")))
    await service.run.put_history(USER, chat.chat_id, chunks_of(b"# hi"), None)
    await service.run.delete_file(USER, chat.chat_id, stored.file_id)
    await service.run.rescan_files(USER, chat.chat_id)
    await service.run.delete_chat(USER, chat.chat_id)

    assert marks(service) == []


async def test_a_refused_change_leaves_no_mark(service: Service) -> None:
    chat = await service.new_chat()
    big = b"x" * service.limits.max_file_bytes
    for name in ("a.txt", "b.txt"):
        await service.run.upload_files(USER, chat.chat_id, parts(Part(name, big)))
    assert service.limits.quota_bytes - await service.used_bytes() < 3 * len(big) // 4

    with pytest.raises(QuotaExceededError):
        await service.run.put_history(USER, chat.chat_id, chunks_of(b"y" * 3000), None)
    service.storage.fail("delete_attachment", StorageUnavailableError("disk on fire"))
    with pytest.raises(StorageUnavailableError):
        await service.run.clear_files(USER, chat.chat_id)

    assert marks(service) == []


async def test_an_interrupted_change_keeps_its_mark_and_settling_repairs_it(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = await service.new_chat()

    async def dies(*args: object, **kwargs: object) -> int:
        raise RuntimeError("the process died here")

    monkeypatch.setattr(service.storage, "write_history", dies)
    with pytest.raises(RuntimeError):
        await service.run.put_history(USER, chat.chat_id, chunks_of(b"# lost"), None)
    assert marks(service) == [mark_of(chat)]
    monkeypatch.undo()
    # A SIGKILL between counting the new history and writing it leaves the two apart.
    await service.metadata.usage.try_set_history(chat.workspace_id, chat.chat_id, 999, None)

    await service.run.settle_chats()

    assert await service.used_bytes() == 0
    assert marks(service) == []


async def test_settling_imports_a_committed_file_whose_record_was_never_written(
    service: Service,
) -> None:
    chat = await service.new_chat()
    (service.chat_dir(chat) / "committed.bin").write_bytes(b"bytes on disk")
    plant_mark(service, chat)

    settled = await service.run.settle_chats()

    assert settled == [chat]
    [record] = (await service.run.list_files(USER, chat.chat_id, _page())).items
    assert (record.name.value, record.sha256) == ("committed.bin", sha256(b"bytes on disk"))
    assert await service.used_bytes() == len(b"bytes on disk")
    assert marks(service) == []


async def test_bytes_an_upload_put_in_place_before_a_crash_get_that_uploads_records(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kill between an upload's rename and its record: the acknowledged file X must not
    take the new bytes as if a sandbox had edited it (issue 11's second defect)."""
    chat = await service.new_chat()
    old = Part("f.bin", b"acknowledged bytes", "application/x-old")
    [acknowledged] = await service.run.upload_files(USER, chat.chat_id, parts(old))

    async def dies(*args: object) -> None:
        raise RuntimeError("the process died here")

    monkeypatch.setattr(service.metadata.files, "save", dies)
    with pytest.raises(RuntimeError):
        await service.run.upload_files(
            USER, chat.chat_id, parts(Part("f.bin", b"replacing bytes", "text/plain"))
        )
    monkeypatch.undo()
    assert marks(service) == [mark_of(chat)]

    await service.run.settle_chats()

    [record] = (await service.run.list_files(USER, chat.chat_id, _page())).items
    assert record.file_id != acknowledged.file_id
    assert (record.sha256, record.content_type) == (sha256(b"replacing bytes"), "text/plain")
    with pytest.raises(ChatFileNotFoundError):
        await service.run.get_file(USER, chat.chat_id, acknowledged.file_id)
    assert await service.used_bytes() == len(b"replacing bytes")
    assert marks(service) == []


async def test_a_noted_record_whose_bytes_never_arrived_is_not_taken(
    service: Service,
) -> None:
    """The kill came before the rename: the name still holds the acknowledged bytes."""
    chat = await service.new_chat()
    [kept] = await service.run.upload_files(USER, chat.chat_id, parts(Part("f.bin", b"kept")))
    never = kept.with_content(5, sha256(b"never"))
    plant_mark(service, chat)
    await service.storage.note_pending_files(
        chat.workspace_id, chat.chat_id, [replace(never, file_id=uuid4())]
    )

    await service.run.settle_chats()

    assert (await service.run.list_files(USER, chat.chat_id, _page())).items == [kept]
    assert marks(service) == []


async def test_settling_drops_a_record_whose_file_is_gone(service: Service) -> None:
    chat = await service.new_chat()
    await service.run.upload_files(USER, chat.chat_id, parts(Part("gone.txt", b"12345")))
    (service.chat_dir(chat) / "gone.txt").unlink()
    plant_mark(service, chat)

    await service.run.settle_chats()

    assert (await service.run.list_files(USER, chat.chat_id, _page())).items == []
    assert await service.used_bytes() == 0


async def test_settling_finishes_deleting_a_chat_whose_record_is_gone(service: Service) -> None:
    chat = await service.new_chat()
    await service.run.upload_files(USER, chat.chat_id, parts(Part("a.txt", b"12345")))
    session = await service.run.start_sandbox_session(USER, chat.chat_id, 60)
    await service.run.end_sandbox_session(USER, chat.chat_id, session.session_id)
    # Killed right after the chat record went: bytes, file records, session, usage remain.
    await service.metadata.chats.delete(chat.chat_id)
    plant_mark(service, chat)

    settled = await service.run.settle_chats()

    assert settled == [None]
    assert not service.chat_dir(chat).exists()
    assert await service.metadata.files.list_all_by_chat_id(chat.chat_id) == []
    assert await service.metadata.sessions.get(session.session_id) is None
    assert await service.used_bytes() == 0
    assert marks(service) == []


async def test_settling_leaves_unmarked_chats_alone(service: Service) -> None:
    chat = await service.new_chat()
    (service.chat_dir(chat) / "sandbox-wrote-this.txt").write_bytes(b"not yet rescanned")

    assert await service.run.settle_chats() == []

    assert (await service.run.list_files(USER, chat.chat_id, _page())).items == []


async def test_a_mark_gone_once_the_lock_is_held_leaves_its_chat_alone(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mark listed while a live process's change held it (a sibling worker's, ADR 0033)
    is gone by the time settling holds the chat's lock: the change finished, so nothing is
    settled under it, and no mark is left behind either."""
    chat = await service.new_chat()
    (service.chat_dir(chat) / "sandbox-wrote-this.txt").write_bytes(b"not yet rescanned")

    async def listed_before_the_change_ended() -> list[tuple[UUID, UUID]]:
        return [(chat.workspace_id, chat.chat_id)]

    monkeypatch.setattr(service.storage, "unsettled_chats", listed_before_the_change_ended)

    assert await service.run.settle_chats() == []

    assert (await service.run.list_files(USER, chat.chat_id, _page())).items == []
    assert marks(service) == []


def _page() -> PageRequest:
    return PageRequest()


async def upload_another_file(service: Service, chat: Chat) -> None:
    await service.run.upload_files(USER, chat.chat_id, parts(Part("other.bin", b"other")))


async def write_the_history(service: Service, chat: Chat) -> None:
    await service.run.put_history(USER, chat.chat_id, chunks_of(b"# next turn"), None)


async def delete_another_file(service: Service, chat: Chat) -> None:
    [other] = await service.run.upload_files(USER, chat.chat_id, parts(Part("o.bin", b"o")))
    await service.run.delete_file(USER, chat.chat_id, other.file_id)


@pytest.mark.parametrize(
    "next_change",
    [
        pytest.param(upload_another_file, id="upload"),
        pytest.param(write_the_history, id="history"),
        pytest.param(delete_another_file, id="delete"),
    ],
)
async def test_the_next_change_settles_what_a_crash_left_before_going_on(
    service: Service,
    monkeypatch: pytest.MonkeyPatch,
    next_change: Callable[[Service, Chat], Awaitable[None]],
) -> None:
    """Another instance, still running, changes a chat whose change a crash cut short in a
    dead one: it must not drop the dead one's mark and note unsettled (the upload's bytes
    would stay on disk with no record and no usage until some later rescan)."""
    chat = await service.new_chat()

    async def dies(*args: object) -> None:
        raise RuntimeError("the process died here")

    monkeypatch.setattr(service.metadata.files, "save", dies)
    with pytest.raises(RuntimeError):
        await service.run.upload_files(USER, chat.chat_id, parts(Part("f.bin", b"in place")))
    monkeypatch.undo()
    assert [item.name.value for item in await _files(service, chat)] == []

    await next_change(service, chat)

    names = {item.name.value: item for item in await _files(service, chat)}
    assert names["f.bin"].sha256 == sha256(b"in place")
    assert await service.used_bytes() == service.disk_bytes(chat.workspace_id)
    assert marks(service) == []


async def test_an_upload_after_a_crash_notes_its_own_records_not_the_crashed_ones(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mark found holds the crashed upload's records; once that chat is settled, the
    next upload's records must replace them, or a second crash would settle its bytes
    as a sandbox's edit."""
    chat = await service.new_chat()
    save = service.metadata.files.save
    uploading: list[Part] = []

    async def dies_saving_the_upload(record: ChatFile) -> None:
        if record.content_type == uploading[-1].content_type:
            raise RuntimeError("the process died here")
        await save(record)  # the settling of the first crash, before the second upload

    monkeypatch.setattr(service.metadata.files, "save", dies_saving_the_upload)
    for part in (Part("f.bin", b"first", "text/csv"), Part("g.bin", b"second", "text/plain")):
        uploading.append(part)
        with pytest.raises(RuntimeError):
            await service.run.upload_files(USER, chat.chat_id, parts(part))
    monkeypatch.undo()

    await service.run.settle_chats()

    found = {item.name.value: item.content_type for item in await _files(service, chat)}
    assert found == {"f.bin": "text/csv", "g.bin": "text/plain"}
    assert await service.used_bytes() == service.disk_bytes(chat.workspace_id)
    assert marks(service) == []


async def _files(service: Service, chat: Chat) -> Sequence[ChatFile]:
    return (await service.run.list_files(USER, chat.chat_id, _page())).items


async def delete_the_file(service: Service, chat: Chat, kept: ChatFile) -> None:
    await service.run.delete_file(USER, chat.chat_id, kept.file_id)


async def clear_the_files(service: Service, chat: Chat, kept: ChatFile) -> None:
    await service.run.clear_files(USER, chat.chat_id)


async def delete_the_chat(service: Service, chat: Chat, kept: ChatFile) -> None:
    await service.run.delete_chat(USER, chat.chat_id)


async def replace_the_file(service: Service, chat: Chat, kept: ChatFile) -> None:
    await service.run.upload_files(USER, chat.chat_id, parts(Part("kept.bin", b"replacing")))


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(delete_the_file, id="delete-file"),
        pytest.param(clear_the_files, id="clear-files"),
        pytest.param(delete_the_chat, id="delete-chat"),
        pytest.param(replace_the_file, id="upload"),
    ],
)
async def test_a_commit_lost_after_the_bytes_changed_keeps_the_mark_for_settling(
    service: Service,
    monkeypatch: pytest.MonkeyPatch,
    change: Callable[[Service, Chat, ChatFile], Awaitable[None]],
) -> None:
    """The store refuses (a lost connection at commit) after the unit's byte step ran: the
    answer is a 503, and the chat must stay marked, since bytes and records now disagree."""
    chat = await service.new_chat()
    [kept] = await service.run.upload_files(USER, chat.chat_id, parts(Part("kept.bin", b"kept")))
    unit_of_work = service.metadata.transaction

    @asynccontextmanager
    async def commit_lost() -> AsyncIterator[Repositories]:
        async with unit_of_work() as records:
            yield records
            raise StorageUnavailableError("the connection was lost at commit")

    monkeypatch.setattr(service.metadata, "transaction", commit_lost)
    with pytest.raises(StorageUnavailableError):
        await change(service, chat, kept)
    monkeypatch.undo()
    assert marks(service) == [mark_of(chat)]

    await service.run.settle_chats()

    assert marks(service) == []
    assert await service.used_bytes() == service.disk_bytes(chat.workspace_id)
