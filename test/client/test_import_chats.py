"""`import_chats` on both clients: an export archive sent as bytes, a path, a file or
chunks (async chunks too), streamed, and read back as the chats it made; a refused one
raised as `InvalidArchiveError`, never retried."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from chatstore_client import (
    AsyncClient,
    Client,
    FileTooLargeError,
    InvalidArchiveError,
    UnprocessableEntityError,
)
from chatstore_client._content import Content
from test.api.conftest import MAX_FILE_BYTES
from test.archives import ChatSpec, FileSpec, export_archive

CHATS = [
    ChatSpec(b"# first\n", [FileSpec("notes.txt", b"some notes")], title="First"),
    ChatSpec(b"# second\n", metadata={"model": "m-1"}),
]


def chunks_of(data: bytes, size: int = 1000) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize("form", ["bytes", "path", "file", "chunks"])
def test_import_chats_sends_the_archive_in_every_form_and_returns_the_chats(
    client: Client, tmp_path: Path, form: str
) -> None:
    client.ensure_workspace()
    archive = export_archive(CHATS)
    path = tmp_path / "export.zip"
    path.write_bytes(archive)

    with path.open("rb") as file:
        forms: dict[str, Content] = {
            "bytes": archive,
            "path": path,
            "file": file,
            "chunks": chunks_of(archive),
        }
        sent = forms[form]
        chats = client.import_chats(sent)

    assert [chat.title for chat in chats] == ["First", None]
    assert [dict(chat.metadata) for chat in chats] == [{}, {"model": "m-1"}]
    first = chats[0].chat_id
    assert client.get_history(first).content == "# first\n"
    [file_record] = client.list_files(first).items
    assert (file_record.name, file_record.size_bytes) == ("notes.txt", 10)
    assert {chat.chat_id for chat in client.iter_chats()} == {chat.chat_id for chat in chats}


def test_a_refused_archive_raises_invalid_archive(client: Client) -> None:
    client.ensure_workspace()

    with pytest.raises(InvalidArchiveError) as raised:
        client.import_chats(b"not a zip at all")

    assert isinstance(raised.value, UnprocessableEntityError)
    assert (raised.value.status, raised.value.code) == (422, "invalid_archive")
    assert list(client.iter_chats()) == []


def test_an_archive_over_a_limit_raises_that_limits_error(client: Client) -> None:
    client.ensure_workspace()
    big = export_archive([ChatSpec(b"", [FileSpec("big", b"b" * (MAX_FILE_BYTES + 1))])])

    with pytest.raises(FileTooLargeError):
        client.import_chats(big)


@pytest.mark.anyio
async def test_the_async_client_streams_an_async_iterable_archive(
    async_client: AsyncClient,
) -> None:
    await async_client.ensure_workspace()
    archive = export_archive(CHATS)

    async def chunks() -> AsyncIterator[bytes]:
        for chunk in chunks_of(archive):
            yield chunk

    chats = await async_client.import_chats(chunks())

    assert [chat.title for chat in chats] == ["First", None]
    history = await async_client.get_history(chats[1].chat_id)
    assert history.content == "# second\n"
    with pytest.raises(InvalidArchiveError):
        await async_client.import_chats(archive[:100])
