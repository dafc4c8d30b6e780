"""Export archives read back the way a client would: with zipfile, every member's CRC
checked, the manifest parsed and held against the members it names."""

import hashlib
import io
import json
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path
from typing import Any
from uuid import UUID

Json = dict[str, Any]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def assert_unzip_accepts(data: bytes | Path) -> None:
    """Info-ZIP's `unzip -t` finds the archive whole, every CRC right, when the machine has
    it (zipfile's own check runs whatever the machine has)."""
    unzip = shutil.which("unzip")
    if unzip is None:
        return
    with tempfile.TemporaryDirectory() as scratch:
        path = data if isinstance(data, Path) else Path(scratch) / "export.zip"
        if isinstance(data, bytes):
            path.write_bytes(data)
        tested = subprocess.run([unzip, "-tq", str(path)], capture_output=True, check=False)
    assert tested.returncode == 0, tested.stdout + tested.stderr


class Archive:
    """An export read back with zipfile, every member's CRC checked, and (unless told
    otherwise) with `unzip -t`."""

    def __init__(self, data: bytes | Path, *, unzip_test: bool = True) -> None:
        if unzip_test:
            assert_unzip_accepts(data)
        self.zip = zipfile.ZipFile(io.BytesIO(data) if isinstance(data, bytes) else data)
        assert self.zip.testzip() is None
        self.names = self.zip.namelist()
        self.manifest: Json = json.loads(self.zip.read("manifest.json"))

    def chat(self, chat_id: UUID | str) -> Json:
        chats: list[Json] = self.manifest["chats"]
        (entry,) = [item for item in chats if item["chat"]["chat_id"] == str(chat_id)]
        return entry

    def history(self, chat_id: UUID | str) -> bytes:
        return self.zip.read(f"chats/{chat_id}/history.md")

    def file(self, chat_id: UUID | str, name: str) -> bytes:
        return self.zip.read(f"chats/{chat_id}/files/{name}")

    def assert_agrees(self) -> None:
        """Every size and sha256 in the manifest is that of the member it names, and the
        archive holds nothing the manifest does not name."""
        named = {"manifest.json"}
        for entry in self.manifest["chats"]:
            chat_id = entry["chat"]["chat_id"]
            history = self.history(chat_id)
            assert entry["history"] == {"size_bytes": len(history), "sha256": sha256(history)}
            named.add(f"chats/{chat_id}/history.md")
            for record in entry["files"]:
                data = self.file(chat_id, record["name"])
                assert (record["size_bytes"], record["sha256"]) == (len(data), sha256(data))
                named.add(f"chats/{chat_id}/files/{record['name']}")
        assert set(self.names) == named
        assert self.names[-1] == "manifest.json"
