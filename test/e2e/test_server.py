import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from test.disk import staged_files
from test.e2e.server import RunningServer, running_server

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024
BOUNDARY = "chatstore-e2e-boundary"


def _multipart_stream(name: str, size: int, digest: "hashlib._Hash") -> Iterator[bytes]:
    yield (
        f"--{BOUNDARY}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    block = os.urandom(MIB)
    for _ in range(size // MIB):
        digest.update(block)
        yield block
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def _user(client: httpx.Client) -> dict[str, str]:
    headers = {"X-User-Id": str(uuid4())}
    assert client.put("/v1/workspace", headers=headers).status_code == 201
    return headers


def test_streamed_64_mib_upload_round_trips_through_a_real_server(server: RunningServer) -> None:
    with httpx.Client(base_url=server.base_url, timeout=120) as client:
        headers = _user(client)
        chat_id = client.post("/v1/chats", headers=headers).json()["chat_id"]
        server.reset_peak_rss()
        rss_before = server.peak_rss_bytes()
        digest = hashlib.sha256()
        upload = client.post(
            f"/v1/chats/{chat_id}/files",
            headers={**headers, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
            content=_multipart_stream("big.bin", 64 * MIB, digest),
        )
        rss_growth = server.peak_rss_bytes() - rss_before

        assert upload.status_code == 201, upload.text
        (stored,) = upload.json()["items"]
        assert stored["size_bytes"] == 64 * MIB
        assert stored["sha256"] == digest.hexdigest()
        # Streaming keeps the server's memory flat: far less than the file's size.
        assert rss_growth < 32 * MIB, f"peak RSS grew by {rss_growth / MIB:.1f} MiB"

        downloaded = hashlib.sha256()
        received = 0
        url = f"/v1/chats/{chat_id}/files/{stored['file_id']}/content"
        with client.stream("GET", url, headers=headers) as response:
            assert response.status_code == 200
            assert response.headers["content-length"] == str(64 * MIB)
            for chunk in response.iter_bytes():
                downloaded.update(chunk)
                received += len(chunk)
        assert received == 64 * MIB
        assert downloaded.hexdigest() == stored["sha256"]
        assert staged_files(server.data_dir) == []


def test_real_server_answers_problem_json_and_history_etags(server: RunningServer) -> None:
    with httpx.Client(base_url=server.base_url) as client:
        missing = client.get("/v1/workspace")
        assert missing.status_code == 401
        assert missing.headers["content-type"] == "application/problem+json"
        assert missing.json()["code"] == "user_id_required"

        headers = _user(client)
        chat_id = client.post("/v1/chats", headers=headers).json()["chat_id"]
        put = client.put(f"/v1/chats/{chat_id}/history", headers=headers, content=b"# hi\n")
        assert put.status_code == 204
        etag = put.headers["etag"]
        again = client.get(
            f"/v1/chats/{chat_id}/history", headers={**headers, "If-None-Match": etag}
        )
        assert again.status_code == 304


def test_invalid_setting_stops_start_up_with_one_line_naming_it(tmp_path: Path) -> None:
    with (
        pytest.raises(RuntimeError, match="CHATSTORE_MAX_FILE_BYTES") as failure,
        running_server(tmp_path / "data", max_file_bytes="0"),
    ):
        pass
    message = str(failure.value).split(": ", 1)[1].strip()
    assert len(message.splitlines()) == 1
