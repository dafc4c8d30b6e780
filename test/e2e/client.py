"""HTTP helpers for the end-to-end tests: users, multipart bodies, racing requests, disk sums."""

import hashlib
import itertools
import re
import ssl
import stat
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from test.disk import regular_bytes_under, staged_files
from test.e2e.server import RunningServer

BOUNDARY = "chatstore-e2e-boundary"
# Every request, and every wait for the racers to line up, gives up after this long.
REQUEST_TIMEOUT_SECONDS = 30.0

# A kept run's file: `revisions/<ws>/<chat>/<run>.md` (ADR 0022).
_RUN_FILE = re.compile(r"(0|[1-9][0-9]*)\.md")

Request = Callable[[httpx.Client], httpx.Response]
# Building a client loads the CA bundle (~25 ms) unless handed a context; the servers speak
# plain HTTP, so one shared context serves every client and races start without that delay.
_TLS = ssl.create_default_context()


def client(server: RunningServer) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, timeout=REQUEST_TIMEOUT_SECONDS, verify=_TLS)


def user_headers() -> dict[str, str]:
    """The headers of a new user, who has no workspace yet."""
    return {"X-User-Id": str(uuid4())}


def new_user(http: httpx.Client) -> dict[str, str]:
    """The headers of a new user whose workspace has just been created."""
    headers = user_headers()
    created = http.put("/v1/workspace", headers=headers)
    assert created.status_code == 201, created.text
    return headers


def new_chat(http: httpx.Client, headers: dict[str, str]) -> str:
    created = http.post("/v1/chats", headers=headers)
    assert created.status_code == 201, created.text
    chat_id: str = created.json()["chat_id"]
    return chat_id


def new_user_with_chat(http: httpx.Client) -> tuple[dict[str, str], str, str]:
    """A new user's headers, the id of their workspace, and one chat of theirs."""
    headers = new_user(http)
    workspace_id: str = json_of(http.get("/v1/workspace", headers=headers))["workspace_id"]
    return headers, workspace_id, new_chat(http, headers)


def multipart(parts: Sequence[tuple[str, bytes, str | None]]) -> tuple[bytes, str]:
    """A multipart/form-data body of `file` parts (name, bytes, content type or None for
    no Content-Type header), and the Content-Type of the request carrying it."""
    body = bytearray()
    for name, content, content_type in parts:
        body += f"--{BOUNDARY}\r\n".encode()
        body += f'Content-Disposition: form-data; name="file"; filename="{name}"\r\n'.encode()
        if content_type is not None:
            body += f"Content-Type: {content_type}\r\n".encode()
        body += b"\r\n" + content + b"\r\n"
    body += f"--{BOUNDARY}--\r\n".encode()
    return bytes(body), f"multipart/form-data; boundary={BOUNDARY}"


def upload(
    http: httpx.Client,
    headers: dict[str, str],
    chat_id: str,
    parts: Sequence[tuple[str, bytes, str | None]],
) -> httpx.Response:
    body, content_type = multipart(parts)
    return http.post(
        f"/v1/chats/{chat_id}/files",
        headers={**headers, "Content-Type": content_type},
        content=body,
    )


def problem_code(response: httpx.Response) -> str:
    assert response.headers["content-type"] == "application/problem+json", response.text
    code: str = response.json()["code"]
    return code


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    """The answer is a problem with this status and stable code."""
    assert response.status_code == status, response.text
    assert problem_code(response) == code


def json_of(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.text)
    return response.json()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def race(requests: Sequence[tuple[RunningServer, Request]]) -> list[httpx.Response]:
    """Send every request at once, each from its own thread and connection, and return the
    answers in the order given.

    Each thread first opens its connection (a `/healthz` round trip), then waits at a
    barrier until all are connected, so the requests themselves leave together."""
    barrier = threading.Barrier(len(requests), timeout=REQUEST_TIMEOUT_SECONDS)

    def send(server: RunningServer, request: Request) -> httpx.Response:
        with client(server) as http:
            assert http.get("/healthz").status_code == 200
            barrier.wait()
            return request(http)

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        futures = [pool.submit(send, server, request) for server, request in requests]
        return [future.result(timeout=2 * REQUEST_TIMEOUT_SECONDS) for future in futures]


def wait_until(done: Callable[[], bool], what: str, seconds: float = 20.0) -> None:
    """Poll `done` until it holds; fail the test naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(f"never happened: {what}")
        time.sleep(0.005)


def write_revisions(
    http: httpx.Client, headers: dict[str, str], chat_id: str, contents: Sequence[bytes]
) -> None:
    """Make `contents[1:]` the chat's revisions 1, 2, ...: each that grows the one before
    it by an append, any other by a PUT (`contents[0]` is revision 0, empty)."""
    url = f"/v1/chats/{chat_id}/history"
    for number in range(1, len(contents)):
        content, previous = contents[number], contents[number - 1]
        if content.startswith(previous) and previous:
            answer = http.post(url, headers=headers, content=content[len(previous) :])
        else:
            answer = http.put(url, headers=headers, content=content)
        assert answer.status_code == 204, answer.text
        assert answer.headers["x-history-revision"] == str(number)


def chats_dir(data_dir: Path, workspace_id: str) -> Path:
    return data_dir / "workspaces" / workspace_id / "chats"


def assert_no_leftovers(data_dir: Path) -> None:
    """Nothing stays in any process's staging area, or in trash, once every request has
    been answered."""
    assert staged_files(data_dir) == []
    assert sorted(path.name for path in (data_dir / "trash").iterdir()) == []


def revisions_dir(data_dir: Path, workspace_id: str, chat_id: str) -> Path:
    """Where a chat's kept runs live, outside every chat directory (ADR 0022)."""
    return data_dir / "revisions" / workspace_id / chat_id


