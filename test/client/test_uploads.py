"""The streamed multipart/form-data body: its bytes, its names, what can be sent twice, and
that a large upload (and download) never holds the file in memory."""

import hashlib
import io
import os
import tracemalloc
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import anyio
import pytest

from chatstore_client import AsyncClient, Client, Upload
from chatstore_client._content import CHUNK_BYTES
from chatstore_client.uploads import MultipartBody, UploadItem, content_disposition
from test.e2e.server import RunningServer
from test.names_on_the_wire import written_by_the_client

MIB = 1024 * 1024
BIG_BYTES = 48 * MIB
# What a streamed transfer of BIG_BYTES may allocate at its peak: a few chunks and
# buffers, whatever the size of the file.
FLAT_PEAK_BYTES = 4 * MIB


def test_the_body_is_multipart_form_data_with_a_file_part_per_upload() -> None:
    body = MultipartBody(
        [
            Upload(b"hello", name="a.txt", content_type="text/plain"),
            Upload([b"\x00", b"\x01"], name="README"),
        ],
        boundary="b0undary",
    )

    assert body.content_type == "multipart/form-data; boundary=b0undary"
    assert b"".join(body.chunks()) == (
        b"--b0undary\r\n"
        b'Content-Disposition: form-data; name="file"; filename="a.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\n"
        b"hello\r\n"
        b"--b0undary\r\n"
        b'Content-Disposition: form-data; name="file"; filename="README"\r\n\r\n'
        b"\x00\x01\r\n"
        b"--b0undary--\r\n"
    )


def test_the_async_body_has_the_same_bytes() -> None:
    body = MultipartBody([Upload(b"hello", name="a.txt")], boundary="b")

    async def collect() -> bytes:
        return b"".join([chunk async for chunk in body.achunks()])

    assert anyio.run(collect) == b"".join(body.chunks())


@pytest.mark.parametrize(("name", "disposition"), written_by_the_client())
def test_names_are_quoted_as_browsers_do_with_rfc_8187_for_non_ascii(
    name: str, disposition: str
) -> None:
    assert content_disposition(name) == disposition


def test_names_default_to_the_file_name_of_a_path_or_a_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_bytes(b"x")
    with path.open("rb") as file:
        body = b"".join(MultipartBody([path, str(path), file]).chunks())

    assert body.count(b'filename="notes.md"\r\nContent-Type: text/markdown\r\n') == 3


@pytest.mark.parametrize(
    ("item", "message"),
    [
        pytest.param(Upload(b"x"), "give it a name", id="no-name"),
        pytest.param(Upload(b"x", name="a", content_type="text/plain\r\nX: y"), "printable ASCII"),
    ],
)
def test_an_upload_that_cannot_be_framed_is_refused_before_sending(
    item: Upload, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        MultipartBody([item])


def test_an_upload_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one file"):
        MultipartBody([])


class _Pipe(io.RawIOBase):
    """A readable stream that cannot seek, as a pipe or a socket."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


async def _async_chunks() -> AsyncIterator[bytes]:
    yield b"x"


def _generator() -> Iterator[bytes]:
    yield b"x"


@pytest.mark.parametrize(
    ("make_item", "replayable"),
    [
        pytest.param(lambda _path: Upload(b"x", name="a"), True, id="bytes"),
        pytest.param(lambda path: path, True, id="path"),
        pytest.param(lambda _path: Upload([b"x"], name="a"), True, id="list"),
        pytest.param(lambda _path: Upload(io.BytesIO(b"x"), name="a"), True, id="seekable"),
        pytest.param(lambda _path: Upload(_generator(), name="a"), False, id="generator"),
        pytest.param(lambda _path: Upload(_async_chunks(), name="a"), False, id="async-gen"),
        pytest.param(lambda _path: Upload(_Pipe(b"x"), name="a"), False, id="pipe"),
    ],
)
def test_a_body_is_replayable_only_when_every_part_can_be_read_again(
    tmp_path: Path, make_item: Callable[[Path], UploadItem], replayable: bool
) -> None:
    path = tmp_path / "a"
    path.write_bytes(b"x")

    assert MultipartBody([make_item(path)]).replayable is replayable


def test_a_replayed_body_sends_a_seekable_file_again_from_where_it_stood() -> None:
    file = io.BytesIO(b"skip|send")
    file.seek(5)
    body = MultipartBody([Upload(file, name="a")], boundary="b")

    assert b"".join(body.chunks()) == b"".join(body.chunks())
    assert b"\r\n\r\nsend\r\n" in b"".join(body.chunks())


def test_the_sync_client_refuses_an_async_iterable() -> None:
    body = MultipartBody([Upload(_async_chunks(), name="a")])

    with pytest.raises(TypeError, match="AsyncClient"):
        b"".join(body.chunks())


# Large bodies over a real socket, with the client's own allocations traced


def _write_random_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as file:
        for _ in range(size // MIB):
            block = os.urandom(MIB)
            digest.update(block)
            file.write(block)
    return digest.hexdigest()


def _peak_traced(action: Callable[[], Any]) -> tuple[Any, int]:
    tracemalloc.start()
    try:
        result = action()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


@pytest.mark.e2e
def test_a_large_file_streams_up_and_down_in_flat_memory(
    big_server: RunningServer, tmp_path: Path
) -> None:
    source = tmp_path / "big.bin"
    digest = _write_random_file(source, BIG_BYTES)
    with Client(big_server.base_url, user_id=uuid4()) as client:
        client.ensure_workspace()
        chat = client.create_chat()

        record, upload_peak = _peak_traced(lambda: client.upload_file(chat.chat_id, source))
        info, download_peak = _peak_traced(
            lambda: client.download_file(chat.chat_id, record.file_id, tmp_path / "copy.bin")
        )

    assert (record.size_bytes, record.sha256) == (BIG_BYTES, digest)
    assert info.content_length == BIG_BYTES
    assert hashlib.sha256((tmp_path / "copy.bin").read_bytes()).hexdigest() == digest
    assert upload_peak < FLAT_PEAK_BYTES, f"upload peaked at {upload_peak / MIB:.1f} MiB"
    assert download_peak < FLAT_PEAK_BYTES, f"download peaked at {download_peak / MIB:.1f} MiB"


@pytest.mark.e2e
def test_a_large_async_iterable_streams_up_in_flat_memory(big_server: RunningServer) -> None:
    digest = hashlib.sha256()

    async def generated() -> AsyncIterator[bytes]:
        block = os.urandom(CHUNK_BYTES)
        for _ in range(BIG_BYTES // CHUNK_BYTES):
            digest.update(block)
            yield block

    async def upload() -> Any:
        async with AsyncClient(big_server.base_url, user_id=uuid4()) as client:
            await client.ensure_workspace()
            chat = await client.create_chat()
            return await client.upload_file(chat.chat_id, Upload(generated(), name="gen.bin"))

    record, peak = _peak_traced(lambda: anyio.run(upload))

    assert (record.size_bytes, record.sha256) == (BIG_BYTES, digest.hexdigest())
    assert peak < FLAT_PEAK_BYTES, f"async upload peaked at {peak / MIB:.1f} MiB"
