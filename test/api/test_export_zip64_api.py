"""An attachment past 4 GiB (a sparse file a sandbox planted, recorded by a rescan, with
CHATSTORE_MAX_FILE_BYTES raised) exports as Zip64 that zipfile reads back whole, its CRC
checked.

Cheap as it can be: the data directory and the archive live on tmpfs, where a hole reads at
memory speed, and the export goes through the app in process, its body written as it comes
(leaving holes where it is all zeros) instead of through a socket and an HTTP client. What
is left is what the contract costs: the rescan's sha256 of the 4 GiB, the export's sha256
and CRC-32 of them (in two threads), and zipfile's CRC-32 reading them back."""

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from uuid import uuid4

import pytest
from fastapi import FastAPI
from starlette.types import Message

from api.settings import Settings
from test.api.conftest import Json, UserApi, create_chat, in_process_client, running_app
from test.disk import tmpfs_dir
from test.export_archives import Archive

pytestmark = pytest.mark.anyio

MIB = 1024 * 1024
GIB = 1024 * MIB
# Past 4 GiB, where a ZIP needs Zip64 for the size and for every offset after it.
HUGE_BYTES = 4 * GIB + MIB
TAIL = b"the last bytes, after four gibibytes of holes"
_ZEROS = bytes(4 * MIB)


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Path]:
    with tmpfs_dir(tmp_path) as directory:
        yield directory


def write_sparse(out: BinaryIO, chunk: bytes) -> None:
    """Append `chunk` to `out`, as a hole when it is all zeros."""
    if len(chunk) <= len(_ZEROS) and _ZEROS[: len(chunk)] == chunk:
        out.seek(len(chunk), 1)
    else:
        out.write(chunk)


async def get_into(app: FastAPI, path: str, user: UserApi, out: BinaryIO) -> int:
    """GET `path` from `app` over ASGI, as a server would run it, its body written to `out`
    as it comes; returns the status."""
    answer: dict[str, int] = {}
    asked = False

    async def receive() -> Message:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        raise AssertionError("the export waited for more of a request that has no body")

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            write_sparse(out, message.get("body", b""))

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"x-user-id", str(user.user_id).encode())],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)
    out.truncate(out.tell())
    return answer["status"]


async def test_an_attachment_past_4_gib_exports_as_zip64_that_reads_back(
    scratch: Path, anyio_backend: str
) -> None:
    settings = Settings(
        data_dir=scratch / "data", max_file_bytes=8 * GIB, workspace_quota_bytes=16 * GIB
    )
    async with running_app(settings) as app, in_process_client(app) as client:
        user = UserApi(client, uuid4())
        workspace = (await user.put("/v1/workspace")).json()
        chat_id = (await create_chat(user))["chat_id"]
        directory = scratch / "data" / "workspaces" / workspace["workspace_id"] / "chats" / chat_id
        with (directory / "huge.bin").open("wb") as planted:
            planted.truncate(HUGE_BYTES)
            planted.seek(HUGE_BYTES - len(TAIL))
            planted.write(TAIL)
        (directory / "z-after.txt").write_bytes(b"after")  # a member past the 4 GiB offset
        rescan = await user.post(f"/v1/chats/{chat_id}/files/rescan")
        assert rescan.status_code == 200, rescan.text
        with (scratch / "export.zip").open("wb") as out:
            status = await get_into(app, "/v1/workspace/export", user, out)

    assert status == 200
    assert_reads_back(scratch / "export.zip", chat_id, rescan.json()["items"])


def assert_reads_back(path: Path, chat_id: str, records: list[Json]) -> None:
    # zipfile reads every member whole, its CRC-32 checked (Archive's testzip). Info-ZIP's
    # `unzip -t` would too, at some 140 MB/s: half a minute for this one archive, so it
    # lists the archive instead, which is where a Zip64 record it could not read would show.
    archive = Archive(path, unzip_test=False)
    unzip = shutil.which("unzip")
    if unzip is not None:
        listed = subprocess.run([unzip, "-l", str(path)], capture_output=True, check=False)
        assert listed.returncode == 0, listed.stdout + listed.stderr
        assert b"warning" not in listed.stdout + listed.stderr
        assert str(HUGE_BYTES).encode() in listed.stdout
    info = archive.zip.getinfo(f"chats/{chat_id}/files/huge.bin")
    assert info.file_size == HUGE_BYTES
    with archive.zip.open(info) as member:
        member.seek(HUGE_BYTES - len(TAIL))
        assert member.read() == TAIL
    assert archive.file(chat_id, "z-after.txt") == b"after"
    assert archive.zip.getinfo(f"chats/{chat_id}/files/z-after.txt").header_offset > HUGE_BYTES
    # The sha256 the export computed as the bytes went out is the one the rescan computed.
    assert archive.chat(chat_id)["files"] == records
