"""The jobs: U1/D1 and the size sweep (curl), S1/S2 (wrk), Q1/L1 (httpx, chatstore only).

Every job warms up first, then measures in rounds; a round visits every server once, in
turn, so slow drift of the machine touches every server alike. A job stops after its count
of rounds or when its time budget runs out, whichever comes first (at least one round).
"""

import os
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.clients import Transfer, WrkResult, curl, sha256_file, wrk
from bench.payloads import Payload, history_pattern, history_text
from bench.servers import Chatstore, Peer

KIB = 1024


@dataclass
class Context:
    peers: list[Peer]
    client_core: int
    work: Path
    downloads: Path  # on tmpfs, so the client's writes cost no disk
    log: Callable[[str], None]

    @property
    def chatstore(self) -> Chatstore:
        peer = self.peers[0]
        assert isinstance(peer, Chatstore)
        return peer


def rounds(count: int, budget_s: float) -> Iterator[int]:
    """Round numbers 0..count-1, stopping early (after round 0) once `budget_s` is spent."""
    deadline = time.monotonic() + budget_s
    for number in range(count):
        if number and time.monotonic() > deadline:
            return
        yield number


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# U1, D1 and the sweep --------------------------------------------------------------------


@dataclass
class TransferStats:
    upload_mbps: list[float] = field(default_factory=list)
    download_mbps: list[float] = field(default_factory=list)
    rss_growth_kib: list[int] = field(default_factory=list)
    upload_cpu: list[tuple[float, float]] = field(default_factory=list)
    download_cpu: list[tuple[float, float]] = field(default_factory=list)
    client_cpu_up: list[float] = field(default_factory=list)
    client_cpu_down: list[float] = field(default_factory=list)
    null_download_mbps: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "upload_mbps": median(self.upload_mbps),
            "download_mbps": median(self.download_mbps),
            "rss_growth_mib": max(self.rss_growth_kib) / KIB if self.rss_growth_kib else None,
            "upload_server_cpu": _median_pair(self.upload_cpu),
            "download_server_cpu": _median_pair(self.download_cpu),
            "upload_client_cpu": median(self.client_cpu_up),
            "download_client_cpu": median(self.client_cpu_down),
            "null_download_mbps": median(self.null_download_mbps),
            "runs": {"upload": self.upload_mbps, "download": self.download_mbps},
        }


def _median_pair(pairs: list[tuple[float, float]]) -> dict[str, float]:
    return {
        "user": median([user for user, _ in pairs]),
        "sys": median([system for _, system in pairs]),
    }


def _timeout(payload: Payload) -> float:
    # Even 20 MB/s finishes within this; a hung transfer fails the run instead of the bench.
    return 60 + payload.size / 20e6


def upload_once(ctx: Context, peer: Peer, payload: Payload, stats: TransferStats | None) -> None:
    name = f"up-{payload.name}"
    answer = ctx.work / f"answer-{peer.key}.json"
    before = peer.server.reset_peak_rss()
    transfer = curl(
        ctx.client_core,
        peer.server,
        peer.upload_args(payload, name),
        out=answer,
        timeout=_timeout(payload),
    )
    growth = peer.server.status_kib("VmHWM") - before
    peer.check_upload(payload, name, transfer.body)
    if stats is not None:
        stats.upload_mbps.append(transfer.mb_per_s(payload.size))
        stats.rss_growth_kib.append(growth)
        stats.upload_cpu.append((transfer.server_user, transfer.server_sys))
        stats.client_cpu_up.append(transfer.client_cpu_seconds / transfer.seconds)


def download_once(ctx: Context, peer: Peer, payload: Payload, stats: TransferStats | None) -> None:
    name = f"up-{payload.name}"
    target = ctx.downloads / f"down-{peer.key}.bin"
    transfer: Transfer = curl(
        ctx.client_core,
        peer.server,
        peer.download_args(name),
        out=target,
        timeout=_timeout(payload),
    )
    digest = sha256_file(target)
    target.unlink()
    if digest != payload.sha256 or transfer.bytes_down != payload.size:
        raise RuntimeError(f"{peer.label} served {name} with sha256 {digest}, not the payload")
    if stats is not None:
        stats.download_mbps.append(transfer.mb_per_s(payload.size))
        stats.download_cpu.append((transfer.server_user, transfer.server_sys))
        stats.client_cpu_down.append(transfer.client_cpu_seconds / transfer.seconds)


def null_download(ctx: Context, peer: Peer, payload: Payload, stats: TransferStats) -> None:
    """A download into /dev/null: unverified, but it shows the server's pace without the
    client's copy into a file (curl then needs less of its one core)."""
    name = f"up-{payload.name}"
    transfer = curl(
        ctx.client_core,
        peer.server,
        peer.download_args(name),
        out=Path("/dev/null"),
        timeout=_timeout(payload),
    )
    if transfer.bytes_down != payload.size:
        raise RuntimeError(f"{peer.label} served {transfer.bytes_down} bytes of {name}")
    stats.null_download_mbps.append(transfer.mb_per_s(payload.size))


