"""The command line of `chatstore-admin`: its subcommands, the settings and adapters they
run on, and the exit statuses (ADR 0026).

A subcommand is a `Subcommand` in its own module (its arguments and one coroutine that
runs it on an `Admin`), listed in SUBCOMMANDS. Exit statuses: 0 when the data is
consistent at the end, 1 when differences are left, 2 on an error (bad arguments or
settings, a store or disk that cannot be reached), said in one line on stderr.
"""

import argparse
import asyncio
import sys
from collections.abc import Sequence
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import TextIO

from api.admin.check import CHECK
from api.admin.command import ERROR, PROGRAM, Admin, AdminError, Subcommand
from api.admin.erase import ERASE
from api.admin.export import EXPORT
from api.admin.progress import progress_on
from api.app import build_adapters
from api.settings import Settings, SettingsError, load_settings
from domain.errors import DomainError

# Every subcommand, in the order `--help` lists them.
SUBCOMMANDS: tuple[Subcommand, ...] = (CHECK, EXPORT, ERASE)


def main(
    argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run the command `argv` names (the process's arguments when None); its exit status."""
    out, err = out or sys.stdout, err or sys.stderr
    parser = _parser()
    try:
        with redirect_stdout(out), redirect_stderr(err):  # argparse's help and refusals
            args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help (0), or arguments argparse refused (2, said)
        return exit_.code if isinstance(exit_.code, int) else ERROR
    try:
        settings = load_settings()
        return asyncio.run(_run(args.subcommand, args, settings, out, err))
    except (AdminError, SettingsError, DomainError) as error:
        print(f"{PROGRAM}: {error}", file=err, flush=True)
        return ERROR


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="Operate on a chatstore data directory and metadata store, with the"
        " settings (CHATSTORE_* variables) its servers run on.",
    )
    commands = parser.add_subparsers(title="subcommands", required=True, metavar="SUBCOMMAND")
    for subcommand in SUBCOMMANDS:
        configured = commands.add_parser(
            subcommand.name, help=subcommand.help, description=subcommand.help
        )
        subcommand.configure(configured)
        configured.set_defaults(subcommand=subcommand)
    return parser


async def _run(
    subcommand: Subcommand, args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO
) -> int:
    _refuse_unshared_settings(settings)
    adapters = build_adapters(settings)
    await adapters.metadata.open()
    try:
        admin = Admin(settings, adapters, adapters.use_cases(), out, err, progress_on(err))
        return await subcommand.run(admin, args)
    finally:
        await adapters.metadata.close()


def _refuse_unshared_settings(settings: Settings) -> None:
    """Settings that cannot name the servers' data: a data directory that is not there,
    a SQLite file that is not there (opening would make a new, empty one), or an in-memory
    store (it lives inside each server process)."""
    if not settings.data_dir.is_dir():
        raise AdminError(f"CHATSTORE_DATA_DIR {settings.data_dir} is not a directory")
    url = settings.metadata_store_url
    if url.startswith("memory://"):
        raise AdminError(
            "CHATSTORE_METADATA_URL memory:// keeps the records inside each server process;"
            " there is no store to check"
        )
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if not Path(path).is_file():
            raise AdminError(f"CHATSTORE_METADATA_URL names no SQLite file: {path} is missing")
