"""`AsyncClient` against the real service in process and over a socket. Its methods send
the very `Call`s that `Client`'s do (test_client.py pins their answers), so these tests
walk every method once and dwell on what is async's own: streamed async bodies, async
downloads, async paging."""

import io
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from chatstore_client import (
    AsyncClient,
    ByteRange,
    Chat,
    ChatFileNotFoundError,
    ChatNotFoundError,
    History,
    HistoryRevisionNotFoundError,
    NotModified,
    PreconditionFailedError,
    RevisionSource,
    SandboxSessionNotFoundError,
    Upload,
    WorkspaceNotFoundError,
)
from test.api.conftest import sha256
from test.client.conftest import IN_PROCESS_URL, AsyncService, chat_dir

pytestmark = pytest.mark.anyio


async def test_workspace_and_chat_methods(async_client: AsyncClient) -> None:
    with pytest.raises(WorkspaceNotFoundError):
        await async_client.get_workspace()
    workspace = await async_client.ensure_workspace()
    assert await async_client.ensure_workspace() == workspace
    assert await async_client.get_workspace() == workspace

    chats = [await async_client.create_chat() for _ in range(3)]

    assert await async_client.get_chat(chats[0].chat_id) == chats[0]
    first = await async_client.list_chats(limit=2)
    assert first.items == chats[:2]
    assert (await async_client.list_chats(cursor=first.next_cursor)).items == chats[2:]
    assert [chat async for chat in async_client.iter_chats(page_size=1)] == chats
    await async_client.delete_chat(chats[0].chat_id)
    with pytest.raises(ChatNotFoundError):
        await async_client.get_chat(chats[0].chat_id)
    usage = await async_client.get_workspace_usage()
    assert usage.workspace_id == workspace.workspace_id

    titled = await async_client.create_chat(title="t", metadata={"k": "v"})
    patched = await async_client.update_chat(titled.chat_id, metadata={"k": None})
    assert (patched.title, patched.metadata) == ("t", {})
    newest = await async_client.list_chats(order="-updated", limit=1)
    assert [chat.chat_id for chat in newest.items] == [titled.chat_id]


async def test_history_round_trips_with_etags(async_client: AsyncClient, async_chat: Chat) -> None:
    etag = await async_client.put_history(async_chat.chat_id, "# héllo\n")

    assert await async_client.get_history(async_chat.chat_id) == History("# héllo\n", etag)
    assert await async_client.get_history(async_chat.chat_id, if_none_match=etag) == NotModified(
        etag
    )
    with pytest.raises(PreconditionFailedError):
        await async_client.put_history(async_chat.chat_id, "x", if_match='"stale"')
    assert await async_client.put_history(async_chat.chat_id, "y", if_match=etag) != etag


async def test_history_revisions_list_read_restore_and_prune(
    async_client: AsyncClient, async_chat: Chat
) -> None:
    chat_id = async_chat.chat_id
    first = await async_client.append_history(chat_id, "**user**: hi\n")
    second = await async_client.append_history(chat_id, _chunks(b"**assistant**: ", b"hello\n"))
    assert (first.revision, second.revision) == (1, 2)

    page = await async_client.list_history_revisions(chat_id, limit=2)
    assert [(r.revision, r.source) for r in page.items] == [
        (2, RevisionSource.APPEND),
        (1, RevisionSource.APPEND),
    ]
    rest = await async_client.list_history_revisions(chat_id, cursor=page.next_cursor)
    assert [r.revision for r in rest.items] == [0]
    walked = [r async for r in async_client.iter_history_revisions(chat_id, page_size=1)]
    assert walked == page.items + rest.items

    old = await async_client.get_history_revision(chat_id, 1)
    assert old == History("**user**: hi\n", first)
    assert await async_client.get_history_revision(chat_id, 1, if_none_match=first) == (
        NotModified(first)
    )
    with pytest.raises(PreconditionFailedError):
        await async_client.restore_history_revision(chat_id, 1, if_match=first)
    restored = await async_client.restore_history_revision(chat_id, 1, if_match=second)
    assert (restored, restored.revision) == (first, 3)
    assert (await async_client.get_history(chat_id)).content == "**user**: hi\n"

    await async_client.prune_history_revisions(chat_id)
    assert [r.revision for r in (await async_client.list_history_revisions(chat_id)).items] == [3]
    with pytest.raises(HistoryRevisionNotFoundError):
        await async_client.get_history_revision(chat_id, 2)


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def test_history_streams_an_async_iterable(
    async_client: AsyncClient, async_chat: Chat
) -> None:
    await async_client.put_history(async_chat.chat_id, _chunks(b"# one ", b"two\n"))

    assert (await async_client.get_history(async_chat.chat_id)).content == "# one two\n"


