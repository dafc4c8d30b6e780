from datetime import UTC, datetime, timedelta

from adapter.clock import SystemClock


def test_now_is_timezone_aware_utc() -> None:
    now = SystemClock().now()

    assert now.tzinfo is UTC
    assert now.utcoffset() == timedelta(0)


def test_now_is_the_current_time() -> None:
    before = datetime.now(UTC)
    now = SystemClock().now()
    after = datetime.now(UTC)

    assert before <= now <= after
