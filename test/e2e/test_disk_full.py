"""A real full disk: the data directory on a small tmpfs the test mounts (as root). Writes
that do not fit answer 507 and leave nothing behind; the service keeps serving."""

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from test.e2e.client import (
    assert_no_leftovers,
    assert_problem,
    chats_dir,
    client,
    json_of,
    new_user_with_chat,
    upload,
)
from test.e2e.server import running_server

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024
DISK_BYTES = 4 * MIB


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs, mounted for the test and unmounted after it."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "--lazy", str(mount_point)], check=False)


def test_writes_that_do_not_fit_answer_507_leave_nothing_and_the_service_keeps_serving(
    small_disk: Path, tmp_path: Path
) -> None:
    metadata = f"sqlite:///{tmp_path / 'metadata.db'}"
    with running_server(small_disk, metadata_url=metadata) as server, client(server) as http:
        headers, workspace_id, chat_id = new_user_with_chat(http)
        history = b"# kept\n"
        assert (
            http.put(f"/v1/chats/{chat_id}/history", headers=headers, content=history).status_code
            == 204
        )
        chat_dir = chats_dir(small_disk, workspace_id) / chat_id
        before = sorted(path.name for path in chat_dir.iterdir())

        too_big = os.urandom(2 * DISK_BYTES)
        refused_upload = upload(http, headers, chat_id, [("big.bin", too_big, None)])
        refused_history = http.put(
            f"/v1/chats/{chat_id}/history", headers=headers, content=b"#" * (2 * DISK_BYTES)
        )

        assert_problem(refused_upload, 507, "insufficient_storage")
        assert_problem(refused_history, 507, "insufficient_storage")
        assert sorted(path.name for path in chat_dir.iterdir()) == before
        assert json_of(http.get(f"/v1/chats/{chat_id}/files", headers=headers))["items"] == []
        assert http.get(f"/v1/chats/{chat_id}/history", headers=headers).content == history
        usage = json_of(http.get("/v1/workspace/usage", headers=headers))
        assert usage["used_bytes"] == len(history)
        assert_no_leftovers(small_disk)

        small = upload(http, headers, chat_id, [("small.txt", b"fits", "text/plain")])
        assert small.status_code == 201, small.text
        assert http.get("/readyz").status_code == 200
