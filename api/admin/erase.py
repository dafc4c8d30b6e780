"""`chatstore-admin erase WORKSPACE_ID`: erase a workspace as `DELETE /v1/workspace` does,
through the same use case (ADR 0024): refused while a sandbox session is active on any of
its chats, nothing removed then."""

import argparse

from api.admin.command import (
    CONSISTENT,
    Admin,
    AdminError,
    Subcommand,
    workspace_id_argument,
    workspace_named,
)
from domain.errors import ChatHasActiveSandboxError


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "workspace_id", type=workspace_id_argument, metavar="WORKSPACE_ID", help="the workspace"
    )


async def _erase(admin: Admin, args: argparse.Namespace) -> int:
    workspace = await workspace_named(admin, args.workspace_id)
    try:
        await admin.use_cases.erase_workspace(workspace.user_id)
    except ChatHasActiveSandboxError as error:
        raise AdminError(f"{error.detail}; nothing was erased") from error
    admin.say(f"erased workspace {workspace.workspace_id} of user {workspace.user_id}")
    return CONSISTENT


ERASE = Subcommand(
    name="erase",
    help="erase a workspace and every byte and record of it, as DELETE /v1/workspace does",
    configure=_configure,
    run=_erase,
)