def listed_revisions(http: httpx.Client, headers: dict[str, str], chat_id: str) -> list[Any]:
    """Every kept revision of the chat, newest first."""
    url = f"/v1/chats/{chat_id}/history/revisions?limit=1000"
    page = json_of(http.get(url, headers=headers))
    assert page["next_cursor"] is None
    items: list[Any] = page["items"]
    return items


def assert_revisions_agree(
    http: httpx.Client, headers: dict[str, str], data_dir: Path, workspace_id: str, chat_id: str
) -> dict[int, bytes]:
    """The chat's revisions agree with its history and with the disk: the latest listed is
    the history GET answers (ETag and size); every listed one's content hashes to its ETag
    and is as long as listed; `revision_bytes` is what the workspace's `revisions/`
    directory holds; and the chat's part of it holds only the files of runs that a listed
    revision outside the current run needs (`<run>.md`, holding the content of a listed
    revision numbered from the run up). Returns each listed revision's content, by number."""
    listed = listed_revisions(http, headers, chat_id)
    numbers = [item["revision"] for item in listed]
    assert numbers == sorted(set(numbers), reverse=True), numbers
    history = http.get(f"/v1/chats/{chat_id}/history", headers=headers)
    assert history.status_code == 200, history.text
    assert history.headers["etag"] == f'"{sha256(history.content)}"'
    assert (listed[0]["etag"], listed[0]["size_bytes"]) == (
        history.headers["etag"],
        len(history.content),
    )
    contents: dict[int, bytes] = {}
    for item in listed:
        url = f"/v1/chats/{chat_id}/history/revisions/{item['revision']}"
        kept = http.get(url, headers=headers)
        assert kept.status_code == 200, (item, kept.text)
        assert kept.headers["etag"] == item["etag"] == f'"{sha256(kept.content)}"', item
        assert len(kept.content) == item["size_bytes"], item
        contents[item["revision"]] = kept.content
    usage = json_of(http.get("/v1/workspace/usage", headers=headers))
    assert usage["revision_bytes"] == regular_bytes_under(data_dir / "revisions" / workspace_id)
    chat = json_of(http.get(f"/v1/chats/{chat_id}", headers=headers))
    assert _instant(chat["updated_at"]) >= max(_instant(item["created_at"]) for item in listed)
    current_run_from = _current_run_lower_bound(listed)
    runs = revisions_dir(data_dir, workspace_id, chat_id)
    for kept_run in runs.iterdir() if runs.is_dir() else ():
        assert stat.S_ISREG(kept_run.lstat().st_mode), kept_run
        named = _RUN_FILE.fullmatch(kept_run.name)
        assert named is not None, kept_run
        run, content = int(named.group(1)), kept_run.read_bytes()
        assert any(
            run <= number < current_run_from and kept == content
            for number, kept in contents.items()
        ), f"{kept_run.name}: no listed revision outside the current run needs it"
    return contents


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _current_run_lower_bound(listed: Sequence[Any]) -> int:
    """The lowest listed number known to be in the latest revision's run (whose bytes are
    the history itself, so no file is kept for it): an append continues the run of the
    revision before it, so walk back from the latest over appends with no gap between
    them. Any other source is taken as starting a run (a sandbox's change may continue
    one instead: that only makes the bound higher, the check weaker, never wrong)."""
    bound: int = listed[0]["revision"]
    for newer, older in itertools.pairwise(listed):
        if newer["source"] != "append" or older["revision"] != newer["revision"] - 1:
            break
        bound = older["revision"]
    return bound


def assert_records_bytes_and_usage_agree(
    http: httpx.Client, headers: dict[str, str], data_dir: Path, workspace_id: str
) -> None:
    for chat in json_of(http.get("/v1/chats", headers=headers))["items"]:
        chat_id = chat["chat_id"]
        directory = chats_dir(data_dir, workspace_id) / chat_id
        records = json_of(http.get(f"/v1/chats/{chat_id}/files?limit=1000", headers=headers))
        on_disk = sorted(path.name for path in directory.iterdir() if path.name != "history.md")
        assert sorted(record["name"] for record in records["items"]) == on_disk
        for record in records["items"]:
            content = (directory / record["name"]).read_bytes()
            assert (len(content), sha256(content)) == (record["size_bytes"], record["sha256"])
    usage = json_of(http.get("/v1/workspace/usage", headers=headers))
    assert usage["used_bytes"] == regular_bytes_under(chats_dir(data_dir, workspace_id))
