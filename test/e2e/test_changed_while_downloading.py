"""A sandbox changes an attachment while a real server streams it. The download never
serves a byte the file did not hold, never hangs, and a client can always tell a short
answer from a whole one; the service keeps serving."""

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from test.e2e.client import chats_dir, client, json_of, new_user_with_chat, sha256, upload
from test.e2e.server import RunningServer

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024
# Far more than the socket buffers between the server and the client can hold, so the
# server is still reading the file when the sandbox changes it.
FILE_BYTES = 48 * MIB
READ_BEFORE_CHANGE = 2 * MIB


@dataclass(frozen=True)
class StoredFile:
    http: httpx.Client
    headers: dict[str, str]
    content_url: str
    content: bytes
    path: Path


@pytest.fixture
def stored(server: RunningServer) -> Iterator[StoredFile]:
    with client(server) as http:
        headers, workspace_id, chat_id = new_user_with_chat(http)
        content = os.urandom(FILE_BYTES)
        answer = upload(http, headers, chat_id, [("big.bin", content, None)])
        file_id = json_of(answer, 201)["items"][0]["file_id"]
        path = chats_dir(server.data_dir, workspace_id) / chat_id / "big.bin"
        yield StoredFile(
            http, headers, f"/v1/chats/{chat_id}/files/{file_id}/content", content, path
        )


def download_while(stored: StoredFile, act: Callable[[], None]) -> tuple[bytes, str, bool]:
    """Stream the attachment, call `act` once the first MiB has arrived, and return what
    arrived, the ETag, and whether the answer ended short of its Content-Length."""
    received = bytearray()
    acted = False
    with stored.http.stream("GET", stored.content_url, headers=stored.headers) as response:
        assert response.status_code == 200
        assert response.headers["content-length"] == str(FILE_BYTES)
        try:
            for chunk in response.iter_bytes():
                received += chunk
                if not acted and len(received) >= MIB:
                    act()
                    acted = True
        except httpx.RemoteProtocolError:
            return bytes(received), response.headers["etag"], True
    return bytes(received), response.headers["etag"], False


def test_file_truncated_mid_download_ends_the_answer_short_with_only_its_bytes(
    stored: StoredFile,
) -> None:
    received, _, short = download_while(stored, lambda: os.truncate(stored.path, MIB // 2))

    # Short of the declared length, so the client knows; and only bytes the file held.
    assert short
    assert len(received) < FILE_BYTES
    assert received == stored.content[: len(received)]
    served = stored.http.get(stored.content_url, headers=stored.headers)
    assert served.status_code == 200
    assert served.content == stored.content[: MIB // 2]


def test_file_replaced_mid_download_serves_the_old_bytes_whole(stored: StoredFile) -> None:
    def replace() -> None:
        replacement = stored.path.with_name("sandbox-wrote.tmp")
        replacement.write_bytes(b"new bytes from the sandbox")
        replacement.replace(stored.path)

    received, etag, short = download_while(stored, replace)

    assert not short
    assert etag == f'"{sha256(stored.content)}"'
    assert sha256(received) == sha256(stored.content)
    assert stored.http.get(stored.content_url, headers=stored.headers).content == (
        b"new bytes from the sandbox"
    )
