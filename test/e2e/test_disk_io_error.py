"""A real I/O error: the data directory on a small ext4 image the test mounts (as root) and
then shuts down mid-upload with the kernel's EXT4_IOC_SHUTDOWN, after which every read and
write on it fails with EIO, as on a dying disk. Writes answer 503 `storage_unavailable`;
records and usage stay as they were and the service keeps answering. Once the disk is back
(unmounted and mounted again) and the service restarted, nothing partial is left."""

import fcntl
import os
import shutil
import struct
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from test.disk import regular_bytes_under
from test.e2e.client import (
    BOUNDARY,
    assert_no_leftovers,
    assert_problem,
    chats_dir,
    client,
    json_of,
    new_user_with_chat,
    sha256,
    upload,
)
from test.e2e.server import running_server

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024
IMAGE_BYTES = 64 * MIB
# _IOR('X', 125, __u32): what xfs_io's `shutdown` sends; ext4 takes it since Linux 4.10.
EXT4_IOC_SHUTDOWN = 0x8004587D
# Stop at once, without flushing the journal: like a disk that stops answering.
SHUTDOWN_NOLOGFLUSH = 2


class Disk:
    """An ext4 image mounted through a loop device."""

    def __init__(self, image: Path, mount_point: Path) -> None:
        self.image = image
        self.path = mount_point

    def mount(self) -> None:
        run("mount", "-o", "loop", str(self.image), str(self.path))

    def unmount(self) -> None:
        run("umount", str(self.path))

    def fail(self) -> None:
        """From now on every operation on the filesystem answers EIO."""
        fd = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.ioctl(fd, EXT4_IOC_SHUTDOWN, struct.pack("I", SHUTDOWN_NOLOGFLUSH))
        finally:
            os.close(fd)


def run(*command: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {done.stderr.strip()}")


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Disk]:
    if os.geteuid() != 0:
        pytest.skip("mounting a loop device needs root")
    mkfs = shutil.which("mkfs.ext4") or "/sbin/mkfs.ext4"
    image = tmp_path / "disk.img"
    with image.open("wb") as sparse:
        sparse.truncate(IMAGE_BYTES)
    made = subprocess.run([mkfs, "-q", str(image)], capture_output=True, text=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"cannot make an ext4 image here: {made.stderr.strip()}")
    disk = Disk(image, tmp_path / "disk")
    disk.path.mkdir()
    try:
        disk.mount()
    except RuntimeError as error:
        pytest.skip(f"cannot mount a loop device here: {error}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "--lazy", str(disk.path)], check=False)


def slow_multipart(name: str, content: bytes, on_half: threading.Event) -> Iterator[bytes]:
    """A one-part multipart body sent in 256 KiB pieces; `on_half` is set half-way."""
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n\r\n'
    ).encode()
    piece = 256 * 1024
    for offset in range(0, len(content), piece):
        if offset >= len(content) // 2:
            on_half.set()
        yield content[offset : offset + piece]
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def test_io_errors_answer_503_change_nothing_and_the_service_keeps_serving(
    disk: Disk, tmp_path: Path
) -> None:
    metadata = f"sqlite:///{tmp_path / 'metadata.db'}"
    kept_file = b"kept attachment"
    kept_history = b"# kept history\n"
    with running_server(disk.path, metadata_url=metadata) as server, client(server) as http:
        headers, workspace_id, chat_id = new_user_with_chat(http)
        history_url = f"/v1/chats/{chat_id}/history"
        assert http.put(history_url, headers=headers, content=kept_history).status_code == 204
        kept = json_of(upload(http, headers, chat_id, [("kept.txt", kept_file, None)]), 201)
        usage_before = json_of(http.get("/v1/workspace/usage", headers=headers))

        half_sent = threading.Event()

        def fail_half_way() -> None:
            if half_sent.wait(timeout=30):
                disk.fail()

        failer = threading.Thread(target=fail_half_way)
        failer.start()
        failed_upload = http.post(
            f"/v1/chats/{chat_id}/files",
            headers={**headers, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
            content=slow_multipart("big.bin", os.urandom(16 * MIB), half_sent),
        )
        failer.join()
        failed_history = http.put(history_url, headers=headers, content=b"# never stored\n")

        assert_problem(failed_upload, 503, "storage_unavailable")
        assert_problem(failed_history, 503, "storage_unavailable")
        # Records and usage live in the metadata store, which still answers.
        files = json_of(http.get(f"/v1/chats/{chat_id}/files", headers=headers))
        assert files["items"] == kept["items"]
        assert json_of(http.get("/v1/workspace/usage", headers=headers)) == usage_before
        unready = http.get("/readyz")
        assert unready.status_code == 503
        assert http.get("/healthz").status_code == 200

    disk.unmount()
    disk.mount()
    with running_server(disk.path, metadata_url=metadata) as server, client(server) as http:
        files = json_of(http.get(f"/v1/chats/{chat_id}/files", headers=headers))
        assert files["items"] == kept["items"]
        assert http.get(history_url, headers=headers).content == kept_history
        chat_dir = chats_dir(disk.path, workspace_id) / chat_id
        assert sorted(path.name for path in chat_dir.iterdir()) == ["history.md", "kept.txt"]
        assert sha256((chat_dir / "kept.txt").read_bytes()) == sha256(kept_file)
        usage = json_of(http.get("/v1/workspace/usage", headers=headers))
        assert usage == usage_before
        assert usage["used_bytes"] == regular_bytes_under(chats_dir(disk.path, workspace_id))
        assert_no_leftovers(disk.path)
        assert http.get("/readyz").status_code == 200
        again = upload(http, headers, chat_id, [("again.txt", b"works again", None)])
        assert again.status_code == 201, again.text
