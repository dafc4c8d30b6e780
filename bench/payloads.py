"""Random payload files, made once per run, and the 4 KiB history bodies."""

import base64
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

MIB = 1024 * 1024
HISTORY_BYTES = 4096


@dataclass(frozen=True)
class Payload:
    path: Path
    size: int
    sha256: str

    @property
    def name(self) -> str:
        return self.path.name

    def jupyter_json(self) -> Path:
        """The Jupyter contents-API PUT body for this file (base64 in JSON), made once."""
        target = self.path.with_suffix(".json")
        if not target.exists():
            with target.open("wb") as out:
                out.write(b'{"type": "file", "format": "base64", "content": "')
                with self.path.open("rb") as source:
                    # A multiple of 3 bytes per chunk, so the pieces join into one base64 text.
                    while chunk := source.read(3 * MIB):
                        out.write(base64.b64encode(chunk))
                out.write(b'"}')
        return target


def make_payload(directory: Path, size: int) -> Payload:
    path = (
        directory
        / f"payload-{size // MIB if size >= MIB else size}{'m' if size >= MIB else 'b'}.bin"
    )
    return Payload(path, size, write_random(path, size))


def write_random(path: Path, size: int) -> str:
    """Write `size` random bytes to `path`; returns their sha256."""
    digest = hashlib.sha256()
    with path.open("wb") as out:
        remaining = size
        while remaining:
            chunk = os.urandom(min(remaining, 8 * MIB))
            out.write(chunk)
            digest.update(chunk)
            remaining -= len(chunk)
    return digest.hexdigest()


def history_text(tag: str, number: int | None = None) -> str:
    """A 4 KiB UTF-8 Markdown history; with `number=None`, a `%010d` slot for wrk's counter."""
    head = f"# bench history {tag}\n\nwrite {'%010d' if number is None else f'{number:010d}'}\n"
    # `%010d` is 5 characters that format to 10.
    filler = HISTORY_BYTES - len(head) - 1 - (5 if number is None else 0)
    return head + ("lorem ipsum " * (filler // 12 + 1))[:filler] + "\n"


def history_pattern(tag: str) -> re.Pattern[bytes]:
    """Matches exactly the bodies `history_text(tag, n)` for any n; group 1 is n."""
    template = history_text(tag)
    before, after = template.split("%010d")
    return re.compile(re.escape(before.encode()) + rb"(\d{10})" + re.escape(after.encode()))


def jupyter_text_model(text: str) -> str:
    return json.dumps({"type": "file", "format": "text", "content": text})
