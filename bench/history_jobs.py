"""History jobs, chatstore only: G1, a GET of a large history beside a download of the same
bytes as an attachment (D1's path), both by curl on the client's core."""

import hashlib
import time
from typing import Any

import httpx

from bench.clients import curl
from bench.jobs import Context, median, rounds

MIB = 1024 * 1024
# Markdown a chat could hold: ASCII, so it is UTF-8, in lines like turns.
_TURN = b"**assistant**: " + b"lorem ipsum dolor sit amet " * 36 + b"\n\n"


def history_bytes(size: int) -> bytes:
    return (_TURN * (size // len(_TURN) + 1))[:size]


def g1(ctx: Context, *, size_mib: int, runs: int, budget_s: float) -> dict[str, Any]:
    """GET of a `size_mib` MiB history, MB/s, and the same bytes downloaded as an attachment,
    in alternating rounds after one warm-up each; every body is checked by sha256."""
    peer = ctx.chatstore
    data = history_bytes(size_mib * MIB)
    digest = hashlib.sha256(data).hexdigest()
    with httpx.Client(base_url=peer.chat_url, headers=peer.headers(), timeout=120) as client:
        client.put("/history", content=data).raise_for_status()
        uploaded = client.post("/files", files={"file": ("g1.md", data, "text/markdown")})
        uploaded.raise_for_status()
        file_id = uploaded.json()["items"][0]["file_id"]
    del data
    targets = {
        "history": f"{peer.chat_url}/history",
        "attachment": f"{peer.chat_url}/files/{file_id}/content",
    }
    mbps: dict[str, list[float]] = {kind: [] for kind in targets}
    headers = [arg for key, value in peer.headers().items() for arg in ("-H", f"{key}: {value}")]
    time.sleep(1.1)  # the history was written a moment ago: see ADR 0020's one second
    for number in rounds(runs + 1, budget_s):
        for kind, url in targets.items():
            out = ctx.downloads / f"g1-{kind}.md"
            transfer = curl(ctx.client_core, peer.server, [*headers, url], out=out, timeout=120)
            served = hashlib.sha256(out.read_bytes()).hexdigest()
            out.unlink()
            if served != digest:
                raise RuntimeError(f"G1: the {kind} served other bytes than were written")
            if number > 0:  # round 0 warms up
                mbps[kind].append(transfer.mb_per_s(size_mib * MIB))
        ctx.log(
            f"  G1 round {number}: "
            + ", ".join(f"{kind} {values[-1]:.0f} MB/s" for kind, values in mbps.items() if values)
        )
    history, attachment = median(mbps["history"]), median(mbps["attachment"])
    return {
        "size_mib": size_mib,
        "history_mbps": history,
        "attachment_mbps": attachment,
        "ratio": history / attachment,
        "runs": mbps,
    }
