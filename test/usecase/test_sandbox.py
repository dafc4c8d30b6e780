from datetime import timedelta

import pytest

from domain.chat import Chat
from domain.errors import (
    InvalidInputError,
    SandboxAlreadyActiveError,
    SandboxSessionNotFoundError,
)
from domain.sandbox_session import SandboxSession
from test.usecase.service import USER, Service

pytestmark = pytest.mark.anyio


async def start(service: Service, chat: Chat, ttl_seconds: int | None = 60) -> SandboxSession:
    return await service.run.start_sandbox_session(USER, chat.chat_id, ttl_seconds)


@pytest.fixture
async def session(service: Service, chat: Chat) -> SandboxSession:
    """A session of `chat` started at T0 for 60 seconds."""
    return await start(service, chat, 60)


async def test_start_session_leases_the_chat_for_the_default_hour(
    service: Service, chat: Chat
) -> None:
    session = await start(service, chat, None)

    assert (session.chat_id, session.started_at) == (chat.chat_id, service.clock.now())
    assert session.expires_at == service.clock.now() + timedelta(hours=1)
    assert await service.run.get_active_sandbox_session(USER, chat.chat_id) == session


async def test_start_session_with_a_ttl_out_of_bounds_is_refused(
    service: Service, chat: Chat
) -> None:
    with pytest.raises(InvalidInputError):
        await start(service, chat, 86_401)

    with pytest.raises(SandboxSessionNotFoundError):
        await service.run.get_active_sandbox_session(USER, chat.chat_id)


async def test_second_session_while_one_is_active_is_refused(service: Service, chat: Chat) -> None:
    first = await start(service, chat)
    service.clock.advance(59)

    with pytest.raises(SandboxAlreadyActiveError):
        await start(service, chat)

    assert await service.run.get_active_sandbox_session(USER, chat.chat_id) == first


async def test_sessions_on_different_chats_do_not_conflict(service: Service, chat: Chat) -> None:
    other = await service.run.create_chat(USER)
    await start(service, chat)

    session = await start(service, other)

    assert await service.run.get_active_sandbox_session(USER, other.chat_id) == session


async def test_new_session_may_start_once_the_last_one_expired(
    service: Service, chat: Chat
) -> None:
    await start(service, chat)
    service.clock.advance(60)

    second = await start(service, chat)

    assert await service.run.get_active_sandbox_session(USER, chat.chat_id) == second


async def test_new_session_may_start_once_the_last_one_ended(service: Service, chat: Chat) -> None:
    first = await start(service, chat)
    await service.run.end_sandbox_session(USER, chat.chat_id, first.session_id)

    second = await start(service, chat)

    assert second.session_id != first.session_id


async def test_no_active_session_is_session_not_found(service: Service, chat: Chat) -> None:
    with pytest.raises(SandboxSessionNotFoundError):
        await service.run.get_active_sandbox_session(USER, chat.chat_id)


async def test_expired_session_is_no_longer_active(service: Service, chat: Chat) -> None:
    await start(service, chat)
    service.clock.advance(60)

    with pytest.raises(SandboxSessionNotFoundError):
        await service.run.get_active_sandbox_session(USER, chat.chat_id)


async def test_heartbeat_without_ttl_extends_by_the_starting_ttl_from_now(
    service: Service, chat: Chat, session: SandboxSession
) -> None:
    service.clock.advance(45)

    beaten = await service.run.heartbeat_sandbox_session(
        USER, chat.chat_id, session.session_id, None
    )

    assert beaten.expires_at == service.clock.now() + timedelta(seconds=60)
    service.clock.advance(59)
    assert await service.run.get_active_sandbox_session(USER, chat.chat_id) == beaten


async def test_heartbeat_with_ttl_extends_by_that_ttl_and_keeps_the_default(
    service: Service, chat: Chat, session: SandboxSession
) -> None:
    service.clock.advance(10)

    longer = await service.run.heartbeat_sandbox_session(
        USER, chat.chat_id, session.session_id, 600
    )
    service.clock.advance(500)
    again = await service.run.heartbeat_sandbox_session(
        USER, chat.chat_id, session.session_id, None
    )

    assert longer.expires_at == session.started_at + timedelta(seconds=610)
    assert again.expires_at == service.clock.now() + timedelta(seconds=60)


