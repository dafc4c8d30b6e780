import base64
import re
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidCursorError, InvalidInputError
from domain.paging import Page, PageCursor, PageRequest, page_of

AT = datetime(2026, 4, 1, 12, 0, 0, 123456, tzinfo=UTC)
ITEM_ID = UUID("3f0c2a4e-8d1b-4c6e-9a7f-0b1c2d3e4f50")


def token_of(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def test_cursor_survives_encoding_and_decoding() -> None:
    cursor = PageCursor(AT, ITEM_ID)

    decoded = PageCursor.decode(cursor.encode())

    assert decoded == cursor
    assert decoded.created_at.utcoffset() == timedelta(0)


def test_cursor_keeps_a_non_utc_offset() -> None:
    created_at = datetime(2026, 4, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))

    decoded = PageCursor.decode(PageCursor(created_at, ITEM_ID).encode())

    assert decoded.created_at == created_at
    assert decoded.created_at.utcoffset() == timedelta(hours=2)


def test_cursor_token_is_url_safe_without_padding() -> None:
    token = PageCursor(AT, ITEM_ID).encode()

    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)


GARBAGE_TOKENS = [
    pytest.param("", id="empty"),
    pytest.param("a", id="impossible-base64-length"),
    pytest.param("!!!!", id="not-base64"),
    pytest.param("é", id="not-ascii"),
    pytest.param(token_of(b"\xff\xfe\xfd"), id="not-utf8"),
    pytest.param(token_of(b"hello"), id="no-separator"),
    pytest.param(token_of(f"yesterday|{ITEM_ID}".encode()), id="bad-time"),
    pytest.param(token_of(f"{AT.isoformat()}|not-a-uuid".encode()), id="bad-uuid"),
    pytest.param(token_of(f"{AT.isoformat()}|".encode()), id="missing-uuid"),
    pytest.param(token_of(f"{AT.isoformat()}|{ITEM_ID}|x".encode()), id="extra-field"),
]


@pytest.mark.parametrize("token", GARBAGE_TOKENS)
def test_cursor_not_issued_by_the_service_is_refused_as_validation_error(token: str) -> None:
    with pytest.raises(InvalidCursorError) as raised:
        PageCursor.decode(token)

    assert raised.value.code == "validation_error"
    assert isinstance(raised.value, InvalidInputError)


def test_cursor_with_a_naive_time_is_refused() -> None:
    naive = AT.replace(tzinfo=None)

    with pytest.raises(InvalidCursorError):
        PageCursor.decode(token_of(f"{naive.isoformat()}|{ITEM_ID}".encode()))


def test_cursors_order_by_time_then_id() -> None:
    early = PageCursor(AT, UUID(int=9))
    tie_lower_id = PageCursor(AT + timedelta(seconds=1), UUID(int=1))
    tie_higher_id = PageCursor(AT + timedelta(seconds=1), UUID(int=2))

    assert sorted([tie_higher_id, early, tie_lower_id]) == [early, tie_lower_id, tie_higher_id]


@pytest.mark.parametrize(
    "limit",
    [
        pytest.param(1, id="lowest"),
        pytest.param(100, id="default"),
        pytest.param(1000, id="highest"),
    ],
)
def test_page_request_from_token_accepts_limits_within_bounds(limit: int) -> None:
    assert PageRequest.from_token(limit, None) == PageRequest(limit, None)


@pytest.mark.parametrize(
    "limit",
    [pytest.param(0, id="zero"), pytest.param(-1, id="negative"), pytest.param(1001, id="1001")],
)
def test_page_request_from_token_refuses_limits_out_of_bounds(limit: int) -> None:
    with pytest.raises(InvalidInputError) as raised:
        PageRequest.from_token(limit, None)

    assert raised.value.code == "validation_error"


def test_page_request_from_token_decodes_the_cursor() -> None:
    cursor = PageCursor(AT, ITEM_ID)

    assert PageRequest.from_token(10, cursor.encode()).after == cursor


def test_page_request_from_token_refuses_a_garbage_cursor() -> None:
    with pytest.raises(InvalidCursorError):
        PageRequest.from_token(10, "garbage")


def test_page_request_defaults_to_first_page_of_100() -> None:
    assert PageRequest() == PageRequest(PageRequest.DEFAULT_LIMIT, None)
    assert (PageRequest.MIN_LIMIT, PageRequest.DEFAULT_LIMIT, PageRequest.MAX_LIMIT) == (
        1,
        100,
        1000,
    )


def test_page_request_needs_a_positive_limit() -> None:
    with pytest.raises(InvalidInputError):
        PageRequest(0)


def test_probe_asks_for_one_more_item_after_the_same_position() -> None:
    cursor = PageCursor(AT, ITEM_ID)

    assert PageRequest(5, cursor).probe() == PageRequest(6, cursor)


def position(number: int) -> PageCursor:
    return PageCursor(AT + timedelta(seconds=number), UUID(int=number))


def test_page_of_probe_with_an_extra_item_keeps_limit_and_points_after_last_kept() -> None:
    page = page_of([1, 2, 3, 4], 3, position)

    assert page.items == [1, 2, 3]
    assert page.next_cursor is not None
    assert PageCursor.decode(page.next_cursor) == position(3)


@pytest.mark.parametrize(
    "items",
    [
        pytest.param([], id="empty"),
        pytest.param([1, 2], id="short"),
        pytest.param([1, 2, 3], id="full"),
    ],
)
def test_page_of_probe_without_an_extra_item_is_the_last_page(items: list[int]) -> None:
    assert page_of(items, 3, position) == Page(items, None)


ITEM_IDS = st.uuids()
OFFSETS = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
CREATED_ATS = st.one_of(
    st.datetimes(timezones=st.just(UTC)),
    st.datetimes(timezones=OFFSETS),
)


@settings(derandomize=True, max_examples=200)
@given(CREATED_ATS, ITEM_IDS)
def test_any_cursor_round_trips(created_at: datetime, item_id: UUID) -> None:
    cursor = PageCursor(created_at, item_id)

    decoded = PageCursor.decode(cursor.encode())

    assert decoded == cursor
    assert decoded.created_at.utcoffset() == created_at.utcoffset()
