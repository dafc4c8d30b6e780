"""Exports on a real server (api.md, v2 exports; ADR 0023): the archive streams with the
server's memory flat; changes racing a slow export leave each chat in it one state; a
client that hangs up, or a SIGKILL, leaves no descriptor open and nothing behind. (Zip64
past 4 GiB: test/api/test_export_zip64_api.py.)"""

import os
import resource
import signal
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from test.disk import descriptors_under, tmpfs_dir
from test.e2e.client import (
    assert_no_leftovers,
    assert_records_bytes_and_usage_agree,
    chats_dir,
    client,
    json_of,
    new_chat,
    new_user_with_chat,
    upload,
    wait_until,
)
from test.e2e.server import RunningServer, running_server, server_to_kill
from test.export_archives import Archive, sha256

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024
# Far more than the socket buffers between the server and the client hold, so the server is
# still reading this chat when the client stops reading for a while.
RACED_FILE_BYTES = 48 * MIB
# An attachment a sandbox wrote, sparse: no disk blocks, and read fast.
SPARSE_BYTES = 256 * MIB


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """The module's server, its data on tmpfs where the machine has one: a hole reads from
    there at memory speed, where ext4 reads one at some 600 MB/s."""
    with (
        tmpfs_dir(tmp_path_factory.mktemp("export")) as scratch,
        running_server(scratch / "data") as running,
    ):
        yield running


def plant_sparse(path: Path, size: int, tail: bytes = b"") -> None:
    """A file of `size` bytes, all holes but `tail` at its end."""
    with path.open("wb") as planted:
        planted.truncate(size)
        if tail:
            planted.seek(size - len(tail))
            planted.write(tail)


def rescanned(http: httpx.Client, headers: dict[str, str], chat_id: str) -> list[dict[str, str]]:
    items: list[dict[str, str]] = json_of(
        http.post(f"/v1/chats/{chat_id}/files/rescan", headers=headers)
    )["items"]
    return items


def save_sparse(chunks: Iterator[bytes], path: Path) -> int:
    """Write the chunks to `path`, leaving a hole wherever a chunk is all zeros, so an
    archive of sparse files costs the client's disk nothing either; returns the size."""
    zeros = bytes(4 * MIB)
    size = 0
    with path.open("wb") as out:
        for chunk in chunks:
            if len(chunk) <= len(zeros) and zeros[: len(chunk)] == chunk:
                out.seek(len(chunk), os.SEEK_CUR)
            else:
                out.write(chunk)
            size += len(chunk)
        out.truncate(size)
    return size