def _settle() -> None:
    """Write back what earlier runs left dirty, so no server pays for another's writes."""
    os.sync()


def transfers(
    ctx: Context,
    payload: Payload,
    peers: list[Peer],
    runs: int,
    budget_s: float,
    *,
    null_downloads: int = 0,
) -> dict[str, dict[str, Any]]:
    """Upload then download `payload` on every peer: one warm-up each, then rounds."""
    stats = {peer.key: TransferStats() for peer in peers}
    for peer in peers:
        _settle()
        upload_once(ctx, peer, payload, None)
        download_once(ctx, peer, payload, None)
    for number in rounds(runs, budget_s / 2):
        for peer in peers:
            _settle()
            upload_once(ctx, peer, payload, stats[peer.key])
        ctx.log(f"  upload {payload.size >> 20} MiB round {number + 1}: " + _brief(stats, "upload"))
    for number in rounds(runs, budget_s / 2):
        for peer in peers:
            download_once(ctx, peer, payload, stats[peer.key])
        ctx.log(f"  download {payload.size >> 20} MiB round {number + 1}: " + _brief(stats, "down"))
    for _ in rounds(null_downloads, budget_s / 4):
        for peer in peers:
            null_download(ctx, peer, payload, stats[peer.key])
    return {key: value.summary() for key, value in stats.items()}


def _brief(stats: dict[str, TransferStats], kind: str) -> str:
    values = {
        key: (value.upload_mbps if kind == "upload" else value.download_mbps)
        for key, value in stats.items()
    }
    return ", ".join(f"{key} {series[-1]:.0f}" for key, series in values.items() if series)


# S1 and S2 --------------------------------------------------------------------------------


def _lua_string(text: str) -> str:
    level = "=" * 4
    return f"[{level}[{text}]{level}]"


def _lua_headers(headers: dict[str, str]) -> str:
    return "".join(
        f"wrk.headers[ {_lua_string(k)} ] = {_lua_string(v)}\n" for k, v in headers.items()
    )


def s1_script(ctx: Context, peer: Peer) -> Path:
    path = ctx.work / f"s1-{peer.key}.lua"
    path.write_text(f'wrk.method = "GET"\n{_lua_headers(peer.headers())}')
    return path


def s2_script(ctx: Context, peer: Peer, tag: str, paths: list[str] | None = None) -> Path:
    """PUT bodies `history_text(tag, n)` for n = 1, 2, ...; done() prints the count sent
    and each status seen, so the stored history can be checked against what was sent."""
    template = peer.history_put_body(history_text(tag))
    headers = dict(peer.headers())
    if peer.key == "jupyter":
        headers["Content-Type"] = "application/json"
    else:
        headers["Content-Type"] = "text/markdown; charset=utf-8"
    # `paths`: each request goes to the next of these paths instead of the URL's.
    target = f"paths[sent % {len(paths)} + 1]" if paths else "nil"
    table = ", ".join(_lua_string(path) for path in paths or [])
    path = ctx.work / f"s2-{peer.key}.lua"
    path.write_text(
        f"""wrk.method = "PUT"
local paths = {{{table}}}
{_lua_headers(headers)}
local template = {_lua_string(template)}
sent = 0
codes = {{}}
local threads = {{}}
function setup(thread) table.insert(threads, thread) end
function request()
  sent = sent + 1
  return wrk.format(nil, {target}, nil, string.format(template, sent))
end
function response(status, headers, body)
  codes[status] = (codes[status] or 0) + 1
end
function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    io.write("sent=" .. thread:get("sent") .. "\\n")
    for status, count in pairs(thread:get("codes")) do
      io.write("status_" .. status .. "=" .. count .. "\\n")
    end
  end
end
"""
    )
    return path


def _wrk_summary(results: list[WrkResult]) -> dict[str, Any]:
    return {
        "req_per_s": median([r.req_per_s for r in results]),
        "p50_ms": median([r.p50_ms for r in results]),
        "p99_ms": median([r.p99_ms for r in results]),
        "p99_ms_worst": max((r.p99_ms for r in results), default=float("nan")),
        "non_2xx": sum(r.non_2xx_3xx for r in results),
        "socket_errors": [r.socket_errors for r in results if r.socket_errors],
        "server_cpu": _median_pair([(r.server_user, r.server_sys) for r in results]),
        # The server's CPU per request: what another process taking the core moves least.
        "cpu_ms_per_request": median(
            [1000 * (r.server_user + r.server_sys) / r.req_per_s for r in results if r.req_per_s]
        ),
        "runs": [r.req_per_s for r in results],
    }


