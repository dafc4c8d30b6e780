import asyncio
from pathlib import Path
from uuid import UUID, uuid4

import anyio
import pytest

from test.api.conftest import (
    START_TEXT,
    Json,
    UserApi,
    assert_problem,
    create_chat,
    list_files,
    put_history,
    used_bytes,
)
from test.fakes import FakeClock

pytestmark = pytest.mark.anyio


def sessions_url(chat_id: str) -> str:
    return f"/v1/chats/{chat_id}/sandbox-sessions"


def active_url(chat_id: str) -> str:
    return f"{sessions_url(chat_id)}/active"


def session_url(chat_id: str, session: Json) -> str:
    return f"{sessions_url(chat_id)}/{session['session_id']}"


async def start(user: UserApi, chat_id: str, json: object = None) -> Json:
    response = await user.post(sessions_url(chat_id), json=json)
    assert response.status_code == 201, response.text
    body: Json = response.json()
    return body


@pytest.fixture
async def session(user: UserApi, chat_id: str) -> Json:
    """A session of `chat_id` started at START for 60 seconds."""
    return await start(user, chat_id, {"ttl_seconds": 60})


async def test_start_answers_201_with_the_default_ttl_of_an_hour(
    user: UserApi, chat_id: str
) -> None:
    response = await user.post(sessions_url(chat_id))

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"session_id", "chat_id", "started_at", "expires_at"}
    UUID(body["session_id"])
    assert body["chat_id"] == chat_id
    assert body["started_at"] == START_TEXT
    assert body["expires_at"] == "2026-04-01T13:00:00Z"


@pytest.mark.parametrize(
    ("json", "expires_at"),
    [
        pytest.param({"ttl_seconds": 60}, "2026-04-01T12:01:00Z", id="sixty"),
        pytest.param({"ttl_seconds": 1}, "2026-04-01T12:00:01Z", id="minimum"),
        pytest.param({"ttl_seconds": 86400}, "2026-04-02T12:00:00Z", id="maximum"),
        pytest.param({}, "2026-04-01T13:00:00Z", id="empty-object"),
        pytest.param({"ttl_seconds": None}, "2026-04-01T13:00:00Z", id="null"),
    ],
)
async def test_start_honours_the_requested_ttl(
    user: UserApi, chat_id: str, json: object, expires_at: str
) -> None:
    session = await start(user, chat_id, json)

    assert session["started_at"] == START_TEXT
    assert session["expires_at"] == expires_at


BAD_TTL_BODIES = [
    pytest.param({"ttl_seconds": 0}, id="zero"),
    pytest.param({"ttl_seconds": -5}, id="negative"),
    pytest.param({"ttl_seconds": 86401}, id="over-a-day"),
    pytest.param({"ttl_seconds": "x"}, id="not-a-number"),
    pytest.param({"ttl_seconds": 1.5}, id="fraction"),
    pytest.param({"ttl_seconds": 60, "extra": 1}, id="unknown-field"),
    pytest.param([60], id="not-an-object"),
]


@pytest.mark.parametrize("json", BAD_TTL_BODIES)
async def test_start_with_a_bad_body_is_a_validation_error_and_starts_nothing(
    user: UserApi, chat_id: str, json: object
) -> None:
    response = await user.post(sessions_url(chat_id), json=json)

    assert_problem(response, 422, "validation_error")
    assert_problem(await user.get(active_url(chat_id)), 404, "sandbox_session_not_found")


async def test_start_with_a_body_that_is_not_json_is_a_validation_error(
    user: UserApi, chat_id: str
) -> None:
    response = await user.post(
        sessions_url(chat_id),
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )

    assert_problem(response, 422, "validation_error")


async def test_second_start_while_one_is_active_is_refused(user: UserApi, chat_id: str) -> None:
    first = await start(user, chat_id)

    response = await user.post(sessions_url(chat_id))

    assert_problem(response, 409, "sandbox_already_active")
    active = await user.get(active_url(chat_id))
    assert active.json() == first


async def test_sessions_of_different_chats_are_independent(user: UserApi, chat_id: str) -> None:
    other_chat = str((await create_chat(user))["chat_id"])
    first = await start(user, chat_id)

    second = await start(user, other_chat)

    assert second["session_id"] != first["session_id"]
    assert second["chat_id"] == other_chat