def current_rss_bytes(server: RunningServer) -> int:
    for line in Path(f"/proc/{server.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("VmRSS not reported")


def open_in_chats(server: RunningServer) -> list[str]:
    return descriptors_under(server.data_dir / "workspaces", server.pid)


def test_server_memory_stays_flat_while_a_large_attachment_is_exported(
    server: RunningServer, http: httpx.Client, tmp_path: Path
) -> None:
    headers, workspace_id, chat_id = new_user_with_chat(http)
    plant_sparse(chats_dir(server.data_dir, workspace_id) / chat_id / "big.bin", SPARSE_BYTES)
    (record,) = rescanned(http, headers, chat_id)

    server.reset_peak_rss()
    before = current_rss_bytes(server)
    with http.stream("GET", f"/v1/chats/{chat_id}/export", headers=headers) as answer:
        assert answer.status_code == 200
        size = save_sparse(answer.iter_bytes(), tmp_path / "export.zip")
    growth = server.peak_rss_bytes() - before

    assert size > SPARSE_BYTES
    assert growth < 32 * MIB, f"peak RSS grew by {growth / MIB:.1f} MiB"
    archive = Archive(tmp_path / "export.zip")
    archive.assert_agrees()
    assert archive.chat(chat_id)["files"] == [record]


def test_a_client_that_hangs_up_mid_export_leaves_no_descriptor_open(
    server: RunningServer, http: httpx.Client
) -> None:
    headers, workspace_id, chat_id = new_user_with_chat(http)
    directory = chats_dir(server.data_dir, workspace_id) / chat_id
    for number in range(4):
        plant_sparse(directory / f"big-{number}.bin", SPARSE_BYTES // 16)
    rescanned(http, headers, chat_id)

    url = f"/v1/chats/{chat_id}/export"
    with client(server) as hanging_up, hanging_up.stream("GET", url, headers=headers) as answer:
        assert answer.status_code == 200
        next(answer.iter_bytes())
        assert len(open_in_chats(server)) == 4  # the attachments (the history is read whole)
    # Leaving the block closed the connection with most of the archive unsent.

    wait_until(lambda: open_in_chats(server) == [], "the export let go of every descriptor")
    assert http.get("/healthz").status_code == 200
    Archive(http.get(f"/v1/chats/{chat_id}/export", headers=headers).content).assert_agrees()
    assert "Traceback" not in server.log()


def test_changes_racing_a_slow_workspace_export_leave_each_chat_in_it_one_state(
    server: RunningServer, http: httpx.Client
) -> None:
    headers, _, first = new_user_with_chat(http)
    second = new_chat(http, headers)
    history = b"# first\n" + b"a turn of the first chat\n" * 60_000  # read by descriptor
    assert http.put(f"/v1/chats/{first}/history", headers=headers, content=history).is_success
    big = os.urandom(RACED_FILE_BYTES)
    stored = json_of(upload(http, headers, first, [("big.bin", big, None)]), 201)["items"]
    doomed = json_of(upload(http, headers, first, [("doomed.txt", b"soon gone", None)]), 201)
    assert http.put(f"/v1/chats/{second}/history", headers=headers, content=b"# 2\n").is_success

    received = bytearray()
    with (
        client(server) as slow,
        slow.stream("GET", "/v1/workspace/export", headers=headers) as answer,
    ):
        chunks = answer.iter_bytes()
        while len(received) < MIB:  # the first chat's state is taken, its bytes streaming
            received += next(chunks)
        url = f"/v1/chats/{first}/history"
        assert http.post(url, headers=headers, content=b"appended meanwhile\n").is_success
        assert upload(http, headers, first, [("big.bin", b"replaced", None)]).is_success
        doomed_id = doomed["items"][0]["file_id"]
        deleted = http.delete(f"/v1/chats/{first}/files/{doomed_id}", headers=headers)
        assert deleted.status_code == 204
        url = f"/v1/chats/{second}/history"
        assert http.post(url, headers=headers, content=b"in time\n").is_success
        for chunk in chunks:
            received += chunk

    archive = Archive(bytes(received))
    archive.assert_agrees()
    assert archive.history(first) == history
    assert [record["file_id"] for record in archive.chat(first)["files"]] == [
        stored[0]["file_id"],
        doomed["items"][0]["file_id"],
    ]
    assert sha256(archive.file(first, "big.bin")) == sha256(big)
    assert archive.history(second) == b"# 2\nin time\n"


def test_a_kill_mid_export_leaves_the_workspace_as_it_was_and_nothing_behind(
    tmp_path: Path,
) -> None:
    with tmpfs_dir(tmp_path) as scratch:
        killed_mid_export(scratch / "data")


def killed_mid_export(data_dir: Path) -> None:
    with server_to_kill(data_dir) as server, client(server) as http:
        headers, workspace_id, chat_id = new_user_with_chat(http)
        url = f"/v1/chats/{chat_id}/history"
        assert http.put(url, headers=headers, content=b"# h\n").status_code == 204
        plant_sparse(chats_dir(data_dir, workspace_id) / chat_id / "big.bin", SPARSE_BYTES // 4)
        rescanned(http, headers, chat_id)
        before = Archive(http.get(f"/v1/chats/{chat_id}/export", headers=headers).content)
        with client(server) as exporting:
            url = f"/v1/chats/{chat_id}/export"
            with exporting.stream("GET", url, headers=headers) as answer:
                chunks = answer.iter_bytes()
                next(chunks)
                os.kill(server.pid, signal.SIGKILL)
                with pytest.raises(httpx.HTTPError):
                    for _ in chunks:
                        pass

    with running_server(data_dir) as server, client(server) as http:
        assert_no_leftovers(data_dir)
        assert_records_bytes_and_usage_agree(http, headers, data_dir, workspace_id)
        after = Archive(http.get(f"/v1/chats/{chat_id}/export", headers=headers).content)
        after.assert_agrees()
        assert after.chat(chat_id)["files"] == before.chat(chat_id)["files"]
        assert after.history(chat_id) == before.history(chat_id)


# `python -m api`, started with a soft limit of 1024 open files.
_WITH_1024_FILES = (
    "-c",
    "import resource, runpy;"
    " _, hard = resource.getrlimit(resource.RLIMIT_NOFILE);"
    " resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard));"
    " runpy.run_module('api', run_name='__main__', alter_sys=True)",
)


def test_a_chat_with_more_attachments_than_the_usual_descriptor_limit_exports_whole(
    tmp_path: Path,
) -> None:
    """Each attachment is held open while its chat streams; the server raises the soft
    limit of 1024 it was started with to the hard one."""
    names = [f"note-{number:04}.txt" for number in range(1100)]
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2048:
        pytest.skip(f"the hard limit, {hard}, leaves no room above 1024")
    with ExitStack() as stack:
        # The limit is lowered in the server's process only: this one may hold more
        # descriptors than that after a long test run.
        server = stack.enter_context(server_to_kill(tmp_path / "data", command=_WITH_1024_FILES))
        http = stack.enter_context(client(server))
        limits = Path(f"/proc/{server.pid}/limits").read_text()
        (line,) = [line for line in limits.splitlines() if line.startswith("Max open files")]
        assert int(line.split()[3]) > 1024
        headers, workspace_id, chat_id = new_user_with_chat(http)
        directory = chats_dir(server.data_dir, workspace_id) / chat_id
        for name in names:
            (directory / name).write_text(name)
        assert len(rescanned(http, headers, chat_id)) == len(names)

        archive = Archive(http.get(f"/v1/chats/{chat_id}/export", headers=headers).content)

    archive.assert_agrees()
    assert [record["name"] for record in archive.chat(chat_id)["files"]] == names
