"""Retries: idempotent calls only, after a connection error or a 503, with full-jitter
backoff, and only when the body can be sent again. Each case runs on both clients."""

import io
import time
from collections.abc import Callable, Iterator
from typing import Any
from uuid import uuid4

import anyio
import httpx
import pytest

from chatstore_client import (
    APIConnectionError,
    APITimeoutError,
    AsyncClient,
    Backoff,
    Client,
    ServiceUnavailableError,
    Upload,
)
from chatstore_client._retry import RetryState
from test.client.conftest import IN_PROCESS_URL, NO_WAIT
from test.e2e.server import free_port

CHAT_ID = uuid4()
WORKSPACE = {
    "workspace_id": str(uuid4()),
    "user_id": str(uuid4()),
    "created_at": "2026-04-01T12:00:00Z",
}
FILE = {
    "file_id": str(uuid4()),
    "chat_id": str(CHAT_ID),
    "name": "a.txt",
    "content_type": None,
    "size_bytes": 1,
    "sha256": "0" * 64,
    "created_at": "2026-04-01T12:00:00Z",
}
UNAVAILABLE = {"status": 503, "code": "storage_unavailable", "detail": "disk", "title": "x"}


class Scripted:
    """A MockTransport handler that plays a script of answers (or errors to raise) and
    keeps every request it saw, with its body as received."""

    def __init__(self, *script: httpx.Response | Exception) -> None:
        self.script = list(script)
        self.requests: list[httpx.Request] = []
        self.bodies: list[bytes] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.bodies.append(request.read())
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step

    async def handle_async(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.bodies.append(await request.aread())
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


def unavailable() -> httpx.Response:
    return httpx.Response(503, json=UNAVAILABLE)


def written(revision: int = 1) -> httpx.Response:
    """A history write's answer: its ETag and the revision it made."""
    return httpx.Response(204, headers={"ETag": '"e"', "X-History-Revision": str(revision)})


def ok(body: object = WORKSPACE, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


Call = Callable[[Any], Any]


def run(kind: str, script: Scripted, call: Call, **settings: Any) -> Any:
    """`call(client)` on a sync or an async client whose transport plays `script`."""
    settings = {"user_id": uuid4(), "backoff": NO_WAIT, **settings}
    if kind == "sync":
        with Client(IN_PROCESS_URL, transport=httpx.MockTransport(script), **settings) as client:
            return call(client)

    async def main() -> Any:
        transport = httpx.MockTransport(script.handle_async)
        async with AsyncClient(IN_PROCESS_URL, transport=transport, **settings) as client:
            return await call(client)

    return anyio.run(main)


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    param: str = request.param
    return param


def test_a_get_answered_503_is_retried_and_succeeds(kind: str) -> None:
    script = Scripted(unavailable(), ok())

    workspace = run(kind, script, lambda client: client.get_workspace())

    assert str(workspace.workspace_id) == WORKSPACE["workspace_id"]
    assert [request.method for request in script.requests] == ["GET", "GET"]


def test_a_get_still_503_after_max_retries_raises(kind: str) -> None:
    script = Scripted(unavailable(), unavailable(), unavailable(), ok())

    with pytest.raises(ServiceUnavailableError) as raised:
        run(kind, script, lambda client: client.get_workspace())

    assert raised.value.code == "storage_unavailable"
    assert len(script.requests) == 3  # the first try and max_retries=2 retries
    assert len(script.script) == 1


def test_max_retries_can_be_set_per_client_and_per_call(kind: str) -> None:
    never = Scripted(unavailable(), ok())
    with pytest.raises(ServiceUnavailableError):
        run(kind, never, lambda client: client.get_workspace(), max_retries=0)
    more = Scripted(unavailable(), unavailable(), unavailable(), ok())

    run(kind, more, lambda client: client.get_workspace(max_retries=3))

    assert (len(never.requests), len(more.requests)) == (1, 4)


def test_a_post_is_never_retried(kind: str) -> None:
    script = Scripted(unavailable(), ok(status=201))

    with pytest.raises(ServiceUnavailableError):
        run(kind, script, lambda client: client.create_chat())

    assert [request.method for request in script.requests] == ["POST"]


def test_an_upload_is_never_retried(kind: str) -> None:
    script = Scripted(httpx.ConnectError("refused"), ok({"items": [FILE]}, status=201))

    with pytest.raises(APIConnectionError):
        run(kind, script, lambda client: client.upload_file(CHAT_ID, Upload(b"x", name="a")))

    assert len(script.requests) == 1


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda client: client.append_history(CHAT_ID, "# turn\n"), id="append"),
        pytest.param(lambda client: client.restore_history_revision(CHAT_ID, 1), id="restore"),
    ],
)
def test_history_changes_that_are_not_idempotent_are_never_retried(kind: str, call: Call) -> None:
    script = Scripted(unavailable(), written())

    with pytest.raises(ServiceUnavailableError):
        run(kind, script, call)

    assert [request.method for request in script.requests] == ["POST"]


def test_a_prune_of_revisions_answered_503_is_retried(kind: str) -> None:
    script = Scripted(unavailable(), httpx.Response(204))

    run(kind, script, lambda client: client.prune_history_revisions(CHAT_ID))

    assert [request.method for request in script.requests] == ["DELETE", "DELETE"]
    assert script.requests[0].url.path == f"/v1/chats/{CHAT_ID}/history/revisions"


