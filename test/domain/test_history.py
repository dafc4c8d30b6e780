import hashlib

import pytest

from domain.errors import InvalidHistoryEncodingError
from domain.history import HistoryVersion, Utf8Validator

SHA = hashlib.sha256(b"# hello").hexdigest()
OTHER_SHA = hashlib.sha256(b"# bye").hexdigest()
VERSION = HistoryVersion(SHA, 7)


def test_etag_is_the_quoted_sha256() -> None:
    assert VERSION.etag == f'"{SHA}"'


MATCHING = [
    pytest.param(f'"{SHA}"', id="exact"),
    pytest.param("*", id="star"),
    pytest.param(f' "{SHA}" ', id="padded"),
    pytest.param(f'"{OTHER_SHA}", "{SHA}"', id="in-list"),
    pytest.param(f'"{OTHER_SHA}",*', id="star-in-list"),
]

NOT_MATCHING = [
    pytest.param(f'"{OTHER_SHA}"', id="other"),
    pytest.param(SHA, id="unquoted"),
    pytest.param(f'"{OTHER_SHA}", "x"', id="list-without-it"),
    pytest.param("", id="empty"),
    pytest.param(f'"{SHA.upper()}"', id="other-case"),
]


@pytest.mark.parametrize("header", MATCHING)
def test_version_matches_a_header_naming_it(header: str) -> None:
    assert VERSION.matches(header)


@pytest.mark.parametrize("header", NOT_MATCHING)
def test_version_does_not_match_a_header_not_naming_it(header: str) -> None:
    assert not VERSION.matches(header)


def feed_all(*chunks: bytes) -> None:
    validator = Utf8Validator()
    for chunk in chunks:
        validator.feed(chunk)
    validator.feed(b"", final=True)


VALID_STREAMS = [
    pytest.param((), id="empty"),
    pytest.param((b"# plain ascii\n",), id="ascii"),
    pytest.param(("héllo wörld".encode(),), id="two-byte"),
    pytest.param((b"caf\xc3", b"\xa9"), id="two-byte-char-split"),
    pytest.param((b"\xe2", b"\x82", b"\xac"), id="three-byte-char-split-in-three"),
    pytest.param((b"\xf0\x9f", b"\x98\x80 ok"), id="four-byte-char-split"),
    pytest.param((b"a", b"", b"b"), id="empty-chunk-between"),
]

INVALID_STREAMS = [
    pytest.param((b"\xff",), id="never-valid-byte"),
    pytest.param((b"ok", b"\x80"), id="stray-continuation"),
    pytest.param((b"\xc0\xaf",), id="overlong"),
    pytest.param((b"\xed\xa0\x80",), id="encoded-surrogate"),
    pytest.param((b"\xf4\x90\x80\x80",), id="above-unicode"),
    pytest.param((b"\xc3", b"a"), id="split-char-broken-in-next-chunk"),
    pytest.param((b"abc\xc3",), id="truncated-at-the-end"),
    pytest.param((b"\xf0\x9f\x98",), id="truncated-four-byte-char"),
    pytest.param(("latin-1 é".encode("latin-1"),), id="latin-1"),
]


@pytest.mark.parametrize("chunks", VALID_STREAMS)
def test_utf8_stream_is_accepted_however_it_is_split(chunks: tuple[bytes, ...]) -> None:
    feed_all(*chunks)


@pytest.mark.parametrize("chunks", INVALID_STREAMS)
def test_stream_that_is_not_utf8_is_refused(chunks: tuple[bytes, ...]) -> None:
    with pytest.raises(InvalidHistoryEncodingError) as raised:
        feed_all(*chunks)

    assert raised.value.code == "invalid_history_encoding"


def test_invalid_byte_is_refused_as_soon_as_it_arrives() -> None:
    validator = Utf8Validator()

    with pytest.raises(InvalidHistoryEncodingError):
        validator.feed(b"fine so far \xff")


def test_truncated_sequence_is_refused_only_at_the_end() -> None:
    validator = Utf8Validator()
    validator.feed(b"abc\xc3")

    with pytest.raises(InvalidHistoryEncodingError):
        validator.feed(b"", final=True)
