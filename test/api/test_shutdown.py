"""The answer to a request the shutdown deadline cancels (api/shutdown.py, ADR 0029)."""

import asyncio
import json

import pytest
from starlette.types import Message, Receive, Scope, Send

from api.request_id import SCOPE_KEY as REQUEST_ID_KEY
from api.shutdown import AnswerCancelledRequests

pytestmark = pytest.mark.anyio

SCOPE: Scope = {"type": "http", "method": "PUT", "path": "/v1/chats/x/history"}


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _cancelled_before_answering(scope: Scope, receive: Receive, send: Send) -> None:
    raise asyncio.CancelledError


async def _cancelled_mid_answer(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"part", "more_body": True})
    raise asyncio.CancelledError


async def _answered(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def _sent_by(app: AnswerCancelledRequests) -> list[Message]:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await app(SCOPE, _no_body, send)
    return sent


async def test_a_request_cancelled_before_its_answer_is_answered_503_shutting_down() -> None:
    start, body = await _sent_by(AnswerCancelledRequests(_cancelled_before_answering))

    assert start["status"] == 503
    headers = dict(start["headers"])
    assert headers[b"content-type"] == b"application/problem+json"
    assert headers[b"connection"] == b"close"
    assert int(headers[b"content-length"]) == len(body["body"])
    problem = json.loads(body["body"])
    assert (problem["status"], problem["code"]) == (503, "shutting_down")
    assert b"x-request-id" not in headers  # no edge gave it one here


async def test_the_503_echoes_the_id_the_edge_gave_the_request() -> None:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {**SCOPE, REQUEST_ID_KEY: "gw-42"}
    await AnswerCancelledRequests(_cancelled_before_answering)(scope, _no_body, send)

    assert sent[0]["status"] == 503
    assert dict(sent[0]["headers"])[b"x-request-id"] == b"gw-42"


async def test_a_request_cancelled_mid_answer_gets_nothing_more() -> None:
    sent = await _sent_by(AnswerCancelledRequests(_cancelled_mid_answer))

    assert [message["type"] for message in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 200


async def test_a_request_not_cancelled_passes_through_untouched() -> None:
    sent = await _sent_by(AnswerCancelledRequests(_answered))

    assert [message.get("status") for message in sent] == [204, None]


async def test_a_lifespan_scope_passes_through() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def send(message: Message) -> None:
        raise AssertionError(message)

    await AnswerCancelledRequests(app)({"type": "lifespan"}, _no_body, send)

    assert seen == ["lifespan"]
