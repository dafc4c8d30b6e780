import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.byte_range import ByteRange
from domain.errors import InvalidInputError, RangeNotSatisfiableError

RESOLVED = [
    pytest.param(0, 0, 10, (0, 0), id="first-byte"),
    pytest.param(2, 5, 10, (2, 5), id="inside"),
    pytest.param(0, 9, 10, (0, 9), id="whole-file"),
    pytest.param(9, 9, 10, (9, 9), id="last-byte"),
    pytest.param(5, 100, 10, (5, 9), id="end-past-file-is-clamped"),
    pytest.param(5, 10, 10, (5, 9), id="end-one-past-file-is-clamped"),
    pytest.param(0, None, 10, (0, 9), id="open-from-start"),
    pytest.param(9, None, 10, (9, 9), id="open-from-last-byte"),
    pytest.param(None, 3, 10, (7, 9), id="suffix"),
    pytest.param(None, 10, 10, (0, 9), id="suffix-of-whole-file"),
    pytest.param(None, 50, 10, (0, 9), id="suffix-longer-than-file"),
    pytest.param(None, 1, 1, (0, 0), id="suffix-of-one-byte-file"),
]

UNSATISFIABLE = [
    pytest.param(10, None, 10, id="open-start-at-end"),
    pytest.param(11, None, 10, id="open-start-past-end"),
    pytest.param(10, 20, 10, id="closed-start-at-end"),
    pytest.param(0, None, 0, id="open-on-empty-file"),
    pytest.param(0, 0, 0, id="closed-on-empty-file"),
    pytest.param(None, 5, 0, id="suffix-on-empty-file"),
    pytest.param(None, 0, 10, id="suffix-of-zero-bytes"),
]

INVALID = [
    pytest.param(None, None, id="neither-start-nor-suffix"),
    pytest.param(-1, None, id="negative-start"),
    pytest.param(0, -1, id="negative-end"),
    pytest.param(None, -1, id="negative-suffix"),
    pytest.param(5, 4, id="end-before-start"),
]


@pytest.mark.parametrize(("first", "last", "size", "expected"), RESOLVED)
def test_range_resolves_to_inclusive_span_within_file(
    first: int | None, last: int | None, size: int, expected: tuple[int, int]
) -> None:
    assert ByteRange(first, last).resolve(size) == expected


@pytest.mark.parametrize(("first", "last", "size"), UNSATISFIABLE)
def test_range_selecting_nothing_is_not_satisfiable(
    first: int | None, last: int | None, size: int
) -> None:
    with pytest.raises(RangeNotSatisfiableError) as raised:
        ByteRange(first, last).resolve(size)

    assert raised.value.code == "range_not_satisfiable"
    assert raised.value.size_bytes == size


@pytest.mark.parametrize(("first", "last"), INVALID)
def test_malformed_range_cannot_be_built(first: int | None, last: int | None) -> None:
    with pytest.raises(InvalidInputError) as raised:
        ByteRange(first, last)

    assert raised.value.code == "validation_error"


POSITIONS = st.integers(min_value=0, max_value=2_000)


@st.composite
def byte_ranges(draw: st.DrawFn) -> ByteRange:
    kind = draw(st.sampled_from(["closed", "open", "suffix"]))
    if kind == "suffix":
        return ByteRange(None, draw(POSITIONS))
    first = draw(POSITIONS)
    if kind == "open":
        return ByteRange(first, None)
    return ByteRange(first, first + draw(POSITIONS))


@settings(derandomize=True, max_examples=200)
@given(byte_ranges(), POSITIONS)
def test_resolved_span_always_lies_inside_the_file(byte_range: ByteRange, size: int) -> None:
    try:
        start, end = byte_range.resolve(size)
    except RangeNotSatisfiableError:
        selects_nothing = (
            size == 0
            or (byte_range.first is None and byte_range.last == 0)
            or (byte_range.first is not None and byte_range.first >= size)
        )
        assert selects_nothing
        return

    assert 0 <= start <= end < size
    if byte_range.first is None:
        assert byte_range.last is not None
        assert (start, end) == (max(size - byte_range.last, 0), size - 1)
    else:
        assert start == byte_range.first
        assert end == (size - 1 if byte_range.last is None else min(byte_range.last, size - 1))
