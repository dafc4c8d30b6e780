"""SIGKILL in the middle of an import on a real server, hit on purpose at each instant
after the archive is checked and inflated into staging and the chats' marks and quota are
taken (`test.e2e.pause_in_import`): before any new chat's directory is made, once one
chat's bytes are in place, once all are but no record is, and after the records. Every
chat of an import is visible at once or none is (api.md): until the one unit that saves
all their records no request sees any of them, and after a restart nothing of them is
left anywhere (directories, marks, journals, revisions, usage rows, staging files); once
it has committed, every one is a whole chat. Either way the workspace's own chat is as it
was, and usage agrees with the disk."""

import contextlib
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from test.archives import ChatSpec, FileSpec, export_archive, sha256
from test.disk import regular_bytes_under, staged_files
from test.e2e.client import (
    assert_no_leftovers,
    assert_problem,
    assert_records_bytes_and_usage_agree,
    assert_revisions_agree,
    chats_dir,
    client,
    json_of,
    new_user_with_chat,
    upload,
    wait_until,
)
from test.e2e.forks import chat_ids, file_records, paths_naming, stored_rows
from test.e2e.pause_in_import import ARMED, CHATS, HALF, INSTANTS, STAGED, WHOLE
from test.e2e.pausing import PAUSED
from test.e2e.server import RunningServer, running_server, server_to_kill

pytestmark = pytest.mark.e2e

WAIT_SECONDS = 20.0
# Three chats, the first with two attachments so that they are committed under a journal.
IMPORTED = [
    ChatSpec(
        b"# first\n" * 50,
        [FileSpec("notes.txt", b"n" * 3000), FileSpec("data.bin", bytes(range(256)) * 20)],
        title="first",
        metadata={"k": "v"},
    ),
    ChatSpec(b"# second\n", [FileSpec("one.txt", b"1" * 100)], title="second"),
    ChatSpec(b"", title="third"),
]
IMPORT_BYTES = sum(
    len(spec.history) + sum(len(file.content) for file in spec.files) for spec in IMPORTED
)
STAGED_FILES = sum(1 + len(spec.files) for spec in IMPORTED)


def killed_mid_import(
    server: RunningServer, control: Path, headers: dict[str, str], archive: bytes
) -> tuple[set[str], Callable[[], None]]:
    """Arm the pause and send the import from a thread. Once it is paused: the ids of the
    chats it makes (their crash marks name them), and what SIGKILLs the server."""
    (control / CHATS).write_text(str(len(IMPORTED)))
    (control / ARMED).touch()

    def send() -> None:
        with client(server) as own, contextlib.suppress(httpx.HTTPError):
            own.post("/v1/chats/import", headers=headers, content=archive)  # killed mid-way

    sending = threading.Thread(target=send)
    sending.start()
    wait_until((control / PAUSED).exists, "the import paused", WAIT_SECONDS)

    def kill() -> None:
        os.kill(server.pid, signal.SIGKILL)
        sending.join(timeout=WAIT_SECONDS)

    return marked_chats(server.data_dir), kill


def marked_chats(data_dir: Path) -> set[str]:
    """The chats with a crash mark (or a commit journal)."""
    found = set()
    for entry in (data_dir / "unsettled").iterdir():
        chat = entry.name.lstrip(".").removesuffix(".commit").removesuffix(".note")
        found.add(str(UUID(chat.partition("_")[2])))
    return found


def assert_imported_whole(
    http: httpx.Client, headers: dict[str, str], data_dir: Path, chats: list[Any]
) -> None:
    """Each imported chat holds its spec: history, revisions, attachments."""
    by_title = {chat["title"]: chat for chat in chats}
    for spec in IMPORTED:
        chat = by_title[spec.title]
        chat_id, workspace_id = chat["chat_id"], chat["workspace_id"]
        assert chat["metadata"] == dict(spec.metadata)
        contents = assert_revisions_agree(http, headers, data_dir, workspace_id, chat_id)
        assert contents == {0: b"", 1: spec.history}
        records = {record["name"]: record for record in file_records(http, headers, chat_id)}
        assert set(records) == {file.name for file in spec.files}
        for file in spec.files:
            assert records[file.name]["sha256"] == sha256(file.content)
            assert (chats_dir(data_dir, workspace_id) / chat_id / file.name).read_bytes() == (
                file.content
            )


@pytest.mark.parametrize("instant", INSTANTS)
def test_an_import_killed_half_way_is_all_its_chats_or_none(tmp_path: Path, instant: str) -> None:
    data_dir, control = tmp_path / "data", tmp_path / "control"
    control.mkdir()
    paused_server = ("-m", "test.e2e.pause_in_import", str(control), instant)

    with server_to_kill(data_dir, command=paused_server) as server, client(server) as http:
        headers, workspace_id, own = new_user_with_chat(http)
        written = http.put(f"/v1/chats/{own}/history", headers=headers, content=b"# mine\n")
        assert written.status_code == 204, written.text
        assert upload(http, headers, own, [("mine.txt", b"m" * 500, None)]).status_code == 201
        own_files = file_records(http, headers, own)
        own_bytes = regular_bytes_under(chats_dir(data_dir, workspace_id))
        imported, kill = killed_mid_import(server, control, headers, export_archive(IMPORTED))

        # Where the kill lands: the inflated entries wait in staging until they are put in
        # place; the quota is reserved for every chat from before; no chat is visible
        # before the unit that records them all.
        assert len(imported) == len(IMPORTED)
        first_chat_files = 1 + len(IMPORTED[0].files)
        waiting = {STAGED: STAGED_FILES, HALF: STAGED_FILES - first_chat_files}
        assert len(staged_files(data_dir)) == waiting.get(instant, 0)
        usage = json_of(http.get("/v1/workspace/usage", headers=headers))
        assert usage["used_bytes"] == own_bytes + IMPORT_BYTES
        visible = chat_ids(http, headers)
        if instant == WHOLE:
            assert visible == {own} | imported
        else:
            assert visible == {own}
            for chat_id in imported:
                assert_problem(
                    http.get(f"/v1/chats/{chat_id}", headers=headers), 404, "chat_not_found"
                )
        kill()

    with running_server(data_dir) as restarted, client(restarted) as http:
        assert_records_bytes_and_usage_agree(http, headers, data_dir, workspace_id)
        assert_no_leftovers(data_dir)
        assert list((data_dir / "unsettled").iterdir()) == []
        assert file_records(http, headers, own) == own_files
        assert http.get(f"/v1/chats/{own}/history", headers=headers).content == b"# mine\n"
        if instant == WHOLE:
            assert chat_ids(http, headers) == {own} | imported
            chats = [
                json_of(http.get(f"/v1/chats/{chat_id}", headers=headers)) for chat_id in imported
            ]
            assert_imported_whole(http, headers, data_dir, chats)
            return
        assert chat_ids(http, headers) == {own}
        for chat_id in imported:
            assert paths_naming(data_dir, chat_id) == []
            assert stored_rows(data_dir, chat_id) == dict.fromkeys(
                ("chats", "chat_usage", "history_revisions", "chat_files"), 0
            )
        usage = json_of(http.get("/v1/workspace/usage", headers=headers))
        assert usage["used_bytes"] == own_bytes
