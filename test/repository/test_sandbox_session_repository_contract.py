import asyncio
from datetime import datetime
from uuid import UUID, uuid4

import pytest

from domain.sandbox_session import SandboxSession
from test.repository.records import T0, at, session
from usecase.ports.metadata import MetadataStore
from usecase.ports.records import SandboxSessionRepository

pytestmark = pytest.mark.anyio


@pytest.fixture
def sessions(store: MetadataStore) -> SandboxSessionRepository:
    return store.sessions


RACERS = 30


@pytest.fixture
async def started(sessions: SandboxSessionRepository) -> SandboxSession:
    """A session of a chat of its own, started and added at T0 for 60 seconds."""
    added = session(uuid4(), started_at=T0, ttl_seconds=60)
    await sessions.add(added, now=T0)
    return added


async def assert_exactly_one_racing_add_wins(
    sessions: SandboxSessionRepository, chat_id: UUID, now: datetime
) -> None:
    """RACERS sessions of the chat, started `now`, added at once: one is stored and active."""
    candidates = [session(chat_id, started_at=now) for _ in range(RACERS)]

    added = await asyncio.gather(*(sessions.add(item, now=now) for item in candidates))

    assert added.count(True) == 1
    winner = candidates[added.index(True)]
    assert await sessions.get_active_by_chat_id(chat_id, now) == winner
    assert [await sessions.get(item.session_id) for item in candidates].count(None) == (RACERS - 1)


async def test_unknown_session_is_not_found(sessions: SandboxSessionRepository) -> None:
    assert await sessions.get(uuid4()) is None


async def test_chat_without_sessions_has_no_active_session(
    sessions: SandboxSessionRepository,
) -> None:
    assert await sessions.get_active_by_chat_id(uuid4(), T0) is None


async def test_added_session_is_stored_and_active(sessions: SandboxSessionRepository) -> None:
    started = session(uuid4(), started_at=T0, ttl_seconds=60)

    assert await sessions.add(started, now=T0) is True

    assert await sessions.get(started.session_id) == started
    assert await sessions.get_active_by_chat_id(started.chat_id, at(59)) == started


async def test_second_session_is_refused_while_one_is_active(
    sessions: SandboxSessionRepository, started: SandboxSession
) -> None:
    second = session(started.chat_id, started_at=at(30))

    assert await sessions.add(second, now=at(30)) is False

    assert await sessions.get(second.session_id) is None
    assert await sessions.get_active_by_chat_id(started.chat_id, at(30)) == started


async def test_concurrent_adds_on_one_chat_store_exactly_one_session(
    sessions: SandboxSessionRepository,
) -> None:
    await assert_exactly_one_racing_add_wins(sessions, uuid4(), T0)


async def test_concurrent_adds_after_an_expiry_store_exactly_one_session(
    sessions: SandboxSessionRepository, started: SandboxSession
) -> None:
    await assert_exactly_one_racing_add_wins(sessions, started.chat_id, started.expires_at)


async def test_active_session_on_another_chat_does_not_block_adding(
    sessions: SandboxSessionRepository,
) -> None:
    busy, other = session(uuid4()), session(uuid4())
    await sessions.add(busy, now=T0)

    assert await sessions.add(other, now=T0) is True

    assert await sessions.get_active_by_chat_id(other.chat_id, T0) == other


async def test_session_is_not_active_from_its_expiry_on(
    sessions: SandboxSessionRepository, started: SandboxSession
) -> None:
    assert await sessions.get_active_by_chat_id(started.chat_id, started.expires_at) is None
    assert await sessions.get(started.session_id) == started


async def test_new_session_can_be_added_once_the_previous_expired(
    sessions: SandboxSessionRepository, started: SandboxSession
) -> None:
    successor = session(started.chat_id, started_at=started.expires_at)

    assert await sessions.add(successor, now=started.expires_at) is True

    assert await sessions.get_active_by_chat_id(started.chat_id, started.expires_at) == successor


async def test_ended_session_is_not_active(
    sessions: SandboxSessionRepository, started: SandboxSession
) -> None:
    ended = started.ended(at(10))

    await sessions.save(ended)

    assert await sessions.get(started.session_id) == ended
    assert await sessions.get_active_by_chat_id(started.chat_id, at(10)) is None


async def test_new_session_can_be_added_once_the_previous_ended(
    sessions: SandboxSessionRepository, started: SandboxSession
) -> None:
    await sessions.save(started.ended(at(10)))
    successor = session(started.chat_id, started_at=at(10))

    assert await sessions.add(successor, now=at(10)) is True

    assert await sessions.get_active_by_chat_id(started.chat_id, at(10)) == successor
    assert await sessions.get(started.session_id) == started.ended(at(10))


async def test_extended_session_stays_active_past_its_first_expiry(
    sessions: SandboxSessionRepository, started: SandboxSession
) -> None:
    extended = started.extended(at(50), ttl_seconds=None)

    await sessions.save(extended)

    assert extended.expires_at == at(110)
    assert await sessions.get(started.session_id) == extended
    assert await sessions.get_active_by_chat_id(started.chat_id, at(100)) == extended
    assert await sessions.add(session(started.chat_id, at(100)), now=at(100)) is False


async def test_saving_an_unknown_session_stores_nothing(
    sessions: SandboxSessionRepository,
) -> None:
    unknown = session(uuid4())

    await sessions.save(unknown)

    assert await sessions.get(unknown.session_id) is None
    assert await sessions.get_active_by_chat_id(unknown.chat_id, T0) is None


async def test_deleting_a_chats_sessions_leaves_other_chats_alone(
    sessions: SandboxSessionRepository, started: SandboxSession
) -> None:
    chat_id = started.chat_id
    await sessions.save(started.ended(at(1)))
    active = session(chat_id, started_at=at(1))
    await sessions.add(active, now=at(1))
    elsewhere = session(uuid4(), started_at=at(1))
    await sessions.add(elsewhere, now=at(1))

    await sessions.delete_by_chat_id(chat_id)

    assert await sessions.get(started.session_id) is None
    assert await sessions.get(active.session_id) is None
    assert await sessions.get_active_by_chat_id(chat_id, at(2)) is None
    assert await sessions.get_active_by_chat_id(elsewhere.chat_id, at(2)) == elsewhere


async def test_chat_whose_sessions_were_deleted_accepts_a_new_one(
    sessions: SandboxSessionRepository,
) -> None:
    chat_id = uuid4()
    await sessions.add(session(chat_id, started_at=T0), now=T0)
    await sessions.delete_by_chat_id(chat_id)
    fresh = session(chat_id, started_at=at(1))

    assert await sessions.add(fresh, now=at(1)) is True


async def test_deleting_sessions_of_a_chat_without_any_changes_nothing(
    sessions: SandboxSessionRepository,
) -> None:
    kept = session(uuid4())
    await sessions.add(kept, now=T0)

    await sessions.delete_by_chat_id(uuid4())

    assert await sessions.get(kept.session_id) == kept