@pytest.mark.parametrize(
    ("elapsed", "active"),
    [
        pytest.param(0, True, id="just-started"),
        pytest.param(59.999, True, id="in-its-last-second"),
        pytest.param(60, False, id="from-its-expiry-on"),
    ],
)
async def test_active_answers_the_session_until_it_expires(
    user: UserApi, chat_id: str, session: Json, clock: FakeClock, elapsed: float, active: bool
) -> None:
    """The session started for 60 seconds, `elapsed` seconds later."""
    clock.advance(elapsed)

    response = await user.get(active_url(chat_id))

    if active:
        assert response.status_code == 200
        assert response.json() == session
    else:
        assert_problem(response, 404, "sandbox_session_not_found")


@pytest.mark.parametrize(
    ("json", "expires_at"),
    [
        pytest.param(None, "2026-04-01T12:01:30Z", id="without-a-ttl-by-the-starting-ttl"),
        pytest.param({"ttl_seconds": 600}, "2026-04-01T12:10:30Z", id="by-an-explicit-ttl"),
    ],
)
async def test_heartbeat_moves_the_expiry_from_now(
    user: UserApi, chat_id: str, session: Json, clock: FakeClock, json: object, expires_at: str
) -> None:
    clock.advance(30)

    response = await user.post(f"{session_url(chat_id, session)}/heartbeat", json=json)

    assert response.status_code == 200
    assert response.json() == {**session, "expires_at": expires_at}
    assert response.json()["started_at"] == START_TEXT
    active = await user.get(active_url(chat_id))
    assert active.json() == response.json()


async def test_heartbeat_keeps_a_session_alive_past_its_first_expiry(
    user: UserApi, chat_id: str, session: Json, clock: FakeClock
) -> None:
    url = f"{session_url(chat_id, session)}/heartbeat"
    for _ in range(3):
        clock.advance(50)
        assert (await user.post(url)).status_code == 200

    response = await user.post(sessions_url(chat_id))

    assert_problem(response, 409, "sandbox_already_active")


@pytest.mark.parametrize("json", BAD_TTL_BODIES)
async def test_heartbeat_with_a_bad_body_is_a_validation_error_and_changes_nothing(
    user: UserApi, chat_id: str, session: Json, json: object
) -> None:
    response = await user.post(f"{session_url(chat_id, session)}/heartbeat", json=json)

    assert_problem(response, 422, "validation_error")
    assert (await user.get(active_url(chat_id))).json() == session


async def test_heartbeat_of_an_unknown_session_is_not_found(user: UserApi, chat_id: str) -> None:
    await start(user, chat_id)

    response = await user.post(f"{sessions_url(chat_id)}/{uuid4()}/heartbeat")

    assert_problem(response, 404, "sandbox_session_not_found")


async def test_heartbeat_of_an_ended_session_is_not_found(user: UserApi, chat_id: str) -> None:
    session = await start(user, chat_id)
    await user.delete(session_url(chat_id, session))

    response = await user.post(f"{session_url(chat_id, session)}/heartbeat")

    assert_problem(response, 404, "sandbox_session_not_found")


async def test_heartbeat_of_an_expired_session_is_not_found_and_does_not_revive_it(
    user: UserApi, chat_id: str, session: Json, clock: FakeClock
) -> None:
    clock.advance(61)

    response = await user.post(f"{session_url(chat_id, session)}/heartbeat")

    assert_problem(response, 404, "sandbox_session_not_found")
    assert_problem(await user.get(active_url(chat_id)), 404, "sandbox_session_not_found")


async def test_session_of_another_chat_is_not_found(user: UserApi, chat_id: str) -> None:
    other_chat = str((await create_chat(user))["chat_id"])
    session = await start(user, chat_id)
    url = session_url(other_chat, session)

    heartbeat = await user.post(f"{url}/heartbeat")
    ended = await user.delete(url)

    assert_problem(heartbeat, 404, "sandbox_session_not_found")
    assert_problem(ended, 404, "sandbox_session_not_found")
    assert (await user.get(active_url(chat_id))).json() == session


