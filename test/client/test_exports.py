"""`export_workspace` and `export_chat`, sync and async: the archive written to a path or a
file object as it arrives; refusals raised with nothing left behind; an answer cut short
leaves no half-written file."""

import io
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from chatstore_client import (
    APIConnectionError,
    AsyncClient,
    Chat,
    ChatNotFoundError,
    Client,
    Upload,
    WorkspaceNotFoundError,
)
from test.client.conftest import IN_PROCESS_URL, NO_WAIT
from test.export_archives import Archive


def test_export_workspace_to_a_path_and_a_chat_to_a_file_object(
    client: Client, chat: Chat, tmp_path: Path
) -> None:
    client.put_history(chat.chat_id, "# Trip\n")
    stored = client.upload_file(chat.chat_id, Upload(b"IC 1,07:02\n", name="timetable.csv"))
    workspace = client.get_workspace()
    sink = io.BytesIO()

    whole = client.export_workspace(tmp_path / "workspace.zip")
    one = client.export_chat(chat.chat_id, sink)

    assert whole.status == one.status == 200
    assert whole.content_type == one.content_type == "application/zip"
    assert whole.content_disposition == (
        f'attachment; filename="chatstore-{workspace.workspace_id}.zip"'
    )
    assert one.content_disposition == f'attachment; filename="chatstore-{chat.chat_id}.zip"'
    for archive in (Archive(tmp_path / "workspace.zip"), Archive(sink.getvalue())):
        archive.assert_agrees()
        assert archive.history(chat.chat_id) == b"# Trip\n"
        assert archive.file(chat.chat_id, "timetable.csv") == b"IC 1,07:02\n"
        assert archive.chat(chat.chat_id)["files"] == [stored.model_dump(mode="json")]
        assert archive.manifest["workspace"]["workspace_id"] == str(workspace.workspace_id)


def test_a_refused_export_raises_and_leaves_no_file(client: Client, tmp_path: Path) -> None:
    with pytest.raises(WorkspaceNotFoundError):
        client.export_workspace(tmp_path / "none.zip")
    client.ensure_workspace()
    with pytest.raises(ChatNotFoundError):
        client.export_chat(uuid4(), tmp_path / "none.zip")

    assert not (tmp_path / "none.zip").exists()


class _CutShort(httpx.SyncByteStream, httpx.AsyncByteStream):
    """An answer whose connection closes after its first bytes."""

    FIRST = b"PK\x03\x04 the first bytes of an archive"

    def __iter__(self) -> Iterator[bytes]:
        yield self.FIRST
        raise httpx.ReadError("the connection was closed mid-answer")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.FIRST
        raise httpx.ReadError("the connection was closed mid-answer")


def _cut_short(_request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, headers={"Content-Type": "application/zip"}, stream=_CutShort())


def test_an_export_cut_short_raises_and_removes_the_half_written_file(tmp_path: Path) -> None:
    transport = httpx.MockTransport(_cut_short)
    client = Client(IN_PROCESS_URL, user_id=uuid4(), backoff=NO_WAIT, transport=transport)
    with client, pytest.raises(APIConnectionError):
        client.export_workspace(tmp_path / "cut.zip")

    assert not (tmp_path / "cut.zip").exists()


@pytest.mark.anyio
async def test_async_export_workspace_to_a_path_and_a_chat_to_a_file_object(
    async_client: AsyncClient, async_chat: Chat, tmp_path: Path
) -> None:
    await async_client.put_history(async_chat.chat_id, "# Trip\n")
    await async_client.upload_file(async_chat.chat_id, Upload(b"1,2\n", name="t.csv"))
    sink = io.BytesIO()

    whole = await async_client.export_workspace(tmp_path / "workspace.zip")
    one = await async_client.export_chat(async_chat.chat_id, sink)

    assert whole.content_type == one.content_type == "application/zip"
    for archive in (Archive(tmp_path / "workspace.zip"), Archive(sink.getvalue())):
        archive.assert_agrees()
        assert archive.file(async_chat.chat_id, "t.csv") == b"1,2\n"


@pytest.mark.anyio
async def test_async_export_refused_or_cut_short_leaves_no_file(
    async_client: AsyncClient, async_chat: Chat, tmp_path: Path
) -> None:
    with pytest.raises(ChatNotFoundError):
        await async_client.export_chat(uuid4(), tmp_path / "none.zip")

    async def cut_short(request: httpx.Request) -> httpx.Response:
        return _cut_short(request)

    transport = httpx.MockTransport(cut_short)
    broken = AsyncClient(IN_PROCESS_URL, user_id=uuid4(), backoff=NO_WAIT, transport=transport)
    async with broken:
        with pytest.raises(APIConnectionError):
            await broken.export_workspace(tmp_path / "cut.zip")

    assert not (tmp_path / "none.zip").exists()
    assert not (tmp_path / "cut.zip").exists()
