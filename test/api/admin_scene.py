"""A data directory and SQLite store written by the use cases a server runs, for the admin
command's tests, and the command run in process."""

import asyncio
import io
import os
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from api.admin.cli import main
from api.app import build_adapters
from api.settings import Settings
from domain.chat import Chat
from domain.chat_file import ChatFile
from test.usecase.service import Part, chunks_of, parts

ADMIN = (sys.executable, "-m", "api.admin")


@dataclass(frozen=True, slots=True)
class Scene:
    """A workspace with two chats, the first with a run of revisions kept apart and two
    attachments."""

    data_dir: Path
    workspace_id: UUID
    chat: Chat
    other: Chat
    files: dict[str, ChatFile]

    def chat_dir(self, chat: Chat | None = None) -> Path:
        chat = chat or self.chat
        return self.data_dir / "workspaces" / str(chat.workspace_id) / "chats" / str(chat.chat_id)

    def sql(self, statement: str, *params: object) -> None:
        with sqlite3.connect(self.data_dir / "metadata.db") as db:
            db.execute(statement, params)

    def rows(self) -> list[object]:
        with sqlite3.connect(self.data_dir / "metadata.db") as db:
            tables = [
                row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            ]
            return [
                (table, sorted(db.execute(f"SELECT * FROM {table}").fetchall()))
                for table in sorted(tables)
            ]


@dataclass(frozen=True, slots=True)
class Ran:
    status: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()


def admin(*argv: str) -> Ran:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), out=out, err=err)
    return Ran(status, out.getvalue(), err.getvalue())


async def _written(settings: Settings) -> Scene:
    adapters = build_adapters(settings)
    await adapters.metadata.open()
    await adapters.storage.prepare()
    run = adapters.use_cases()
    try:
        user = uuid4()
        workspace, _ = await run.ensure_workspace(user)
        chat = await run.create_chat(user)
        await run.put_history(user, chat.chat_id, chunks_of(b"# one\n"), None)
        await run.append_history(user, chat.chat_id, chunks_of(b"more\n"), None)
        await run.put_history(user, chat.chat_id, chunks_of(b"# two\n"), None)
        stored = await run.upload_files(
            user, chat.chat_id, parts(Part("a.txt", b"a" * 100), Part("b.bin", b"b" * 300))
        )
        other = await run.create_chat(user)
        await run.append_history(user, other.chat_id, chunks_of(b"# other\n"), None)
    finally:
        await adapters.metadata.close()
    files = {file.name.value: file for file in stored}
    return Scene(settings.data_dir, workspace.workspace_id, chat, other, files)


def written_scene(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Scene:
    """The scene, written in `data_dir` with the default settings, which the environment
    then names for the admin command (and nothing else of it)."""
    for name in list(os.environ):
        if name.startswith("CHATSTORE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CHATSTORE_DATA_DIR", str(data_dir))
    return asyncio.run(_written(Settings(data_dir=data_dir)))
