"""A download racing a same-name replace (issue 11's first defect), on a real server.

One client keeps replacing `f.bin` with a 2 MiB and then a 2 KiB body; others download
whatever `file_id` was listed last, whole or by range. A download of X must answer X's
bytes, or 404 once X is replaced: never the replacing file's bytes under X's ETag."""

import hashlib
import os
import threading
import time

import httpx
import pytest

from test.e2e.client import client, new_chat, new_user
from test.e2e.server import RunningServer

pytestmark = pytest.mark.e2e

RACE_SECONDS = 6.0
SIZES = (2 * 1024 * 1024, 2 * 1024)


class Latest:
    """The last record an upload answered with, shared between the threads."""

    def __init__(self, record: dict[str, object]) -> None:
        self._lock = threading.Lock()
        self._record = record

    def get(self) -> dict[str, object]:
        with self._lock:
            return self._record

    def set(self, record: dict[str, object]) -> None:
        with self._lock:
            self._record = record


def test_a_download_racing_a_same_name_replace_never_serves_the_other_file(
    server: RunningServer,
) -> None:
    with client(server) as http:
        user = new_user(http)
        chat_id = new_chat(http, user)
        files_url = f"/v1/chats/{chat_id}/files"

        def upload(size: int) -> dict[str, object]:
            body = os.urandom(size)
            answer = http.post(files_url, headers=user, files={"file": ("f.bin", body)})
            assert answer.status_code == 201, answer.text
            record: dict[str, object] = answer.json()["items"][0]
            return record

        latest = Latest(upload(SIZES[0]))
        deadline = time.monotonic() + RACE_SECONDS
        wrong: list[str] = []
        counts = {"whole": 0, "range": 0, "gone": 0}

        def replace_forever() -> None:
            with client(server) as own:
                turn = 0
                while time.monotonic() < deadline:
                    body = os.urandom(SIZES[turn % 2])
                    answer = own.post(files_url, headers=user, files={"file": ("f.bin", body)})
                    assert answer.status_code == 201, answer.text
                    latest.set(answer.json()["items"][0])
                    turn += 1

        def download_forever(ranged: bool) -> None:
            with client(server) as own:
                while time.monotonic() < deadline:
                    record = latest.get()
                    headers = dict(user)
                    size = int(str(record["size_bytes"]))
                    if ranged:
                        headers["Range"] = f"bytes={size // 2}-{size - 1}"
                    answer = own.get(f"{files_url}/{record['file_id']}/content", headers=headers)
                    if answer.status_code == 404:
                        counts["gone"] += 1
                        continue
                    check(record, answer, ranged)

        def check(record: dict[str, object], answer: httpx.Response, ranged: bool) -> None:
            size = int(str(record["size_bytes"]))
            if answer.headers.get("etag") != f'"{record["sha256"]}"':
                wrong.append(f"ETag {answer.headers.get('etag')} for {record['file_id']}")
            elif ranged:
                counts["range"] += 1
                if answer.status_code != 206 or len(answer.content) != size - size // 2:
                    wrong.append(f"range of {size} bytes answered {answer.status_code}")
                    return
                if answer.headers["content-range"] != f"bytes {size // 2}-{size - 1}/{size}":
                    wrong.append(f"Content-Range {answer.headers['content-range']} for {size}")
            else:
                counts["whole"] += 1
                digest = hashlib.sha256(answer.content).hexdigest()
                if answer.status_code != 200 or digest != record["sha256"]:
                    wrong.append(f"{answer.status_code}: {len(answer.content)} bytes of {size}")

        threads = [
            threading.Thread(target=replace_forever),
            threading.Thread(target=download_forever, args=(False,)),
            threading.Thread(target=download_forever, args=(True,)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=RACE_SECONDS + 60)

    assert wrong == [], f"{len(wrong)} wrong answers, first: {wrong[:3]}; counts {counts}"
    assert counts["whole"] > 0
    assert counts["range"] > 0
