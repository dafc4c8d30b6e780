"""History jobs, chatstore only: G1, a GET of a large history beside a download of the same
bytes as an attachment (D1's path), both by curl on the client's core; T1, an append of 2 KiB
to a small and to a full history; T2, a chat of many turns written by appends and by GET then
PUT with If-Match. T1 and T2 time httpx requests (one client, keep-alive, sequential).
"""

import hashlib
import time
from typing import Any

import httpx

from bench.clients import curl
from bench.jobs import Context, median, rounds
from bench.servers import Chatstore

KIB = 1024
MIB = 1024 * KIB
# The largest a history may be: CHATSTORE_MAX_HISTORY_BYTES's default, which the bench keeps.
MAX_HISTORY_BYTES = 16 * MIB
TURN_BYTES = 2 * KIB
MARKDOWN = "text/markdown; charset=utf-8"
# Markdown a chat could hold: ASCII, so it is UTF-8, in lines like turns.
_TURN = b"**assistant**: " + b"lorem ipsum dolor sit amet " * 36 + b"\n\n"


def history_bytes(size: int) -> bytes:
    return (_TURN * (size // len(_TURN) + 1))[:size]


def turn(tag: str, number: int) -> bytes:
    """One turn of TURN_BYTES of Markdown, unlike every other turn by its tag and number."""
    speaker = "user" if number % 2 == 0 else "assistant"
    head = f"**{speaker}** ({tag} {number}): ".encode()
    return head + history_bytes(TURN_BYTES - len(head) - 2) + b"\n\n"


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


# T1 and T2 -------------------------------------------------------------------------------


def _new_chat(client: httpx.Client) -> str:
    answer = client.post("/v1/chats")
    answer.raise_for_status()
    return str(answer.json()["chat_id"])


def _history_client(peer: Chatstore) -> httpx.Client:
    return httpx.Client(base_url=peer.server.base_url, headers=peer.headers(), timeout=120)


def _url(chat_id: str) -> str:
    return f"/v1/chats/{chat_id}/history"


def _written(answer: httpx.Response, what: str) -> str:
    """The new history's ETag from the answer to a write (204 by the contract)."""
    if answer.status_code != 204 or "etag" not in answer.headers:
        raise RuntimeError(
            f"{what}: answered {answer.status_code} {answer.text[:200]!r}, not 204 with an ETag"
        )
    return answer.headers["etag"]


def _check_history(
    client: httpx.Client, chat_id: str, expected: bytes, etag: str, job: str
) -> None:
    """Raise unless the chat's history reads back as `expected`, under the last write's ETag."""
    answer = client.get(_url(chat_id))
    answer.raise_for_status()
    if answer.content != expected:
        raise RuntimeError(
            f"{job}: the history holds {len(answer.content):,} bytes other than the "
            f"{len(expected):,} written"
        )
    if answer.headers.get("etag") != etag:
        raise RuntimeError(f"{job}: the history's ETag is not the one its last write answered")


# T1's small history is put back to its 4 KiB once it reaches this, so that every append lands
# on a history of 4 to 34 KiB.
_T1_SMALL_CEILING = 36 * KIB
_T1_WARMUPS = 5


def t1(ctx: Context, *, samples: int, budget_s: float) -> dict[str, Any]:
    """Single 2 KiB appends (POST, no If-Match), alternately to a chat with a 4 KiB history
    and to one with a history of nearly MAX_HISTORY_BYTES, after five warm-ups each; each
    history is read back at the end and checked."""
    peer = ctx.chatstore
    appends = _T1_WARMUPS + samples
    # "A 16 MiB history": the history can never pass MAX_HISTORY_BYTES, so the big one starts
    # short of it by exactly what every append will add, and the last append fills it to
    # 16 MiB (with 200 samples it starts 410 KiB short, at 97.6% of the size).
    starts = {
        "small": history_bytes(4 * KIB),
        "big": history_bytes(MAX_HISTORY_BYTES - appends * TURN_BYTES),
    }
    seconds: dict[str, list[float]] = {kind: [] for kind in starts}
    with _history_client(peer) as client:
        chats = {kind: _new_chat(client) for kind in starts}
        expected = {kind: bytearray(start) for kind, start in starts.items()}
        etags = {
            kind: _written(client.put(_url(chats[kind]), content=start), f"T1 PUT {kind}")
            for kind, start in starts.items()
        }
        resets = 0
        deadline = time.monotonic() + budget_s
        for number in range(-_T1_WARMUPS, samples):
            if number > 0 and time.monotonic() > deadline:
                break
            if len(expected["small"]) + TURN_BYTES > _T1_SMALL_CEILING:
                answer = client.put(_url(chats["small"]), content=starts["small"])
                etags["small"] = _written(answer, "T1 PUT small")
                expected["small"] = bytearray(starts["small"])
                resets += 1
            for kind, chat_id in chats.items():
                body = turn(f"t1 {kind}", number)
                headers = {"Content-Type": MARKDOWN}
                started = time.perf_counter()
                answer = client.post(_url(chat_id), content=body, headers=headers)
                elapsed = time.perf_counter() - started
                etags[kind] = _written(answer, f"T1 append to the {kind} history")
                expected[kind] += body
                if number >= 0:
                    seconds[kind].append(elapsed)
        for kind, chat_id in chats.items():
            _check_history(client, chat_id, bytes(expected[kind]), etags[kind], "T1")
    small, big = median(seconds["small"]), median(seconds["big"])
    return {
        "append_bytes": TURN_BYTES,
        "small_bytes": len(starts["small"]),
        "big_start_bytes": len(starts["big"]),
        "big_end_bytes": len(expected["big"]),
        "small_ms": small * 1000,
        "big_ms": big * 1000,
        "ratio": big / small,
        "samples": len(seconds["small"]),
        "small_resets": resets,
        "runs_ms": {kind: [value * 1000 for value in values] for kind, values in seconds.items()},
    }


def t2(ctx: Context, *, turns: int, budget_s: float) -> dict[str, Any]:
    """A chat of `turns` turns of 2 KiB written two ways, turn by turn in alternation, each on
    a fresh chat: (a) one append (POST) per turn; (b) a GET of the history, then a PUT of it
    and the turn with If-Match: the GET's ETag. Each way's time is the sum of its requests'
    wall times (the GET+PUT way's includes joining the body); its bytes on the wire are the
    request and response bodies (headers not counted). Both histories are checked at the end."""
    peer = ctx.chatstore
    seconds = {"append": 0.0, "get_put": 0.0}
    wire = {"append": 0, "get_put": 0}
    sent: list[bytes] = []
    markdown = {"Content-Type": MARKDOWN}
    with _history_client(peer) as client:
        chats = {way: _new_chat(client) for way in seconds}
        etags = dict.fromkeys(seconds, "")
        deadline = time.monotonic() + budget_s
        for number in range(turns):
            if number and time.monotonic() > deadline:
                ctx.log(f"  T2: out of time after {number:,} of {turns:,} turns")
                break
            body = turn("t2", number)

            started = time.perf_counter()
            answer = client.post(_url(chats["append"]), content=body, headers=markdown)
            seconds["append"] += time.perf_counter() - started
            etags["append"] = _written(answer, "T2 append")
            wire["append"] += len(body) + len(answer.content)

            started = time.perf_counter()
            current = client.get(_url(chats["get_put"]))
            current.raise_for_status()
            whole = current.content + body
            answer = client.put(
                _url(chats["get_put"]),
                content=whole,
                headers={**markdown, "If-Match": current.headers["etag"]},
            )
            seconds["get_put"] += time.perf_counter() - started
            etags["get_put"] = _written(answer, "T2 PUT with If-Match")
            wire["get_put"] += len(current.content) + len(whole) + len(answer.content)

            sent.append(body)
            if (number + 1) % 250 == 0:
                ctx.log(
                    f"  T2 turn {number + 1:,}: append {seconds['append']:.1f} s, "
                    f"GET+PUT {seconds['get_put']:.1f} s"
                )
        history = b"".join(sent)
        for way, chat_id in chats.items():
            _check_history(client, chat_id, history, etags[way], f"T2 ({way})")
    return {
        "turns": len(sent),
        "turn_bytes": TURN_BYTES,
        "history_bytes": len(history),
        "append_s": seconds["append"],
        "get_put_s": seconds["get_put"],
        "append_wire_bytes": wire["append"],
        "get_put_wire_bytes": wire["get_put"],
        "time_ratio": seconds["get_put"] / seconds["append"],
        "bytes_ratio": wire["get_put"] / wire["append"],
    }
