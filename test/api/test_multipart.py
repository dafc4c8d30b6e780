"""RFC 2046 framing around the parts: a preamble before the first delimiter, transport
padding after any delimiter and an epilogue after the close delimiter are accepted and
ignored, however the body is cut into network chunks. The first two at the start of the
body are ours to handle (python-multipart refuses them there); padding on later delimiter
lines and the epilogue are python-multipart's, and these tests pin that it still does."""

from collections.abc import AsyncIterator, Iterable

import pytest

from api.http_problem import HttpProblemError
from api.multipart import MultipartStream

pytestmark = pytest.mark.anyio

BOUNDARY = "XyZ-42"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
CHUNK_SIZES = [1, 2, 3, 5, 8, 13, 64, None]


def part(name: str, data: bytes) -> bytes:
    disposition = f'Content-Disposition: form-data; name="file"; filename="{name}"'
    return disposition.encode() + b"\r\n\r\n" + data


def delimiter(padding: bytes = b"", *, close: bool = False) -> bytes:
    return b"--" + BOUNDARY.encode() + (b"--" if close else b"") + padding


def body(
    *parts: bytes,
    preamble: bytes = b"",
    padding: bytes = b"",
    epilogue: bytes = b"",
) -> bytes:
    out = preamble + b"\r\n" if preamble else b""
    for each in parts:
        out += delimiter(padding) + b"\r\n" + each + b"\r\n"
    return out + delimiter(padding, close=True) + b"\r\n" + epilogue


async def chunked(data: bytes, size: int | None) -> AsyncIterator[bytes]:
    step = size or max(len(data), 1)
    for offset in range(0, len(data), step):
        yield data[offset : offset + step]


async def parse(data: bytes, size: int | None) -> list[tuple[str | None, bytes]]:
    stream = MultipartStream(CONTENT_TYPE, chunked(data, size))
    return [
        (item.filename, b"".join([c async for c in item.chunks()])) async for item in stream.files()
    ]


A = part("a.txt", b"first\r\n--XyZ-4 not a boundary")
B = part("b.txt", b"second")
PARSED = [("a.txt", b"first\r\n--XyZ-4 not a boundary"), ("b.txt", b"second")]

FRAMINGS = [
    pytest.param(body(A, B), id="none"),
    pytest.param(body(A, B, preamble=b"This is the preamble."), id="preamble"),
    pytest.param(
        body(A, B, preamble=b"mentions --XyZ-42x and\r\n--XyZ-42 y\r\n--XyZ-42-z"),
        id="preamble-with-lines-that-are-almost-delimiters",
    ),
    pytest.param(b"\r\n" + body(A, B), id="preamble-of-one-crlf"),
    pytest.param(body(A, B, padding=b" "), id="padding-space"),
    pytest.param(body(A, B, padding=b"\t \t  "), id="padding-tabs-and-spaces"),
    pytest.param(body(A, B, epilogue=b"This is the epilogue.\r\n--XyZ-42\r\njunk"), id="epilogue"),
    pytest.param(body(A, B)[:-2], id="close-delimiter-without-crlf"),
    pytest.param(
        body(A, B, preamble=b"pre-amble", padding=b" \t", epilogue=b"epi-logue"), id="all-three"
    ),
]


@pytest.mark.parametrize("size", CHUNK_SIZES, ids=lambda size: f"chunks-of-{size or 'all'}")
@pytest.mark.parametrize("data", FRAMINGS)
async def test_framing_around_the_parts_is_ignored(data: bytes, size: int | None) -> None:
    assert await parse(data, size) == PARSED


@pytest.mark.parametrize("size", CHUNK_SIZES, ids=lambda size: f"chunks-of-{size or 'all'}")
async def test_body_of_only_a_close_delimiter_after_a_preamble_has_no_parts(
    size: int | None,
) -> None:
    assert await parse(b"preamble\r\n" + delimiter(b" ", close=True), size) == []