async def test_appends_stream_an_async_iterable(
    async_client: AsyncClient, async_chat: Chat
) -> None:
    await async_client.append_history(async_chat.chat_id, "# one\n")
    etag = await async_client.append_history(async_chat.chat_id, _chunks(b"two ", b"three\n"))

    assert await async_client.get_history(async_chat.chat_id) == History("# one\ntwo three\n", etag)


async def test_uploads_stream_async_iterables_paths_and_files(
    async_client: AsyncClient, async_chat: Chat, tmp_path: Path
) -> None:
    path = tmp_path / "notes.md"
    path.write_bytes(b"# notes\n" * 10_000)

    stored = await async_client.upload_files(
        async_chat.chat_id,
        [
            Upload(_chunks(b"made ", b"as it goes"), name="stream.txt"),
            path,
            Upload(io.BytesIO(b"\x00" * 200_000), name="zeros.bin"),
        ],
    )

    assert [record.name for record in stored] == ["stream.txt", "notes.md", "zeros.bin"]
    assert [record.sha256 for record in stored] == [
        sha256(b"made as it goes"),
        sha256(path.read_bytes()),
        sha256(b"\x00" * 200_000),
    ]
    assert (await async_client.list_files(async_chat.chat_id)).items == stored
    assert [f async for f in async_client.iter_files(async_chat.chat_id, page_size=2)] == stored
    assert await async_client.get_file(async_chat.chat_id, stored[0].file_id) == stored[0]


async def test_downloads_to_a_path_a_file_and_as_chunks(
    async_client: AsyncClient, async_chat: Chat, tmp_path: Path
) -> None:
    data = bytes(range(256)) * 1000
    record = await async_client.upload_file(async_chat.chat_id, Upload(data, name="d.bin"))
    sink = io.BytesIO()

    whole = await async_client.download_file(async_chat.chat_id, record.file_id, tmp_path / "d")
    part = await async_client.download_file(
        async_chat.chat_id, record.file_id, sink, byte_range=ByteRange.last(10)
    )
    async with async_client.stream_file(
        async_chat.chat_id, record.file_id, byte_range=ByteRange(100, 199)
    ) as download:
        chunks = [chunk async for chunk in download.aiter_bytes()]

    assert (tmp_path / "d").read_bytes() == data
    assert whole.status == 200
    assert whole.etag == f'"{record.sha256}"'
    assert sink.getvalue() == data[-10:]
    assert part.content_range == f"bytes {len(data) - 10}-{len(data) - 1}/{len(data)}"
    assert b"".join(chunks) == data[100:200]
    assert download.info.content_length == 100
    assert download.response.is_closed


async def test_delete_and_rescan_files(
    async_client: AsyncClient, async_chat: Chat, async_service: AsyncService
) -> None:
    first, second = await async_client.upload_files(
        async_chat.chat_id, [Upload(b"1", name="1.txt"), Upload(b"2", name="2.txt")]
    )

    await async_client.delete_file(async_chat.chat_id, first.file_id)
    with pytest.raises(ChatFileNotFoundError):
        await async_client.get_file(async_chat.chat_id, first.file_id)
    await async_client.delete_files(async_chat.chat_id)
    assert (await async_client.list_files(async_chat.chat_id)).items == []
    (chat_dir(async_service.data_dir, async_chat) / "out.txt").write_bytes(b"sandbox")
    (found,) = await async_client.rescan_files(async_chat.chat_id)
    assert (found.name, found.sha256) == ("out.txt", sha256(b"sandbox"))
    assert second.file_id != found.file_id


async def test_sandbox_session_methods(async_client: AsyncClient, async_chat: Chat) -> None:
    started = await async_client.start_sandbox_session(async_chat.chat_id, ttl_seconds=30)

    assert await async_client.get_active_sandbox_session(async_chat.chat_id) == started
    beat = await async_client.heartbeat_sandbox_session(
        async_chat.chat_id, started.session_id, ttl_seconds=300
    )
    assert beat.expires_at > started.expires_at
    await async_client.end_sandbox_session(async_chat.chat_id, started.session_id)
    with pytest.raises(SandboxSessionNotFoundError):
        await async_client.get_active_sandbox_session(async_chat.chat_id)


async def test_per_call_user_id_and_with_options(async_client: AsyncClient) -> None:
    other = uuid4()

    workspace = await async_client.with_options(user_id=other).ensure_workspace()

    assert workspace.user_id == other
    assert await async_client.get_workspace(user_id=other) == workspace
    with pytest.raises(WorkspaceNotFoundError):
        await async_client.get_workspace()


async def test_an_async_client_closes_the_http_client_it_made_and_no_other() -> None:
    transport = httpx.MockTransport(lambda _request: httpx.Response(204))
    async with httpx.AsyncClient(transport=transport) as handed_in:
        async with AsyncClient(IN_PROCESS_URL, http_client=handed_in):
            pass
        assert not handed_in.is_closed
        owning = AsyncClient(IN_PROCESS_URL, transport=transport)
        await owning.close()

        with pytest.raises(RuntimeError, match="closed"):
            await owning.get_workspace()
