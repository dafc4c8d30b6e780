"""SIGKILL in the middle of a multi-file upload's commit, on a real server (ADR 0019).

An upload of three files replaces three acknowledged attachments. The server is stopped
just before it renames the second file into place (`test.e2e.pause_at_rename`), so the
first name already holds the new bytes and the other two the old, and then killed. The
request was never answered, so after a restart it must be as if it never happened: all
three names hold their old bytes under their old records, and usage equals the disk."""

import contextlib
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from test.e2e.client import (
    assert_no_leftovers,
    assert_records_bytes_and_usage_agree,
    chats_dir,
    client,
    json_of,
    new_user_with_chat,
    sha256,
    upload,
)
from test.e2e.pause_at_rename import ARMED, PAUSED
from test.e2e.placement import PLACEMENTS, Placement
from test.e2e.server import running_server, server_to_kill

pytestmark = pytest.mark.e2e

NAMES = ["a.bin", "b.bin", "c.bin"]
WAIT_SECONDS = 20.0


def bodies(tag: bytes) -> list[tuple[str, bytes, str | None]]:
    # Sizes differ between old and new, so usage tells which bytes it counted.
    return [(name, tag * (index + 2) + name.encode(), None) for index, name in enumerate(NAMES)]


def by_name(items: list[Any], fields: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    return {item["name"]: {key: item[key] for key in fields} for item in items}


def wait_for(path: Path) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not path.exists():
        if time.monotonic() > deadline:
            pytest.fail(f"the server never paused ({path.name} not written)")
        time.sleep(0.005)


@pytest.mark.parametrize("placement", PLACEMENTS, indirect=True)
def test_a_kill_after_the_first_rename_of_a_three_file_upload_leaves_none_replaced(
    tmp_path: Path, placement: Placement
) -> None:
    # On JuiceFS the server restarted after the kill runs on another host's mount.
    data_dir, control = placement.first, tmp_path / "control"
    control.mkdir()
    paused_before = ("-m", "test.e2e.pause_at_rename", str(control), NAMES[1])
    with (
        server_to_kill(data_dir, command=paused_before, **placement.settings) as server,
        client(server) as http,
    ):
        headers, workspace_id, chat_id = new_user_with_chat(http)
        acknowledged = json_of(upload(http, headers, chat_id, bodies(b"old")), 201)["items"]
        directory = chats_dir(data_dir, workspace_id) / chat_id
        (control / ARMED).touch()

        def replace_all() -> None:
            with contextlib.suppress(httpx.HTTPError):  # killed mid-request, as intended
                upload(http, headers, chat_id, bodies(b"newer"))

        replacing = threading.Thread(target=replace_all)
        replacing.start()
        wait_for(control / PAUSED)
        on_disk = {name: (directory / name).read_bytes() for name in NAMES}
        expected = bodies(b"newer")[:1] + bodies(b"old")[1:]
        assert on_disk == {name: body for name, body, _ in expected}, "not paused mid-commit"
        os.kill(server.pid, signal.SIGKILL)
        replacing.join(timeout=WAIT_SECONDS)

    with (
        running_server(placement.second, **placement.settings) as restarted,
        client(restarted) as http,
    ):
        listed = json_of(http.get(f"/v1/chats/{chat_id}/files?limit=1000", headers=headers))
        fields = ("file_id", "size_bytes", "sha256", "content_type", "created_at")
        assert by_name(listed["items"], fields) == by_name(acknowledged, fields)
        for name, body, _ in bodies(b"old"):
            assert (directory / name).read_bytes() == body
            record = by_name(acknowledged, ("file_id", "sha256"))[name]
            assert record["sha256"] == sha256(body)
            url = f"/v1/chats/{chat_id}/files/{record['file_id']}/content"
            assert http.get(url, headers=headers).content == body
        assert_records_bytes_and_usage_agree(http, headers, data_dir, workspace_id)
        assert_no_leftovers(data_dir)
        assert list((data_dir / "unsettled").iterdir()) == []
