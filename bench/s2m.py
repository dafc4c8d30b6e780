"""S2m: 32 writers, each PUTting the 4 KiB history of its own chat, durable as always.

wrk runs one thread per connection (`-t32 -c32`), and each thread is pinned to one chat by
its number (`setup` numbers the threads, `init` picks the chat's path and body template),
so every chat has exactly one writer and no write waits for another chat's order. Bodies
name their chat (`s2m-<round>-c<n>`), so after each round the driver checks that every chat
holds, on disk and through the API alike, one of the bodies sent to that chat: nothing lost,
nothing mixed. Run for every chatstore of the run (the one measured and, for an A/B, the
baseline), in rounds that alternate between them.
"""

from pathlib import Path
from typing import Any

import httpx

from bench.clients import WrkResult, wrk
from bench.jobs import Context, _lua_headers, _lua_string, _settle, _wrk_brief, _wrk_summary, rounds
from bench.payloads import history_pattern, history_text
from bench.servers import Chatstore

WRITERS = 32


def s2m_script(ctx: Context, peer: Chatstore, tag: str, chat_ids: list[str]) -> Path:
    paths = ", ".join(_lua_string(f"/v1/chats/{chat}/history") for chat in chat_ids)
    templates = ", ".join(
        _lua_string(history_text(_tag(tag, n))) for n in range(1, len(chat_ids) + 1)
    )
    headers = {**peer.headers(), "Content-Type": "text/markdown; charset=utf-8"}
    path = ctx.work / f"s2m-{peer.key}.lua"
    path.write_text(
        f"""wrk.method = "PUT"
{_lua_headers(headers)}
local paths = {{{paths}}}
local templates = {{{templates}}}
local numbered = 0
local threads = {{}}
function setup(thread)
  numbered = numbered + 1
  thread:set("id", numbered)
  table.insert(threads, thread)
end
function init(args)
  sent = 0
  codes = {{}}
end
function request()
  sent = sent + 1
  return wrk.format(nil, paths[id], nil, string.format(templates[id], sent))
end
function response(status, headers, body)
  codes[status] = (codes[status] or 0) + 1
end
function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    io.write("sent_" .. thread:get("id") .. "=" .. thread:get("sent") .. "\\n")
    for status, count in pairs(thread:get("codes")) do
      io.write("status_" .. status .. "_" .. thread:get("id") .. "=" .. count .. "\\n")
    end
  end
end
"""
    )
    return path


def _tag(tag: str, chat_number: int) -> str:
    return f"s2m-{tag}-c{chat_number}"


def make_chats(peer: Chatstore) -> list[str]:
    """One new chat of the peer's user per writer."""
    chats = []
    with httpx.Client(base_url=peer.server.base_url, timeout=30) as client:
        for _ in range(WRITERS):
            answer = client.post("/v1/chats", headers=peer.headers())
            answer.raise_for_status()
            chats.append(answer.json()["chat_id"])
    return chats


def _lost(
    client: httpx.Client, peer: Chatstore, chats: list[str], sent: dict[str, list[int]]
) -> list[str]:
    """The chats that do not hold, on disk and through the API, one of the bodies sent to
    them in any round so far (`sent`: per round tag, the count sent to each chat)."""
    lost = []
    for number, chat in enumerate(chats, start=1):
        on_disk = (
            peer.root / "workspaces" / peer.workspace_id / "chats" / chat / "history.md"
        ).read_bytes()
        answer = client.get(
            f"{peer.server.base_url}/v1/chats/{chat}/history", headers=peer.headers()
        )
        answer.raise_for_status()
        if answer.content != on_disk or not any(
            (match := history_pattern(_tag(tag, number)).fullmatch(on_disk)) is not None
            and 1 <= int(match.group(1)) <= counts[number - 1]
            for tag, counts in sent.items()
        ):
            lost.append(chat)
    return lost


def _run(
    ctx: Context,
    peer: Chatstore,
    client: httpx.Client,
    chats: list[str],
    tag: str,
    seconds: float,
    sent: dict[str, list[int]],
) -> tuple[WrkResult, list[str]]:
    script = s2m_script(ctx, peer, tag, chats)
    _settle()
    result = wrk(
        ctx.client_core,
        peer.server,
        peer.history_url(),
        script,
        connections=WRITERS,
        threads=WRITERS,
        seconds=seconds,
    )
    sent[tag] = [int(result.extra.get(f"sent_{n}", "0")) for n in range(1, WRITERS + 1)]
    # wrk leaves the requests in flight at its deadline unanswered; let the server finish them.
    peer.server.wait_idle()
    return result, _lost(client, peer, chats, sent)


def s2m(ctx: Context, *, runs: int, seconds: float, budget_s: float) -> dict[str, dict[str, Any]]:
    peers = [peer for peer in ctx.peers if isinstance(peer, Chatstore)]
    results: dict[str, list[WrkResult]] = {peer.key: [] for peer in peers}
    lost: dict[str, set[str]] = {peer.key: set() for peer in peers}
    sent: dict[str, dict[str, list[int]]] = {peer.key: {} for peer in peers}
    with httpx.Client(timeout=30) as client:
        chats = {peer.key: make_chats(peer) for peer in peers}
        for peer in peers:
            _run(ctx, peer, client, chats[peer.key], "warm-up", 2, sent[peer.key])
        for number in rounds(runs, budget_s):
            for peer in peers:
                result, missing = _run(
                    ctx, peer, client, chats[peer.key], f"round-{number}", seconds, sent[peer.key]
                )
                results[peer.key].append(result)
                lost[peer.key].update(missing)
            ctx.log(f"  S2m round {number + 1}: " + _wrk_brief(results))
    summary = {}
    for key, series in results.items():
        statuses: dict[str, int] = {}
        for result in series:
            for name, count in result.extra.items():
                if name.startswith("status_"):
                    code = name.split("_")[1]
                    statuses[code] = statuses.get(code, 0) + int(count)
        summary[key] = {
            **_wrk_summary(series),
            "statuses": statuses,
            "chats": WRITERS,
            "lost_chats": sorted(lost[key]),
            "nothing_lost": not lost[key],
        }
    return summary
