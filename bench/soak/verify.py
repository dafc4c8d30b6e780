"""The checks the soak runs after every restart and at the end, with every worker parked:
each chat against its ledger (listed, downloaded, hashed), each workspace's usage against
the disk, the admin command's consistency check, and nothing staged or in the trash."""

import asyncio
import hashlib
import os
import stat
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx

from bench.servers import REPO
from bench.soak.ledger import ChatLedger, SeenChat, SeenFile, settle
from bench.soak.traffic import User, Violations

PARALLEL = 8  # chats looked at at once


class ChatOwner(Protocol):
    """Whoever holds chats' ledgers: a soak worker (bench/soak/traffic.py)."""

    user: User
    chats: list[ChatLedger]


@dataclass(frozen=True)
class CheckSummary:
    chats: int
    files: int
    bytes_read: int
    seconds: float


def staged_files(data_dir: Path) -> list[str]:
    """Every file in any process's staging area (`staging/<area>/`)."""
    staging = data_dir / "staging"
    if not staging.is_dir():
        return []
    return sorted(
        f"{area.name}/{entry.name}"
        for area in staging.iterdir()
        if area.is_dir() and not area.is_symlink()
        for entry in area.iterdir()
    )


def trashed(data_dir: Path) -> list[str]:
    trash = data_dir / "trash"
    return sorted(entry.name for entry in trash.iterdir()) if trash.is_dir() else []


def disk_usage(data_dir: Path, workspace_id: str) -> int:
    """The logical size of every regular file in the workspace's chat directories, links
    never followed: what `used_bytes` must equal."""
    total = 0
    chats = data_dir / "workspaces" / workspace_id / "chats"
    for root, _dirs, names in os.walk(chats, followlinks=False):
        for name in names:
            status = (Path(root) / name).lstat()
            if stat.S_ISREG(status.st_mode):
                total += status.st_size
    return total


def check_stopped(data_dir: Path, violations: Violations, when: str) -> None:
    """What must hold of the data directory once a server has stopped gracefully."""
    if staged := staged_files(data_dir):
        violations.add(f"{when}: staging holds {len(staged)} files: {staged[:5]}")
    if trash := trashed(data_dir):
        violations.add(f"{when}: trash holds {trash[:5]}")


async def admin_check(
    env: dict[str, str], workspace_ids: Sequence[str] | None, violations: Violations, when: str
) -> None:
    """`python -m api.admin check` in the environment `env` (the server's settings), one
    run per workspace when `workspace_ids` is given (a shared PostgreSQL store holds other
    data too); exit status 0 means consistent."""
    runs: list[list[str]] = (
        [[]] if workspace_ids is None else [["--workspace", ws] for ws in workspace_ids]
    )
    for extra in runs:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "api.admin",
            "check",
            *extra,
            env=env,
            cwd=REPO,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        if process.returncode != 0:
            violations.add(
                f"{when}: `python -m api.admin check {' '.join(extra)}` exited"
                f" {process.returncode}:\n{out.decode()[-3000:]}{err.decode()[-1000:]}"
            )