@pytest.mark.parametrize(
    "make_body",
    [
        pytest.param(lambda: b"# history", id="bytes"),
        pytest.param(lambda: "# history", id="text"),
        pytest.param(lambda: [b"# his", b"tory"], id="list"),
        pytest.param(lambda: io.BytesIO(b"# history"), id="seekable-file"),
    ],
)
def test_a_put_with_a_body_that_can_be_sent_again_is_retried_whole(
    kind: str, make_body: Callable[[], Any]
) -> None:
    script = Scripted(unavailable(), written())

    etag = run(kind, script, lambda client: client.put_history(CHAT_ID, make_body()))

    assert (etag, etag.revision) == ('"e"', 1)
    assert script.bodies == [b"# history", b"# history"]


def test_a_put_with_a_one_shot_body_is_not_retried(kind: str) -> None:
    script = Scripted(unavailable(), written())

    def one_shot() -> Iterator[bytes]:
        yield b"# history"

    with pytest.raises(ServiceUnavailableError):
        run(kind, script, lambda client: client.put_history(CHAT_ID, one_shot()))

    assert len(script.requests) == 1


def test_a_connection_error_is_retried_then_raised_as_api_connection_error(kind: str) -> None:
    script = Scripted(*[httpx.ConnectError("refused")] * 3)

    with pytest.raises(APIConnectionError) as raised:
        run(kind, script, lambda client: client.get_workspace())

    assert len(script.requests) == 3
    assert isinstance(raised.value.__cause__, httpx.ConnectError)
    assert raised.value.request is script.requests[-1]


def test_a_connection_error_then_an_answer_succeeds(kind: str) -> None:
    script = Scripted(httpx.RemoteProtocolError("dropped"), ok())

    run(kind, script, lambda client: client.get_workspace())

    assert len(script.requests) == 2


def test_a_timeout_raises_api_timeout_error(kind: str) -> None:
    script = Scripted(*[httpx.ReadTimeout("slow")] * 3)

    with pytest.raises(APITimeoutError):
        run(kind, script, lambda client: client.get_workspace())


def test_a_download_answered_503_is_retried(kind: str) -> None:
    content = httpx.Response(206, content=b"abc", headers={"Content-Range": "bytes 0-2/9"})
    script = Scripted(unavailable(), content)

    def download(client: Any) -> Any:
        return client.download_file(CHAT_ID, uuid4(), io.BytesIO())

    info = run(kind, script, download)

    assert info.content_range == "bytes 0-2/9"
    assert len(script.requests) == 2


def test_retry_after_is_waited_for(kind: str) -> None:
    script = Scripted(httpx.Response(503, json=UNAVAILABLE, headers={"Retry-After": "0.3"}), ok())

    started = time.monotonic()
    run(kind, script, lambda client: client.get_workspace())

    assert time.monotonic() - started >= 0.3


def _get_workspace_at(kind: str, url: str) -> None:
    if kind == "sync":
        with Client(url, backoff=NO_WAIT) as client:
            client.get_workspace()
        return

    async def main() -> None:
        async with AsyncClient(url, backoff=NO_WAIT) as client:
            await client.get_workspace()

    anyio.run(main)


def test_no_server_listening_raises_api_connection_error(kind: str) -> None:
    with pytest.raises(APIConnectionError) as raised:
        _get_workspace_at(kind, f"http://127.0.0.1:{free_port()}")

    assert isinstance(raised.value.__cause__, httpx.ConnectError)


# The rule itself


@pytest.mark.parametrize("retries_done", range(8))
def test_backoff_draws_uniformly_below_the_capped_exponential(retries_done: int) -> None:
    backoff = Backoff(initial=0.5, maximum=8.0)
    cap = min(8.0, 0.5 * 2**retries_done)

    assert backoff.delay(retries_done, 0.0) == 0.0
    assert backoff.delay(retries_done, 0.5) == pytest.approx(cap / 2)
    assert backoff.delay(retries_done, 0.999999) == pytest.approx(cap, rel=1e-5)


def test_backoff_refuses_a_maximum_below_its_initial_delay() -> None:
    with pytest.raises(ValueError, match="initial <= maximum"):
        Backoff(initial=2.0, maximum=1.0)


@pytest.mark.parametrize(
    ("method", "replayable", "retried"),
    [
        ("GET", True, True),
        ("HEAD", True, True),
        ("PUT", True, True),
        ("DELETE", True, True),
        ("PUT", False, False),
        ("POST", True, False),
        ("PATCH", True, False),
    ],
)
def test_only_idempotent_calls_with_a_replayable_body_are_retried(
    method: str, replayable: bool, retried: bool
) -> None:
    state = RetryState(method, replayable=replayable, max_retries=2, backoff=Backoff())

    assert (state.after_connection_error() is not None) is retried


def test_retry_state_draws_its_delays_and_stops_after_max_retries() -> None:
    draws = iter([0.25, 1.0])
    state = RetryState(
        "GET", replayable=True, max_retries=2, backoff=Backoff(1.0, 10.0), draw=lambda: next(draws)
    )

    assert state.after_response(httpx.Response(503)) == 0.25
    assert state.after_connection_error() == 2.0
    assert state.after_response(httpx.Response(503)) is None


def test_retry_state_does_not_retry_other_statuses_or_long_retry_afters() -> None:
    state = RetryState("GET", replayable=True, max_retries=5, backoff=Backoff())

    assert state.after_response(httpx.Response(500)) is None
    assert state.after_response(httpx.Response(200)) is None
    assert state.after_response(httpx.Response(503, headers={"Retry-After": "3600"})) is None
    assert state.after_response(httpx.Response(503, headers={"Retry-After": "2"})) == 2.0
