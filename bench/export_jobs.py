"""E1, chatstore only: `GET /v1/workspace/export` of a workspace of 1 GiB (one chat: a large
attachment, 1,000 small ones and a history) beside `zip -0 -r` of the same chat directory.

The workspace is made as a sandbox would make it: its files written into the chat
directory, then `POST .../files/rescan`. Both sides write their archive to a file in the
bench's work directory, on the same disk as the chat's files: curl on the client core for
chatstore (the server streams it over loopback), zip on the server core, where chatstore
runs (zip reads, checksums and writes in one process). The chat's files are in the page
cache for both (the rescan has just read them), and `sync` runs before every run, so
neither pays for the other's writeback. MB/s count the chat's file bytes (not the archive's
headers). The same runs into /dev/null show each side without the archive's write. Server
RSS growth is VmHWM during the export less VmRSS before it (peak reset through clear_refs).
"""

import hashlib
import os
import subprocess
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

import httpx

from bench.clients import curl
from bench.jobs import Context, median, rounds
from bench.payloads import write_random
from bench.procs import cores, pinned

KIB = 1024
MIB = 1024 * KIB
SMALL_FILES = 1_000
SMALL_BYTES = 16 * KIB
HISTORY_BYTES = 64 * KIB
_TIMEOUT_S = 600


def _seed(ctx: Context, total_bytes: int) -> tuple[dict[str, str], Path, int, str]:
    """A new user whose workspace holds one chat of `total_bytes`: its headers, the chat
    directory, the bytes of its files and the large attachment's sha256."""
    peer = ctx.chatstore
    headers = {"X-User-Id": str(uuid.uuid4())}
    with httpx.Client(base_url=peer.server.base_url, headers=headers, timeout=_TIMEOUT_S) as http:
        workspace_id = http.put("/v1/workspace").raise_for_status().json()["workspace_id"]
        chat_id = http.post("/v1/chats").raise_for_status().json()["chat_id"]
        history = (b"**user**: lorem ipsum dolor sit amet\n" * (HISTORY_BYTES // 38 + 1))[
            :HISTORY_BYTES
        ]
        http.put(f"/v1/chats/{chat_id}/history", content=history).raise_for_status()
        directory = peer.root / "workspaces" / workspace_id / "chats" / chat_id
        for number in range(SMALL_FILES):
            (directory / f"small-{number:04}.bin").write_bytes(os.urandom(SMALL_BYTES))
        big_bytes = total_bytes - SMALL_FILES * SMALL_BYTES - HISTORY_BYTES
        big_sha256 = write_random(directory / "large.bin", big_bytes)
        records = http.post(f"/v1/chats/{chat_id}/files/rescan").raise_for_status().json()
    if len(records["items"]) != SMALL_FILES + 1:
        raise RuntimeError(f"E1: the rescan recorded {len(records['items'])} files")
    size = sum(path.stat().st_size for path in directory.iterdir())
    return headers, directory, size, big_sha256


def _check_archive(path: Path, who: str, members: int, big_sha256: str) -> None:
    """The archive holds every file of the chat, the large one intact (CRC checked)."""
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        if len(names) != members:
            raise RuntimeError(f"E1: {who}'s archive has {len(names)} members, not {members}")
        (large,) = [name for name in names if name.endswith("large.bin")]
        digest = hashlib.sha256()
        with archive.open(large) as member:  # reading it whole checks its CRC-32
            while chunk := member.read(8 * MIB):
                digest.update(chunk)
    if digest.hexdigest() != big_sha256:
        raise RuntimeError(f"E1: {who}'s archive holds other bytes than the large file")


def _zip(core: int, directory: Path, out: Path | None) -> float:
    """Seconds `zip -0 -r` of the chat directory takes, into `out` or, when None, to
    stdout into /dev/null."""
    target = str(out) if out is not None else "-"
    argv = pinned(core, ["zip", "-q", "-0", "-r", target, directory.name])
    with Path(os.devnull).open("wb") as null:
        started = time.perf_counter()
        subprocess.run(argv, cwd=directory.parent, stdout=null, check=True, timeout=_TIMEOUT_S)
        return time.perf_counter() - started


def e1(
    ctx: Context, *, total_mib: int, runs: int, null_runs: int, budget_s: float
) -> dict[str, Any]:
    """Round 0 warms both up and checks both archives; then `runs` timed rounds into a
    file, chatstore then zip, and `null_runs` into /dev/null."""
    peer = ctx.chatstore
    server_core, _ = cores()
    ctx.log(f"  E1: writing {SMALL_FILES:,} small files and a large one, then a rescan")
    headers, directory, size, big_sha256 = _seed(ctx, total_mib * MIB)
    curl_args = [arg for key, value in headers.items() for arg in ("-H", f"{key}: {value}")]
    url = f"{peer.server.base_url}/v1/workspace/export"
    archives = {"chatstore": ctx.work / "e1-chatstore.zip", "zip": ctx.work / "e1-zip.zip"}
    members = {"chatstore": SMALL_FILES + 3, "zip": SMALL_FILES + 3}  # + history, dir/manifest
    mbps: dict[str, list[float]] = {"chatstore": [], "zip": []}
    null_mbps: dict[str, list[float]] = {"chatstore": [], "zip": []}
    rss_growth_kib: list[int] = []

    def export(out: Path) -> float:
        before = peer.server.reset_peak_rss()
        transfer = curl(ctx.client_core, peer.server, [*curl_args, url], out=out, timeout=600)
        rss_growth_kib.append(peer.server.status_kib("VmHWM") - before)
        return transfer.seconds

    for number in rounds(runs + 1, budget_s):
        for who in ("chatstore", "zip"):
            archives[who].unlink(missing_ok=True)
            os.sync()
            if who == "chatstore":
                seconds = export(archives[who])
            else:
                seconds = _zip(server_core, directory, archives[who])
            if number == 0:
                _check_archive(archives[who], who, members[who], big_sha256)
            else:
                mbps[who].append(size / seconds / 1e6)
            archives[who].unlink()
        if number:
            ctx.log(
                f"  E1 round {number}: chatstore {mbps['chatstore'][-1]:.0f} MB/s, "
                f"zip -0 -r {mbps['zip'][-1]:.0f} MB/s"
            )
    for _ in rounds(null_runs, budget_s / 4):
        null_mbps["chatstore"].append(size / export(Path(os.devnull)) / 1e6)
        null_mbps["zip"].append(size / _zip(server_core, directory, None) / 1e6)
    chatstore, zipped = median(mbps["chatstore"]), median(mbps["zip"])
    return {
        "size_bytes": size,
        "files": SMALL_FILES + 2,
        "chatstore_mbps": chatstore,
        "zip_mbps": zipped,
        "ratio": chatstore / zipped,
        "chatstore_null_mbps": median(null_mbps["chatstore"]),
        "zip_null_mbps": median(null_mbps["zip"]),
        "rss_growth_mib": max(rss_growth_kib) / KIB,
        "runs": {"file": mbps, "null": null_mbps},
    }