async def _download_sha256(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> str:
    digest = hashlib.sha256()
    async with client.stream("GET", url, headers=headers) as answer:
        if answer.status_code != 200:
            return f"<GET answered {answer.status_code}>"
        async for chunk in answer.aiter_bytes():
            digest.update(chunk)
    return digest.hexdigest()


async def observe(client: httpx.AsyncClient, headers: dict[str, str], chat_id: str) -> SeenChat:
    """A chat as the server shows it, every attachment downloaded and hashed."""
    base = f"/v1/chats/{chat_id}"
    found = await client.get(base, headers=headers)
    if found.status_code == 404:
        return SeenChat(exists=False)
    found.raise_for_status()
    history = await client.get(f"{base}/history", headers=headers)
    history.raise_for_status()
    listed = await client.get(f"{base}/files", headers=headers, params={"limit": 1000})
    listed.raise_for_status()
    files = {}
    for item in listed.json()["items"]:
        content = await _download_sha256(client, f"{base}/files/{item['file_id']}/content", headers)
        files[item["name"]] = SeenFile(item["file_id"], item["sha256"], item["size_bytes"], content)
    return SeenChat(True, history.content, history.headers.get("ETag"), files)


async def end_sandboxes(client: httpx.AsyncClient, workers: Sequence[ChatOwner]) -> None:
    """Chats whose sandbox session may still be active (its end was cut) get it ended and
    their files rescanned, as an operator's clean-up after a crash would; the files the
    sandbox wrote are in the ledger, so the check that follows expects their records."""
    for worker in workers:
        for chat in worker.chats:
            if not (chat.sandbox_maybe and chat.live):
                continue
            url = f"/v1/chats/{chat.chat_id}/sandbox-sessions"
            active = await client.get(f"{url}/active", headers=worker.user.headers)
            if active.status_code == 200:
                ended = await client.delete(
                    f"{url}/{active.json()['session_id']}", headers=worker.user.headers
                )
                ended.raise_for_status()
            if active.status_code in (200, 404):
                rescan = await client.post(
                    f"/v1/chats/{chat.chat_id}/files/rescan", headers=worker.user.headers
                )
                if rescan.status_code not in (200, 404):
                    rescan.raise_for_status()


async def _listed_chat_ids(client: httpx.AsyncClient, headers: dict[str, str]) -> set[str]:
    ids: set[str] = set()
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 1000}
        if cursor:
            params["cursor"] = cursor
        page = await client.get("/v1/chats", headers=headers, params=params)
        page.raise_for_status()
        ids |= {item["chat_id"] for item in page.json()["items"]}
        cursor = page.json()["next_cursor"]
        if not cursor:
            return ids


async def check_ledgers(
    client: httpx.AsyncClient,
    workers: Sequence[ChatOwner],
    violations: Violations,
    when: str,
) -> CheckSummary:
    """Every chat of every worker against its ledger; afterwards the ledgers hold what was
    seen, and chats seen deleted are forgotten."""
    started = time.monotonic()
    gate = asyncio.Semaphore(PARALLEL)
    totals = {"chats": 0, "files": 0, "bytes": 0}

    async def one(worker: ChatOwner, chat: ChatLedger) -> None:
        async with gate:
            seen = await observe(client, worker.user.headers, chat.chat_id)
        totals["chats"] += 1
        totals["files"] += len(seen.files)
        totals["bytes"] += len(seen.history) + sum(each.size for each in seen.files.values())
        for violation in settle(chat, seen):
            violations.add(f"{when}: {violation}")

    await asyncio.gather(*(one(worker, chat) for worker in workers for chat in worker.chats))
    users: dict[str, tuple[User, list[ChatLedger]]] = {}
    for worker in workers:
        users.setdefault(worker.user.workspace_id, (worker.user, []))[1].extend(worker.chats)
    for user, chats in users.values():
        listed = await _listed_chat_ids(client, user.headers)
        for chat in chats:
            if chat.live and chat.chat_id not in listed:
                violations.add(f"{when}: chat {chat.chat_id} exists but is not listed")
            if chat.deleted and chat.chat_id in listed:
                violations.add(f"{when}: deleted chat {chat.chat_id} is still listed")
    for worker in workers:
        worker.chats = [chat for chat in worker.chats if chat.live]
    return CheckSummary(
        totals["chats"], totals["files"], totals["bytes"], time.monotonic() - started
    )


async def check_usage(
    client: httpx.AsyncClient,
    users: Sequence[User],
    data_dir: Path,
    violations: Violations,
    when: str,
) -> None:
    for user in users:
        answer = await client.get("/v1/workspace/usage", headers=user.headers)
        answer.raise_for_status()
        recorded = answer.json()["used_bytes"]
        on_disk = disk_usage(data_dir, user.workspace_id)
        if recorded != on_disk:
            violations.add(
                f"{when}: workspace {user.workspace_id} used_bytes {recorded}, disk {on_disk}"
            )
