"""`chatstore-admin export WORKSPACE_ID FILE`: write a workspace's export archive to a file,
through the use case `GET /v1/workspace/export` runs (ADR 0023): the same archive, each chat
in one consistent state, safe while servers serve the workspace."""

import argparse
import asyncio
from pathlib import Path
from typing import BinaryIO
from uuid import UUID

from adapter.fs.fsync import fsync
from api.admin.command import (
    CONSISTENT,
    Admin,
    Subcommand,
    workspace_id_argument,
    workspace_named,
)

_KIB = 1024


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "workspace_id", type=workspace_id_argument, metavar="WORKSPACE_ID", help="the workspace"
    )
    parser.add_argument(
        "file",
        type=_archive_path,
        metavar="FILE",
        help="where the ZIP archive goes; written beside it first, then renamed into place"
        " once whole, so FILE is never half an archive",
    )


def _archive_path(text: str) -> Path:
    target = Path(text)
    if target.is_dir():
        raise argparse.ArgumentTypeError(f"{target} is a directory; name the archive file")
    if not target.parent.is_dir():
        raise argparse.ArgumentTypeError(f"{target.parent} is not a directory")
    return target


async def _export(admin: Admin, args: argparse.Namespace) -> int:
    target: Path = args.file
    workspace = await workspace_named(admin, args.workspace_id)
    usage = await admin.use_cases.get_workspace_usage(workspace.user_id)
    partial = target.with_name(f".{target.name}.partial")
    try:
        written = await _write(admin, workspace.user_id, partial, usage.used_bytes)
        await asyncio.to_thread(partial.replace, target)
    except BaseException:
        await asyncio.to_thread(partial.unlink, missing_ok=True)
        raise
    admin.say(f"exported workspace {workspace.workspace_id} to {target} ({written} bytes)")
    return CONSISTENT


async def _write(admin: Admin, user_id: UUID, partial: Path, expected_bytes: int) -> int:
    """The export streamed into `partial`, fsynced; the bytes written. The bar counts KiB
    of the workspace's files (the archive is a little more: its headers and manifest)."""
    export = await admin.use_cases.export_workspace(user_id)
    written = 0
    admin.progress.begin("exporting (KiB)", max(1, expected_bytes // _KIB))
    try:
        out = await asyncio.to_thread(partial.open, "wb")  # over one a killed run left
        try:
            async for chunk in export.chunks:
                await asyncio.to_thread(out.write, chunk)
                shown = written // _KIB
                written += len(chunk)
                admin.progress.advance(written // _KIB - shown)
            await asyncio.to_thread(_durable, out)
        finally:
            await asyncio.to_thread(out.close)
    finally:
        admin.progress.end()
        await export.aclose()
    return written


def _durable(out: BinaryIO) -> None:
    out.flush()
    fsync(out.fileno())


EXPORT = Subcommand(
    name="export",
    help="write a workspace as the ZIP archive GET /v1/workspace/export answers",
    configure=_configure,
    run=_export,
)
