"""What the `pause_in_*` servers share: stopping a request for good at a chosen instant,
and serving `python -m api` on a storage of their own."""

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

from fastapi import FastAPI

import api.__main__ as serve
from adapter.fs.chat_storage import FilesystemChatStorage
from api.app import create_app
from api.settings import Settings, load_settings

PAUSED = "paused"


async def pause_for_good(control: Path, note: str) -> None:
    """Write `note` to CONTROL/paused, then wait until the test kills the process (the
    server goes on answering other requests)."""
    # Renamed into place, so that the test never reads it half-written.
    writing = control / f"{PAUSED}.writing"
    writing.write_text(note)
    writing.replace(control / PAUSED)
    await asyncio.Event().wait()


def serve_with_storage(make_storage: Callable[[Path], FilesystemChatStorage]) -> None:
    """`python -m api` as it is, but for the storage its composition root is handed:
    `make_storage(data_dir)`."""
    serve_with(lambda data_dir: {"storage": make_storage(data_dir)})


def serve_with(make_adapters: Callable[[Path], dict[str, Any]]) -> None:
    """`python -m api` as it is, but for the adapters its composition root is handed:
    `make_adapters(data_dir)`, by `create_app`'s keyword."""

    def with_adapters(settings: Settings | None = None) -> FastAPI:
        settings = settings or load_settings()
        return create_app(settings, **make_adapters(settings.data_dir))

    sys.argv[1:] = []
    with mock.patch.object(serve, "create_app", with_adapters):
        sys.exit(serve.main())