async def test_session_of_another_user_is_not_found(
    user: UserApi, chat_id: str, other_user: UserApi
) -> None:
    session = await start(user, chat_id)
    url = session_url(chat_id, session)

    assert_problem(await other_user.post(f"{url}/heartbeat"), 404, "chat_not_found")
    assert_problem(await other_user.delete(url), 404, "chat_not_found")
    assert_problem(await other_user.get(active_url(chat_id)), 404, "chat_not_found")
    assert (await user.get(active_url(chat_id))).json() == session


async def test_end_answers_204_and_the_chat_has_no_active_session(
    user: UserApi, chat_id: str
) -> None:
    session = await start(user, chat_id)

    response = await user.delete(session_url(chat_id, session))

    assert response.status_code == 204
    assert response.content == b""
    assert_problem(await user.get(active_url(chat_id)), 404, "sandbox_session_not_found")


async def test_end_rescans_what_the_sandbox_wrote(
    user: UserApi, chat_id: str, chat_path: Path
) -> None:
    await put_history(user, chat_id, b"h" * 10)
    session = await start(user, chat_id)
    (chat_path / "result.txt").write_bytes(b"r" * 1234)
    (chat_path / "work").mkdir()
    (chat_path / "work" / "scratch.bin").write_bytes(b"s" * 100)

    await user.delete(session_url(chat_id, session))

    (item,) = await list_files(user, chat_id)
    assert item["name"] == "result.txt"
    assert item["size_bytes"] == 1234
    assert item["content_type"] == "text/plain"
    assert await used_bytes(user) == 10 + 1234 + 100


async def test_end_twice_is_not_found(user: UserApi, chat_id: str) -> None:
    session = await start(user, chat_id)
    await user.delete(session_url(chat_id, session))

    response = await user.delete(session_url(chat_id, session))

    assert_problem(response, 404, "sandbox_session_not_found")


async def test_new_session_can_start_once_the_last_one_ended(user: UserApi, chat_id: str) -> None:
    first = await start(user, chat_id)
    await user.delete(session_url(chat_id, first))

    second = await start(user, chat_id)

    assert second["session_id"] != first["session_id"]


async def test_new_session_can_start_once_the_last_one_expired(
    user: UserApi, chat_id: str, clock: FakeClock
) -> None:
    first = await start(user, chat_id, {"ttl_seconds": 60})
    clock.advance(60)

    second = await start(user, chat_id)

    assert second["session_id"] != first["session_id"]
    assert second["started_at"] == "2026-04-01T12:01:00Z"
    active = await user.get(active_url(chat_id))
    assert active.json() == second


async def test_chat_can_be_deleted_once_its_session_expired(
    user: UserApi, chat_id: str, session: Json, chat_path: Path, clock: FakeClock
) -> None:
    clock.advance(61)

    response = await user.delete(f"/v1/chats/{chat_id}")

    assert response.status_code == 204
    assert not await anyio.Path(chat_path).exists()


async def test_chat_can_be_deleted_once_its_session_ended(user: UserApi, chat_id: str) -> None:
    session = await start(user, chat_id)
    await user.delete(session_url(chat_id, session))

    response = await user.delete(f"/v1/chats/{chat_id}")

    assert response.status_code == 204


async def test_sessions_of_a_deleted_chat_are_gone(
    user: UserApi, chat_id: str, session: Json, clock: FakeClock
) -> None:
    clock.advance(61)
    await user.delete(f"/v1/chats/{chat_id}")

    response = await user.delete(session_url(chat_id, session))

    assert_problem(response, 404, "chat_not_found")


async def test_concurrent_starts_open_exactly_one_session(user: UserApi, chat_id: str) -> None:
    responses = await asyncio.gather(*(user.post(sessions_url(chat_id)) for _ in range(5)))

    assert sorted(response.status_code for response in responses) == [201] + [409] * 4
    (started,) = [response.json() for response in responses if response.status_code == 201]
    assert (await user.get(active_url(chat_id))).json() == started


async def test_heartbeat_without_ttl_falls_back_to_the_starting_ttl_not_the_last_one(
    user: UserApi, chat_id: str, session: Json, clock: FakeClock
) -> None:
    url = f"{session_url(chat_id, session)}/heartbeat"
    await user.post(url, json={"ttl_seconds": 600})
    clock.advance(100)

    response = await user.post(url)

    assert response.json()["expires_at"] == "2026-04-01T12:02:40Z"
