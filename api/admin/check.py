"""`chatstore-admin check [--workspace WORKSPACE_ID] [--repair]`: compare the records, the
usage ledger and the data directory, one line on stdout per difference; with `--repair`,
settle what differs and check again (ADR 0026)."""

import argparse

from api.admin.command import (
    CONSISTENT,
    DIFFERENCES,
    Admin,
    AdminError,
    Subcommand,
    workspace_id_argument,
)


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workspace",
        type=workspace_id_argument,
        metavar="WORKSPACE_ID",
        help="check only this workspace (staging/ and trash/ are then not looked at)",
    )
    parser.add_argument(
        "--repair",
        action="store_true",
        help="settle each differing chat as start-up does, under its lock (safe while"
        " servers run), then check again and print what remains",
    )


async def _check(admin: Admin, args: argparse.Namespace) -> int:
    found = await admin.use_cases.check_consistency(args.workspace, admin.progress)
    for difference in found.differences:
        print(difference, file=admin.out, flush=True)
    checked = f"checked {_count(found.workspaces, 'workspace')}, {_count(found.chats, 'chat')}"
    if found.consistent:
        admin.say(f"{checked}: consistent")
        return CONSISTENT
    admin.say(f"{checked}: {_count(len(found.differences), 'difference')}")
    if not args.repair:
        return DIFFERENCES
    await _refuse_a_store_that_knows_nothing(admin)
    remaining = await admin.use_cases.repair_consistency(found, args.workspace, admin.progress)
    for difference in remaining.differences:
        print(f"remains: {difference}", file=admin.out, flush=True)
    if remaining.consistent:
        admin.say("repaired; checked again: consistent")
        return CONSISTENT
    admin.say(f"repaired; checked again: {_count(len(remaining.differences), 'difference')} left")
    return DIFFERENCES


async def _refuse_a_store_that_knows_nothing(admin: Admin) -> None:
    """A store that knows no workspace beside a data directory that holds some is the
    wrong store (a mistyped CHATSTORE_METADATA_URL): repairing would delete every chat."""
    if await admin.adapters.metadata.census.workspace_ids():
        return
    on_disk = await admin.adapters.disk.workspace_ids()
    if on_disk:
        raise AdminError(
            f"the metadata store knows no workspace, the data directory holds"
            f" {_count(len(on_disk), 'workspace')}: is CHATSTORE_METADATA_URL the store the"
            " servers use? Nothing was repaired"
        )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


CHECK = Subcommand(
    name="check",
    help="compare records, usage and history revisions with the disk, chat by chat",
    configure=_configure,
    run=_check,
)
