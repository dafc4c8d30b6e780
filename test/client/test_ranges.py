from collections.abc import Callable

import pytest

from chatstore_client import ByteRange


@pytest.mark.parametrize(
    ("byte_range", "header"),
    [
        pytest.param(ByteRange(0, 99), "bytes=0-99", id="first-100"),
        pytest.param(ByteRange(5, 5), "bytes=5-5", id="one-byte"),
        pytest.param(ByteRange(100), "bytes=100-", id="open-end"),
        pytest.param(ByteRange.last(500), "bytes=-500", id="suffix"),
    ],
)
def test_a_byte_range_writes_its_range_header(byte_range: ByteRange, header: str) -> None:
    assert byte_range.header() == header


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(lambda: ByteRange(-1), "offset of 0 or more", id="negative-start"),
        pytest.param(lambda: ByteRange(10, 9), "at or after its start", id="end-before-start"),
        pytest.param(lambda: ByteRange(None), "offset of 0 or more", id="no-start"),
        pytest.param(lambda: ByteRange.last(0), "at least one byte", id="empty-suffix"),
        pytest.param(lambda: ByteRange(0, suffix_length=5), "neither start", id="both"),
    ],
)
def test_a_range_that_names_no_bytes_is_refused(
    make: Callable[[], ByteRange], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make()