def s1(ctx: Context, *, runs: int, seconds: float, budget_s: float) -> dict[str, dict[str, Any]]:
    text = history_text("s1", 1)
    scripts = {}
    with httpx.Client(timeout=30) as client:
        for peer in ctx.peers:
            peer.put_history(client, text)
            if peer.history_get_text(client) != text:
                raise RuntimeError(f"{peer.label} does not answer the 4 KiB history it stored")
            scripts[peer.key] = s1_script(ctx, peer)
    for peer in ctx.peers:
        wrk(
            ctx.client_core,
            peer.server,
            peer.history_url(),
            scripts[peer.key],
            connections=32,
            seconds=2,
        )
    results: dict[str, list[WrkResult]] = {peer.key: [] for peer in ctx.peers}
    for number in rounds(runs, budget_s):
        for peer in ctx.peers:
            results[peer.key].append(
                wrk(
                    ctx.client_core,
                    peer.server,
                    peer.history_url(),
                    scripts[peer.key],
                    connections=32,
                    seconds=seconds,
                )
            )
        ctx.log(f"  S1 round {number + 1}: " + _wrk_brief(results))
    return {key: _wrk_summary(value) for key, value in results.items()}


def _wrk_brief(results: dict[str, list[WrkResult]]) -> str:
    return ", ".join(
        f"{key} {series[-1].req_per_s:.0f}/s p99 {series[-1].p99_ms:.1f} ms"
        for key, series in results.items()
        if series
    )


def _stored_body(peer: Peer, client: httpx.Client, sent: dict[str, int]) -> str | None:
    """The tag of the body the peer stored if it is exactly one of the bodies sent (tag
    and number), else None. Any round of the job counts: a PUT of an earlier round that
    the server still held when wrk moved on may rightly be the last one it stored."""
    stored = peer.stored_history(client)
    if isinstance(peer, Chatstore) and peer.history_get_text(client).encode() != stored:
        return None  # a reader must get through the API what is on disk
    for tag, count in sent.items():
        match = history_pattern(tag).fullmatch(stored)
        if match is not None and 1 <= int(match.group(1)) <= count:
            return tag
    return None


def _s2_run(
    ctx: Context, peer: Peer, client: httpx.Client, tag: str, seconds: float, sent: dict[str, int]
) -> WrkResult:
    script = s2_script(ctx, peer, tag)
    result = wrk(
        ctx.client_core, peer.server, peer.history_url(), script, connections=32, seconds=seconds
    )
    sent[tag] = int(result.extra.get("sent", "0"))
    # wrk leaves the requests in flight at its deadline unanswered; let the server finish them.
    peer.server.wait_idle()
    stored = _stored_body(peer, client, sent)
    result.extra["stored_ok"] = str(stored is not None)
    result.extra["stored_tag"] = str(stored)
    return result


def s2(ctx: Context, *, runs: int, seconds: float, budget_s: float) -> dict[str, dict[str, Any]]:
    results: dict[str, list[WrkResult]] = {peer.key: [] for peer in ctx.peers}
    sent: dict[str, dict[str, int]] = {peer.key: {} for peer in ctx.peers}
    with httpx.Client(timeout=30) as client:
        for peer in ctx.peers:
            _s2_run(ctx, peer, client, "warm-up", 2, sent[peer.key])
        for number in rounds(runs, budget_s):
            for peer in ctx.peers:
                _settle()
                results[peer.key].append(
                    _s2_run(ctx, peer, client, f"round-{number}", seconds, sent[peer.key])
                )
            ctx.log(f"  S2 round {number + 1}: " + _wrk_brief(results))
    summary: dict[str, dict[str, Any]] = {}
    spread = _s2_spread(ctx, seconds) if runs > 0 else None
    for key, series in results.items():
        statuses: dict[str, int] = {}
        for result in series:
            for name, count in result.extra.items():
                if name.startswith("status_"):
                    statuses[name[7:]] = statuses.get(name[7:], 0) + int(count)
        summary[key] = {
            **_wrk_summary(series),
            "statuses": statuses,
            "stored_is_a_sent_body": all(r.extra["stored_ok"] == "True" for r in series),
            "stored_from": [r.extra["stored_tag"] for r in series],
        }
    if spread is not None:
        summary["chatstore"]["spread_over_32_chats"] = spread
    return summary


def _s2_spread(ctx: Context, seconds: float) -> dict[str, Any]:
    """chatstore only: the same 32 writers, each PUT to the next of 32 chats, so no two
    wait for one chat's lock. Set beside S2, it shows what the per-chat order costs."""
    chatstore = ctx.chatstore
    with httpx.Client(base_url=chatstore.server.base_url, timeout=30) as client:
        paths = [f"/v1/chats/{chatstore.chat_id}/history"]
        for _ in range(31):
            answer = client.post("/v1/chats", headers=chatstore.headers())
            answer.raise_for_status()
            paths.append(f"/v1/chats/{answer.json()['chat_id']}/history")
    script = s2_script(ctx, chatstore, "spread", paths=paths)
    _settle()
    result = wrk(
        ctx.client_core,
        chatstore.server,
        chatstore.history_url(),
        script,
        connections=32,
        seconds=seconds,
    )
    chatstore.server.wait_idle()
    return _wrk_summary([result]) | {"chats": len(paths)}
