"""The HTTP edge on a real socket (api.md v1.1): what a hostile or broken client can send
that no in-process test can, because the server itself parses it."""

import re
import socket
import time
from collections.abc import Iterator
from uuid import uuid4

import httpx
import pytest

from test.e2e.client import (
    assert_no_leftovers,
    chats_dir,
    json_of,
    new_chat,
    new_user,
    problem_code,
)
from test.e2e.raw_http import RawAnswer, connect, exchange, read_answer
from test.e2e.server import RunningServer, running_server
from test.routes import v1_get_paths

pytestmark = pytest.mark.e2e

TOKEN = "gateway-secret"
PROBLEM_JSON = "application/problem+json"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server that requires the gateway token."""
    data_dir = tmp_path_factory.mktemp("edge-token") / "data"
    with running_server(data_dir, gateway_token=TOKEN) as running:
        yield running


def assert_raw_problem(answer: RawAnswer, status: int, code: str) -> None:
    assert answer.status == status, answer
    assert answer.header("content-type") == PROBLEM_JSON, answer
    body = answer.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["detail"]


def request_bytes(method: str, target: str, *headers: str, body: bytes = b"") -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# Identity comes from the header section alone


def test_a_trailer_field_never_names_the_user(server: RunningServer, http: httpx.Client) -> None:
    alice = new_user(http)
    before = json_of(http.get("/v1/chats", headers=alice))["items"]

    chunked = b"0\r\nX-User-Id: " + alice["X-User-Id"].encode() + b"\r\n\r\n"
    answer = exchange(
        server, request_bytes("POST", "/v1/chats", "Transfer-Encoding: chunked", body=chunked)
    )

    assert_raw_problem(answer, 401, "user_id_required")
    assert json_of(http.get("/v1/chats", headers=alice))["items"] == before


def test_a_trailer_field_never_replaces_the_users_header(
    server: RunningServer, http: httpx.Client
) -> None:
    alice, mallory = new_user(http), new_user(http)
    chunked = b"0\r\nX-User-Id: " + alice["X-User-Id"].encode() + b"\r\n\r\n"

    answer = exchange(
        server,
        request_bytes(
            "POST",
            "/v1/chats",
            f"X-User-Id: {mallory['X-User-Id']}",
            "Transfer-Encoding: chunked",
            body=chunked,
        ),
    )

    assert answer.status == 201
    assert (
        answer.json()["workspace_id"]
        == json_of(http.get("/v1/workspace", headers=mallory))["workspace_id"]
    )
    assert json_of(http.get("/v1/chats", headers=alice))["items"] == []


def test_x_user_id_on_two_lines_is_refused_whatever_the_order(
    server: RunningServer, http: httpx.Client
) -> None:
    alice = new_user(http)["X-User-Id"]
    for first, second in [(alice, str(uuid4())), (str(uuid4()), alice)]:
        answer = exchange(
            server,
            request_bytes("POST", "/v1/chats", f"X-User-Id: {first}", f"X-User-Id: {second}"),
        )

        assert_raw_problem(answer, 400, "invalid_user_id")
    assert json_of(http.get("/v1/chats", headers={"X-User-Id": alice}))["items"] == []


def test_authorization_on_two_lines_is_refused_whatever_the_order(
    guarded: RunningServer,
) -> None:
    user = f"X-User-Id: {uuid4()}"
    for first, second in [(TOKEN, "wrong"), ("wrong", TOKEN), (TOKEN, TOKEN)]:
        answer = exchange(
            guarded,
            request_bytes(
                "PUT",
                "/v1/workspace",
                user,
                f"Authorization: Bearer {first}",
                f"Authorization: Bearer {second}",
            ),
        )

        assert_raw_problem(answer, 401, "unauthorized")
    answer = exchange(
        guarded, request_bytes("PUT", "/v1/workspace", user, f"Authorization: Bearer {TOKEN}")
    )
    assert answer.status == 201


# Limits on the head, held on the socket


def test_a_request_target_over_8_kib_is_414(server: RunningServer) -> None:
    target = "/v1/chats?cursor=" + "a" * (8 * 1024)

    answer = exchange(server, request_bytes("GET", target, f"X-User-Id: {uuid4()}"))

    assert_raw_problem(answer, 414, "uri_too_long")
    assert answer.closed


def test_a_request_target_of_8_kib_is_served(server: RunningServer) -> None:
    target = "/healthz?pad=" + "a" * (8 * 1024 - len("/healthz?pad="))

    answer = exchange(server, request_bytes("GET", target))

    assert answer.status == 200


def test_a_header_section_over_64_kib_is_431(server: RunningServer) -> None:
    headers = [f"X-Pad-{index}: {'a' * 1000}" for index in range(70)]

    answer = exchange(server, request_bytes("GET", "/healthz", *headers))

    assert_raw_problem(answer, 431, "request_header_fields_too_large")
    assert answer.closed


def test_a_header_section_just_under_64_kib_is_served(server: RunningServer) -> None:
    headers = [f"X-Pad-{index}: {'a' * 1000}" for index in range(60)]

    answer = exchange(server, request_bytes("GET", "/healthz", *headers))

    assert answer.status == 200


def test_a_16_mib_header_line_is_refused_without_being_held(server: RunningServer) -> None:
    """The server answers 431 once the head passes 64 KiB and closes: it never buffers the
    rest of the line, so its memory does not grow with what the client sends."""
    server.reset_peak_rss()
    before = server.peak_rss_bytes()
    sent = 0
    with connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Flood: ")
        block = b"a" * (256 * 1024)
        try:
            while sent < 16 * 1024 * 1024:
                sock.sendall(block)
                sent += len(block)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = read_answer_or_none(sock)

    assert sent < 16 * 1024 * 1024, "the server kept reading a header it should have refused"
    if answer is not None:  # a reset may beat the answer to a client still sending
        assert_raw_problem(answer, 431, "request_header_fields_too_large")
    assert server.peak_rss_bytes() - before < 8 * 1024 * 1024


def read_answer_or_none(sock: socket.socket) -> RawAnswer | None:
    try:
        return read_answer(sock)
    except (AssertionError, ConnectionResetError):
        return None


# Framing the HTTP layer refuses


FRAMING = [
    pytest.param(
        request_bytes("PUT", "/v1/workspace", "Content-Length: 1", "Content-Length: 2", body=b"ab"),
        id="two-content-lengths",
    ),
    pytest.param(
        request_bytes(
            "PUT",
            "/v1/workspace",
            "Content-Length: 5",
            "Transfer-Encoding: chunked",
            body=b"0\r\n\r\n",
        ),
        id="content-length-and-chunked",
    ),
    pytest.param(request_bytes("FROB", "/v1/workspace"), id="unknown-method-token"),
    pytest.param(
        request_bytes("PUT", "/v1/workspace", "Transfer-Encoding: chunked", body=b"zz\r\n"),
        id="bad-chunk-size",
    ),
    pytest.param(b"GET /healthz HTTP/1.1\r\nHost x\r\n\r\n", id="header-without-colon"),
]


@pytest.mark.parametrize("request_", FRAMING)
def test_malformed_framing_is_a_400_problem_and_closes(
    server: RunningServer, request_: bytes
) -> None:
    answer = exchange(server, request_)

    assert_raw_problem(answer, 400, "bad_request")
    assert answer.closed


def test_a_known_method_on_no_route_of_it_is_405(server: RunningServer) -> None:
    answer = exchange(server, request_bytes("PROPFIND", "/v1/workspace", f"X-User-Id: {uuid4()}"))

    assert_raw_problem(answer, 405, "method_not_allowed")
    assert answer.header("allow") == "DELETE, GET, HEAD, PUT"


# Paths


def test_an_encoded_slash_is_no_separator(server: RunningServer, http: httpx.Client) -> None:
    user = new_user(http)
    chat_id = new_chat(http, user)
    assert (
        http.put(f"/v1/chats/{chat_id}/history", headers=user, content=b"kept").status_code == 204
    )
    file = {"file": ("kept.txt", b"kept", "text/plain")}
    assert http.post(f"/v1/chats/{chat_id}/files", headers=user, files=file).status_code == 201

    for method, target in [
        ("GET", f"/v1/chats/{chat_id}%2Fhistory"),
        ("GET", f"/v1/chats/{chat_id}%2fhistory"),
        ("DELETE", f"/v1/chats/{chat_id}%2Ffiles"),
    ]:
        answer = exchange(server, request_bytes(method, target, f"X-User-Id: {user['X-User-Id']}"))

        assert_raw_problem(answer, 404, "not_found")
    assert len(json_of(http.get(f"/v1/chats/{chat_id}/files", headers=user))["items"]) == 1


def test_a_trailing_slash_is_404_never_a_redirect(server: RunningServer) -> None:
    answer = exchange(
        server, request_bytes("GET", "/v1/chats/").replace(b"127.0.0.1", b"evil.example")
    )

    assert_raw_problem(answer, 404, "not_found")
    assert answer.header("location") is None


# HEAD answers wherever GET does


def test_head_answers_like_get_on_every_get_route(
    server: RunningServer, http: httpx.Client
) -> None:
    user = new_user(http)
    chat_id = new_chat(http, user)
    assert (
        http.put(f"/v1/chats/{chat_id}/history", headers=user, content=b"# hi\n").status_code == 204
    )
    file = {"file": ("a.txt", b"abc", "text/plain")}
    file_id = json_of(http.post(f"/v1/chats/{chat_id}/files", headers=user, files=file), 201)[
        "items"
    ][0]["file_id"]
    session = json_of(http.post(f"/v1/chats/{chat_id}/sandbox-sessions", headers=user), 201)
    paths = [
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/docs",
        *v1_get_paths(chat_id, file_id),
    ]
    # /metrics grows between the two requests; the raw HEAD asked to close.
    varying = {"date", "content-length", "connection"}
    for path in paths:
        # One request id for both, so that it compares too.
        got = http.get(path, headers={**user, "X-Request-Id": "get-or-head"})
        head = exchange(
            server,
            request_bytes(
                "HEAD",
                path,
                f"X-User-Id: {user['X-User-Id']}",
                "X-Request-Id: get-or-head",
                "Connection: close",
            ),
        )

        assert head.status == got.status_code, path
        assert head.body == b"", path
        expected = {(k, v) for k, v in got.headers.items() if k not in varying}
        assert {(k, v) for k, v in head.headers if k not in varying} == expected, path
        if path != "/metrics":
            assert head.header("content-length") == got.headers.get("content-length"), path
    http.delete(f"/v1/chats/{chat_id}/sandbox-sessions/{session['session_id']}", headers=user)


# A client that hangs up


def hang_up_mid_request(server: RunningServer, head: bytes, partial_body: bytes) -> None:
    with connect(server) as sock:
        sock.sendall(head + partial_body)
        time.sleep(0.3)  # the server is now reading the body


def count_of(server: RunningServer, method: str, route: str, status: int) -> float:
    text = httpx.get(f"{server.base_url}/metrics").text
    pattern = (
        rf'^chatstore_http_requests_total\{{method="{method}",route="{re.escape(route)}",'
        rf'status="{status}"\}} (\S+)$'
    )
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def wait_for_count(
    server: RunningServer, method: str, route: str, status: int, count: float
) -> None:
    deadline = time.monotonic() + 10
    while count_of(server, method, route, status) < count:
        assert time.monotonic() < deadline, f"no {status} counted for {method} {route}"
        time.sleep(0.05)


def test_a_client_hanging_up_mid_upload_or_put_leaves_no_trace_and_counts_499(
    server: RunningServer, http: httpx.Client
) -> None:
    user = new_user(http)
    chat_id = new_chat(http, user)
    workspace_id = json_of(http.get("/v1/workspace", headers=user))["workspace_id"]
    usage = json_of(http.get("/v1/workspace/usage", headers=user))["used_bytes"]
    identity = f"X-User-Id: {user['X-User-Id']}"
    files_route = "/v1/chats/{chat_id}/files"
    history_route = "/v1/chats/{chat_id}/history"
    uploads = count_of(server, "POST", files_route, 499)
    puts = count_of(server, "PUT", history_route, 499)

    part = b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.bin"\r\n\r\n'
    hang_up_mid_request(
        server,
        request_bytes(
            "POST",
            f"/v1/chats/{chat_id}/files",
            identity,
            "Content-Type: multipart/form-data; boundary=b",
            "Content-Length: 10000000",
        ),
        part + b"z" * 200_000,
    )
    hang_up_mid_request(
        server,
        request_bytes("PUT", f"/v1/chats/{chat_id}/history", identity, "Content-Length: 1000000"),
        b"# half" * 10_000,
    )

    wait_for_count(server, "POST", files_route, 499, uploads + 1)
    wait_for_count(server, "PUT", history_route, 499, puts + 1)
    assert json_of(http.get(f"/v1/chats/{chat_id}/files", headers=user))["items"] == []
    assert http.get(f"/v1/chats/{chat_id}/history", headers=user).content == b""
    assert json_of(http.get("/v1/workspace/usage", headers=user))["used_bytes"] == usage
    chat_dir = chats_dir(server.data_dir, workspace_id) / chat_id
    assert sorted(path.name for path in chat_dir.iterdir()) == ["history.md"]
    assert_no_leftovers(server.data_dir)
    log = server.log()
    assert "Traceback" not in log
    assert f"client disconnected during POST /v1/chats/{chat_id}/files" in log
    assert problem_code(http.get("/v1/chats/", headers=user)) == "not_found"