def first_line_ending_at(end: int) -> bytes:
    """A body whose first delimiter line (after a preamble) ends exactly at byte `end`."""
    line = b"\r\n" + delimiter() + b"\r\n"
    return b"p" * (end - len(line)) + line + part("a.txt", b"A") + b"\r\n" + delimiter(close=True)


@pytest.mark.parametrize("size", [1000, None], ids=["chunks-of-1000", "chunks-of-all"])
async def test_preamble_up_to_the_bound_is_accepted(size: int | None) -> None:
    data = first_line_ending_at(MultipartStream.MAX_PREAMBLE_BYTES)

    assert await parse(data, size) == [("a.txt", b"A")]


@pytest.mark.parametrize("size", [1000, None], ids=["chunks-of-1000", "chunks-of-all"])
async def test_preamble_past_the_bound_is_malformed(size: int | None) -> None:
    data = first_line_ending_at(MultipartStream.MAX_PREAMBLE_BYTES + 1)

    with pytest.raises(HttpProblemError) as raised:
        await parse(data, size)

    assert raised.value.code == "validation_error"
    assert f"first {MultipartStream.MAX_PREAMBLE_BYTES} bytes" in raised.value.detail


async def test_endless_preamble_is_refused_after_the_bound_without_reading_on() -> None:
    read = 0

    async def endless() -> AsyncIterator[bytes]:  # as good as: ten times the bound
        nonlocal read
        for _ in range(10 * MultipartStream.MAX_PREAMBLE_BYTES // 1000):
            read += 1000
            yield b"\r\n-" * 333 + b"x"

    stream = MultipartStream(CONTENT_TYPE, endless())

    with pytest.raises(HttpProblemError):
        await anext(stream.files())

    assert MultipartStream.MAX_PREAMBLE_BYTES < read <= MultipartStream.MAX_PREAMBLE_BYTES + 1000


MALFORMED = [
    pytest.param(b"", id="empty"),
    pytest.param(b"no boundary at all", id="no-delimiter"),
    pytest.param(b"preamble\r\n" + delimiter(b"  x") + b"\r\n" + A, id="padding-then-junk-only"),
    pytest.param(b"preamble--" + BOUNDARY.encode() + b"\r\n" + A, id="delimiter-not-at-a-line"),
    pytest.param(body(A)[: -len(delimiter(close=True)) - 2], id="no-close-delimiter"),
    pytest.param(
        body(A).replace(b"\r\n" + delimiter(close=True), b"\r\n" + delimiter(b" x")),
        id="later-delimiter-padding-then-junk",
    ),
]


@pytest.mark.parametrize("size", [1, None], ids=["chunks-of-1", "chunks-of-all"])
@pytest.mark.parametrize("data", MALFORMED)
async def test_body_without_proper_delimiters_is_malformed(data: bytes, size: int | None) -> None:
    with pytest.raises(HttpProblemError) as raised:
        await parse(data, size)

    assert raised.value.code == "validation_error"


def names(disposition_lines: Iterable[str]) -> bytes:
    parts = [line.encode() + b"\r\n\r\nx" for line in disposition_lines]
    return body(*parts)


async def test_unclosed_quoted_string_in_a_part_header_is_malformed() -> None:
    data = names(['Content-Disposition: form-data; name="file"; filename="a\\"'])

    with pytest.raises(HttpProblemError) as raised:
        await parse(data, None)

    assert raised.value.code == "validation_error"
    assert "quoted-string" in raised.value.detail


async def test_a_file_part_hands_on_its_decoded_name_and_other_fields_are_skipped() -> None:
    data = names(
        [
            'Content-Disposition: form-data; name="note"; filename*=bad',
            "Content-Disposition: form-data; name=file; filename*=UTF-8''%E2%82%AC.txt",
            'Content-Disposition: form-data; name="file"; filename="say %22hi%22.txt"',
        ]
    )

    assert await parse(data, 7) == [("€.txt", b"x"), ('say "hi".txt', b"x")]
