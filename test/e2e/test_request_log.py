"""A real server writes one JSON line per request on stderr, with the id it echoed."""

import json
import time
from pathlib import Path
from typing import Any

import httpx

from test.e2e.client import client, new_user_with_chat
from test.e2e.raw_http import exchange
from test.e2e.server import RunningServer, running_server


def access_lines(server: RunningServer) -> list[dict[str, Any]]:
    lines = []
    for text in server.log().splitlines():
        if text.startswith("{"):
            line = json.loads(text)
            if line["logger"] == "chatstore.access":
                lines.append(line)
    return lines


def wait_for_lines(server: RunningServer, *request_ids: str) -> list[dict[str, Any]]:
    """The access lines once there is one for each of `request_ids` (a line is written
    just after its answer was sent)."""
    deadline = time.monotonic() + 10
    while True:
        lines = access_lines(server)
        if set(request_ids) <= {line["request_id"] for line in lines}:
            return lines
        assert time.monotonic() < deadline, lines
        time.sleep(0.05)


def by_id(lines: list[dict[str, Any]], request_id: str) -> dict[str, Any]:
    [line] = [line for line in lines if line["request_id"] == request_id]
    return line


def test_every_request_is_one_json_line_carrying_the_id_it_echoed(tmp_path: Path) -> None:
    with running_server(tmp_path / "data") as server, client(server) as http:
        user, _, chat_id = new_user_with_chat(http)
        history = f"/v1/chats/{chat_id}/history"
        put = http.put(history, headers={**user, "X-Request-Id": "e2e-put"}, content=b"# a\n")
        got = http.get(history, headers=user)
        head = http.head(history, headers={**user, "X-Request-Id": "e2e-head"})
        missing = http.get("/no/such/route", headers={"X-Request-Id": "bad id"})
        malformed = exchange(
            server,
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        )
        made = got.headers["X-Request-Id"]
        lines = wait_for_lines(
            server,
            "e2e-put",
            made,
            "e2e-head",
            missing.headers["X-Request-Id"],
            str(malformed.header("x-request-id")),
        )
        log = server.log()

    assert [put.status_code, got.status_code, head.status_code] == [204, 200, 200]
    assert put.headers["X-Request-Id"] == "e2e-put"
    assert by_id(lines, "e2e-put") | {"duration_ms": 0} == {
        "time": by_id(lines, "e2e-put")["time"],
        "level": "INFO",
        "logger": "chatstore.access",
        "message": "PUT /v1/chats/{chat_id}/history 204",
        "pid": server.pid,  # one process: the server itself
        "request_id": "e2e-put",
        "method": "PUT",
        "route": "/v1/chats/{chat_id}/history",
        "status": 204,
        "bytes_sent": 0,
        "bytes_received": 4,
        "duration_ms": 0,
    }
    assert by_id(lines, "e2e-put")["duration_ms"] > 0
    assert by_id(lines, made)["bytes_sent"] == 4
    assert by_id(lines, "e2e-head")["method"] == "HEAD"
    assert by_id(lines, "e2e-head")["route"] == "/v1/chats/{chat_id}/history"
    assert by_id(lines, "e2e-head")["bytes_sent"] == 0
    assert missing.headers["X-Request-Id"] != "bad id"
    assert by_id(lines, missing.headers["X-Request-Id"])["route"] == "unmatched"
    assert malformed.status == 400
    refused = by_id(lines, str(malformed.header("x-request-id")))
    assert (refused["status"], refused["route"]) == (400, "unmatched")
    assert chat_id not in json.dumps(lines)
    # Only the service's JSON lines: uvicorn's own access log is off.
    assert not [text for text in log.splitlines() if '" 204' in text]


def test_uvicorns_access_log_comes_back_when_asked_for(tmp_path: Path) -> None:
    with running_server(tmp_path / "data", access_log="true") as server:
        httpx.get(f"{server.base_url}/healthz")
        deadline = time.monotonic() + 10
        while '"GET /healthz HTTP/1.1" 200' not in server.log():
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.05)