async def test_heartbeat_with_a_ttl_out_of_bounds_is_refused(
    service: Service, chat: Chat, session: SandboxSession
) -> None:
    with pytest.raises(InvalidInputError):
        await service.run.heartbeat_sandbox_session(USER, chat.chat_id, session.session_id, 0)

    assert await service.run.get_active_sandbox_session(USER, chat.chat_id) == session


async def test_heartbeat_of_an_expired_session_is_session_not_found(
    service: Service, chat: Chat, session: SandboxSession
) -> None:
    service.clock.advance(60)

    with pytest.raises(SandboxSessionNotFoundError):
        await service.run.heartbeat_sandbox_session(USER, chat.chat_id, session.session_id, None)


async def test_heartbeat_of_an_ended_session_is_session_not_found(
    service: Service, chat: Chat, session: SandboxSession
) -> None:
    await service.run.end_sandbox_session(USER, chat.chat_id, session.session_id)

    with pytest.raises(SandboxSessionNotFoundError):
        await service.run.heartbeat_sandbox_session(USER, chat.chat_id, session.session_id, None)


async def test_heartbeat_through_another_chat_is_session_not_found(
    service: Service, chat: Chat
) -> None:
    other = await service.run.create_chat(USER)
    session = await start(service, chat, 60)

    with pytest.raises(SandboxSessionNotFoundError):
        await service.run.heartbeat_sandbox_session(USER, other.chat_id, session.session_id, None)

    assert await service.run.get_active_sandbox_session(USER, chat.chat_id) == session


async def test_end_session_ends_it(service: Service, chat: Chat, session: SandboxSession) -> None:
    service.clock.advance(5)

    await service.run.end_sandbox_session(USER, chat.chat_id, session.session_id)

    with pytest.raises(SandboxSessionNotFoundError):
        await service.run.get_active_sandbox_session(USER, chat.chat_id)
    stored = await service.metadata.sessions.get(session.session_id)
    assert stored is not None
    assert stored.ended_at == service.clock.now()


async def test_end_session_twice_is_session_not_found(
    service: Service, chat: Chat, session: SandboxSession
) -> None:
    await service.run.end_sandbox_session(USER, chat.chat_id, session.session_id)

    with pytest.raises(SandboxSessionNotFoundError):
        await service.run.end_sandbox_session(USER, chat.chat_id, session.session_id)


async def test_end_session_through_another_chat_is_session_not_found(
    service: Service, chat: Chat
) -> None:
    other = await service.run.create_chat(USER)
    session = await start(service, chat)

    with pytest.raises(SandboxSessionNotFoundError):
        await service.run.end_sandbox_session(USER, other.chat_id, session.session_id)

    assert await service.run.get_active_sandbox_session(USER, chat.chat_id) == session


async def test_end_session_of_an_expired_session_still_rescans(
    service: Service, chat: Chat, session: SandboxSession
) -> None:
    (service.chat_dir(chat) / "late.txt").write_bytes(b"written before expiry")
    service.clock.advance(120)

    await service.run.end_sandbox_session(USER, chat.chat_id, session.session_id)

    [imported] = await service.metadata.files.list_all_by_chat_id(chat.chat_id)
    assert imported.name.value == "late.txt"


async def test_end_session_rescans_what_the_sandbox_wrote(
    service: Service, chat: Chat, session: SandboxSession
) -> None:
    directory = service.chat_dir(chat)
    (directory / "result.json").write_bytes(b'{"ok": true}')
    (directory / "history.md").write_bytes(b"# the sandbox wrote here too")
    (directory / "work").mkdir()
    (directory / "work" / "scratch.bin").write_bytes(b"s" * 100)

    await service.run.end_sandbox_session(USER, chat.chat_id, session.session_id)

    [imported] = await service.metadata.files.list_all_by_chat_id(chat.chat_id)
    assert (imported.name.value, imported.content_type) == ("result.json", "application/json")
    assert await service.used_bytes() == 12 + 28 + 100
    assert await service.used_bytes() == service.disk_bytes(chat.workspace_id)
