from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from domain.errors import InvalidInputError
from domain.sandbox_session import SandboxSession

NOW = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
SESSION_ID = UUID("00000000-0000-4000-8000-000000000051")
CHAT_ID = UUID("00000000-0000-4000-8000-0000000000c1")
TICK = timedelta(microseconds=1)


def later(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


def started(ttl_seconds: int | None = 60) -> SandboxSession:
    return SandboxSession.start(SESSION_ID, CHAT_ID, NOW, ttl_seconds)


def test_start_without_ttl_leases_for_an_hour() -> None:
    session = started(None)

    assert session.ttl_seconds == SandboxSession.TTL_DEFAULT_SECONDS == 3600
    assert (session.started_at, session.expires_at) == (NOW, later(3600))
    assert session.ended_at is None


@pytest.mark.parametrize(
    "ttl", [pytest.param(1, id="shortest"), pytest.param(86_400, id="longest")]
)
def test_start_accepts_ttl_at_the_bounds(ttl: int) -> None:
    session = started(ttl)

    assert (session.ttl_seconds, session.expires_at) == (ttl, later(ttl))


@pytest.mark.parametrize(
    "ttl",
    [pytest.param(0, id="zero"), pytest.param(-5, id="negative"), pytest.param(86_401, id="over")],
)
def test_start_refuses_ttl_out_of_bounds(ttl: int) -> None:
    with pytest.raises(InvalidInputError) as raised:
        started(ttl)

    assert raised.value.code == "validation_error"


def test_session_is_active_until_just_before_it_expires() -> None:
    session = started(60)

    assert session.is_active(NOW)
    assert session.is_active(later(60) - TICK)
    assert not session.is_active(later(60))
    assert not session.is_active(later(61))


def test_ended_session_is_not_active_even_before_expiry() -> None:
    session = started(60).ended(later(10))

    assert session.ended_at == later(10)
    assert not session.is_active(later(10))
    assert not session.is_active(later(20))


def test_extended_without_ttl_uses_the_starting_ttl_from_now() -> None:
    session = started(60)

    assert session.extended(later(30), None).expires_at == later(90)


def test_extended_with_ttl_moves_expiry_to_now_plus_that_ttl() -> None:
    session = started(60)

    assert session.extended(later(30), 600).expires_at == later(630)


def test_extended_keeps_the_starting_ttl_as_default_for_later_extensions() -> None:
    session = started(60).extended(later(30), 600)

    assert session.ttl_seconds == 60
    assert session.extended(later(100), None).expires_at == later(160)


def test_extended_keeps_identity_and_start() -> None:
    session = started(60)

    extended = session.extended(later(30), None)

    assert (extended.session_id, extended.chat_id, extended.started_at) == (
        SESSION_ID,
        CHAT_ID,
        NOW,
    )


@pytest.mark.parametrize("ttl", [pytest.param(0, id="zero"), pytest.param(86_401, id="over")])
def test_extended_refuses_ttl_out_of_bounds(ttl: int) -> None:
    with pytest.raises(InvalidInputError):
        started(60).extended(later(1), ttl)
