"""Graceful shutdown (ADR 0029): on SIGTERM stop accepting, let the requests being served
finish until a deadline, cancel what still runs then, wait for it to unwind, and only then
run the lifespan shutdown that closes the metadata store.

uvicorn's own `timeout_graceful_shutdown` cancels the late tasks and goes straight on to the
lifespan shutdown, so a cancelled upload could still be removing its staged file, or a
history write still be committing, while the store closes under it. `GracefulServer`
waits for the cancelled tasks first. `AnswerCancelledRequests` gives a request cancelled
before its answer began a `503 shutting_down` instead of uvicorn's `text/plain` 500.
"""

import asyncio
import json
import logging
import socket
import time

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import PROBLEM_MEDIA_TYPE, problem_body
from api.request_id import HEADER, request_id_of

# How long cancelled requests get to unwind (remove staged files, finish a commit already
# handed to the store) before the lifespan shutdown goes ahead without them.
UNWIND_SECONDS = 10.0
_POLL_SECONDS = 0.05

_log = logging.getLogger("chatstore")


class GracefulServer(uvicorn.Server):
    """uvicorn's server, whose shutdown gives in-flight requests `deadline_seconds`, then
    cancels them and waits for them to unwind before the lifespan shutdown."""

    def __init__(self, config: uvicorn.Config, deadline_seconds: float) -> None:
        super().__init__(config)
        self.deadline_seconds = deadline_seconds

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        _log.info("shutting down: requests in flight have %gs to finish", self.deadline_seconds)
        for server in self.servers:
            server.close()  # new connections are refused from here on
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()  # idle ones close; busy ones close after their answer
        deadline = time.monotonic() + self.deadline_seconds
        await self._until_idle(deadline)
        late = list(self.server_state.tasks)
        if late and not self.force_exit:
            _log.warning("cancelling %d request(s) still running at the deadline", len(late))
            for task in late:
                task.cancel(msg="the shutdown deadline passed")
            _, unwinding = await asyncio.wait(late, timeout=UNWIND_SECONDS)
            if unwinding:
                _log.error("%d cancelled request(s) did not unwind in time", len(unwinding))
        if not self.force_exit:
            await self.lifespan.shutdown()

    async def _until_idle(self, deadline: float) -> None:
        """Until no connection is open and no request runs, or the deadline, or a forced exit."""
        state = self.server_state
        while (state.connections or state.tasks) and not self.force_exit:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            await asyncio.sleep(min(_POLL_SECONDS, left))


class AnswerCancelledRequests:
    """Outermost middleware: a request cancelled by the shutdown deadline is answered
    `503 shutting_down` (connection closed) if its answer had not begun, else its
    connection is cut; either way the cancellation ends here, logged in one line, since the
    request's own code has already put back what it had begun (ADR 0029)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except asyncio.CancelledError:
            _log.warning(
                "cancelled at the shutdown deadline: %s %s", scope["method"], scope["path"]
            )
            if not started:
                await send_shutting_down(send, request_id_of(scope))


async def send_shutting_down(send: Send, request_id: str | None) -> None:
    """The `503 shutting_down` answer, echoing the id the edge gave the request (the
    observing middleware inside has already unwound, so it cannot add it)."""
    body = json.dumps(
        problem_body(
            503,
            "shutting_down",
            "the server shut down before answering; a write landed whole or not at all",
        )
    ).encode()
    headers = [
        (b"content-type", PROBLEM_MEDIA_TYPE.encode("ascii")),
        (b"content-length", str(len(body)).encode("ascii")),
        (b"connection", b"close"),
    ]
    if request_id is not None:
        headers.append((HEADER, request_id.encode("ascii")))
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})
