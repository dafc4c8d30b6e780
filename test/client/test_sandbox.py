"""`sandbox_session(...)`: a lease started on entry, heartbeated while the block runs, and
ended on exit. With a one-second ttl, a block that outlives the ttl keeps its session only
if the heartbeats really are sent."""

import time
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import anyio
import pytest

from chatstore_client import (
    AsyncClient,
    Chat,
    Client,
    SandboxLease,
    SandboxSession,
    SandboxSessionNotFoundError,
)
from chatstore_client.sandbox import heartbeat_interval

# Heartbeats go every third of the ttl, so one may come up to 4/3 s late (a loaded CI
# machine) before the session lapses; with a 1 s ttl, one 0.7 s late lost the session.
TTL_SECONDS = 2
# Long enough for a session of TTL_SECONDS to expire twice over without heartbeats.
OUTLIVE_SECONDS = 4.5


class BlockFailedError(Exception):
    pass


def test_the_session_outlives_its_ttl_while_heartbeating_and_ends_on_exit(
    client: Client, chat: Chat
) -> None:
    with client.sandbox_session(chat.chat_id, ttl_seconds=TTL_SECONDS) as lease:
        started = lease.session
        time.sleep(OUTLIVE_SECONDS)
        active = client.get_active_sandbox_session(chat.chat_id)

        assert active.session_id == started.session_id
        assert active.expires_at > started.expires_at
        assert lease.heartbeats >= 4
        assert lease.heartbeat_error is None
        assert not lease.lost

    with pytest.raises(SandboxSessionNotFoundError):
        client.get_active_sandbox_session(chat.chat_id)
    # Ended, not merely expired: a second end finds nothing to end.
    with pytest.raises(SandboxSessionNotFoundError):
        client.end_sandbox_session(chat.chat_id, started.session_id)


def test_the_session_ends_when_the_block_raises(client: Client, chat: Chat) -> None:
    with (
        pytest.raises(BlockFailedError),
        client.sandbox_session(chat.chat_id, ttl_seconds=60) as lease,
    ):
        raise BlockFailedError

    with pytest.raises(SandboxSessionNotFoundError):
        client.end_sandbox_session(chat.chat_id, lease.session.session_id)


def _fail_after_ending_it_behind_the_lease(client: Client, lease: SandboxLease) -> None:
    with lease:
        client.end_sandbox_session(lease.session.chat_id, lease.session.session_id)
        raise BlockFailedError


def test_when_the_block_raises_a_failed_end_is_noted_on_its_error(
    client: Client, chat: Chat
) -> None:
    lease = client.sandbox_session(chat.chat_id, ttl_seconds=60)

    with pytest.raises(BlockFailedError) as raised:
        _fail_after_ending_it_behind_the_lease(client, lease)

    (note,) = raised.value.__notes__
    assert note.startswith(f"ending sandbox session {lease.session.session_id} failed: 404")


def test_heartbeat_every_overrides_the_fraction_of_the_ttl(client: Client, chat: Chat) -> None:
    with client.sandbox_session(chat.chat_id, ttl_seconds=3600, heartbeat_every=0.1) as lease:
        time.sleep(0.65)

    assert lease.heartbeats >= 4


def _end_it_behind_the_lease(client: Client, lease: SandboxLease) -> None:
    with lease:
        client.end_sandbox_session(lease.session.chat_id, lease.session.session_id)
        deadline = time.monotonic() + 5
        while not lease.lost and time.monotonic() < deadline:
            time.sleep(0.02)


def test_a_session_ended_behind_the_lease_is_lost_and_exit_raises(
    client: Client, chat: Chat
) -> None:
    lease = client.sandbox_session(chat.chat_id, ttl_seconds=60, heartbeat_every=0.05)

    with pytest.raises(SandboxSessionNotFoundError):
        _end_it_behind_the_lease(client, lease)

    assert lease.lost
    assert isinstance(lease.heartbeat_error, SandboxSessionNotFoundError)


@pytest.mark.anyio
async def test_async_session_heartbeats_from_a_task_and_ends_on_exit(
    async_client: AsyncClient, async_chat: Chat
) -> None:
    async with async_client.sandbox_session(async_chat.chat_id, ttl_seconds=TTL_SECONDS) as lease:
        await anyio.sleep(OUTLIVE_SECONDS)
        active = await async_client.get_active_sandbox_session(async_chat.chat_id)

        assert active.session_id == lease.session.session_id
        assert lease.heartbeats >= 4

    with pytest.raises(SandboxSessionNotFoundError):
        await async_client.get_active_sandbox_session(async_chat.chat_id)


@pytest.mark.anyio
async def test_async_session_ends_when_the_block_raises_or_is_cancelled(
    async_client: AsyncClient, async_chat: Chat
) -> None:
    with pytest.raises(BlockFailedError):
        async with async_client.sandbox_session(async_chat.chat_id):
            raise BlockFailedError
    with anyio.move_on_after(0.2) as scope:
        async with async_client.sandbox_session(async_chat.chat_id, heartbeat_every=0.05):
            await anyio.sleep(10)

    assert scope.cancelled_caught
    with pytest.raises(SandboxSessionNotFoundError):
        await async_client.get_active_sandbox_session(async_chat.chat_id)


def _session(ttl_seconds: float) -> SandboxSession:
    started = datetime(2026, 4, 1, tzinfo=UTC)
    return SandboxSession(
        session_id=uuid4(),
        chat_id=uuid4(),
        started_at=started,
        expires_at=started + timedelta(seconds=ttl_seconds),
    )


def test_heartbeats_come_every_third_of_the_ttl_unless_told() -> None:
    assert heartbeat_interval(_session(3600), None) == pytest.approx(1200)
    assert heartbeat_interval(_session(1), None) == pytest.approx(1 / 3)
    assert heartbeat_interval(_session(3600), 5.0) == 5.0
    with pytest.raises(ValueError, match="positive"):
        heartbeat_interval(_session(60), 0)
