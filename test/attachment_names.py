"""Attachment names and what the name rule (domain/attachment_name.py; api.md, "Attachment
names") says of each: kept exactly as sent, or refused with its stable code.

One table, run by the domain, use case, upload and rescan tests alike, each over the names
its way in can carry (`kept_names(fits)`, `refused_names(fits)`, `refusals(fits)` with
the code).
"""

import os
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from domain.errors import DomainError, InvalidAttachmentNameError, ReservedAttachmentNameError

INVALID = "invalid_attachment_name"
RESERVED = "reserved_attachment_name"
ERROR_OF_CODE: dict[str, type[DomainError]] = {
    INVALID: InvalidAttachmentNameError,
    RESERVED: ReservedAttachmentNameError,
}

# The most a Linux file name may take, in bytes (NAME_MAX): also the rule's own limit.
NAME_MAX = 255


@dataclass(frozen=True, slots=True)
class Name:
    value: str
    id: str
    refused_with: str | None = None  # the code of the refusal; None: kept as sent


NAMES = [
    # Kept as sent.
    Name("a", "one-char"),
    Name("a b.txt", "space"),
    Name(" ", "single-space"),
    Name("with space; and semicolon.txt", "semicolon-and-spaces"),
    Name("résumé.pdf", "accented"),
    Name("报告.docx", "cjk"),
    Name("💡.md", "emoji"),
    Name("résumé 📄.txt", "accented-and-emoji"),
    Name(".hidden", "leading-dot"),
    Name("..a", "dot-dot-prefix"),
    Name("a..", "dot-dot-suffix"),
    Name("...", "three-dots"),
    Name("a%2Fb", "percent-encoded-slash-is-not-decoded"),
    Name("100%25 done.txt", "percent-sequence-kept-as-sent"),
    Name("C:x.txt", "drive-letter-colon"),
    Name("a\u200bb", "zero-width-space-is-format-not-control"),
    Name("a\u2028b", "line-separator-is-not-control"),
    Name("a\xa0b", "no-break-space-after-c1"),
    Name("History.md", "reserved-name-other-case"),
    Name("history.md.bak", "history-with-suffix"),
    Name("my history.md", "history-with-prefix"),
    Name("a" * 255, "255-ascii-bytes"),
    Name("é" * 127 + "a", "255-bytes-of-two-byte-chars"),
    Name("é" * 127 + "x", "255-bytes-of-two-byte-chars-and-x"),
    Name("€" * 85, "255-bytes-of-three-byte-chars"),
    Name("😀" * 63 + "abc", "255-bytes-of-four-byte-chars"),
    # Not one path component inside the chat directory.
    Name("", "empty", INVALID),
    Name(".", "dot", INVALID),
    Name("..", "dot-dot", INVALID),
    Name("/", "slash-alone", INVALID),
    Name("a/b", "slash-inside", INVALID),
    Name("../etc/passwd", "path-traversal", INVALID),
    Name("../../etc/passwd", "path-traversal-two-up", INVALID),
    Name("../escape.txt", "slash-after-dot-dot", INVALID),
    Name("\\", "backslash-alone", INVALID),
    Name("a\\b", "backslash-inside", INVALID),
    Name("..\\escape.txt", "backslash-after-dot-dot", INVALID),
    Name("C:\\x\\y.txt", "windows-path", INVALID),
    # Control characters (Unicode category Cc: C0, DEL and C1).
    Name("\x00", "nul-alone", INVALID),
    Name("a\x00.txt", "nul-inside", INVALID),
    Name("a\x00b", "nul-between", INVALID),
    Name("a\x01b", "control-char", INVALID),
    Name("bad\x01name.txt", "control-char-in-a-longer-name", INVALID),
    Name("a\tb", "tab", INVALID),
    Name("tab\there.txt", "tab-in-a-longer-name", INVALID),
    Name("a\nb", "line-feed", INVALID),
    Name("line\nbreak.txt", "line-feed-in-a-longer-name", INVALID),
    Name("a\rb", "carriage-return", INVALID),
    Name("a\x1fb", "unit-separator-last-c0", INVALID),
    Name("a\x7fb", "delete", INVALID),
    Name("del\x7f.txt", "delete-at-the-end-of-the-stem", INVALID),
    Name("a\x85b", "next-line-c1", INVALID),
    Name("a\x9fb", "last-c1", INVALID),
    # Over 255 bytes in UTF-8.
    Name("a" * 256, "256-ascii-bytes", INVALID),
    Name("é" * 128, "256-bytes-of-two-byte-chars", INVALID),
    Name("€" * 85 + "a", "256-bytes-of-three-byte-chars", INVALID),
    Name("😀" * 64, "256-bytes-of-four-byte-chars", INVALID),
    Name("é" * 200, "200-chars-but-400-bytes", INVALID),
    # Not Unicode: lone surrogates, among them what os.fsdecode makes of bytes that are not
    # UTF-8 (`\udcff` stands for the byte 0xff).
    Name("\ud800", "lone-high-surrogate", INVALID),
    Name("a\udc00.txt", "lone-low-surrogate-inside", INVALID),
    Name("bad-\udcff.txt", "not-utf8", INVALID),
    Name("bad-\udcff-utf8.txt", "not-utf8-mid-name", INVALID),
    # The history's own name.
    Name("history.md", "history-file-name", RESERVED),
]


def anywhere(_value: str) -> bool:
    return True


def kept_names(fits: Callable[[str], bool] = anywhere) -> list[pytest.ParameterSet]:
    """`(value,)` of each name the rule keeps that `fits` the way in under test."""
    return [
        pytest.param(name.value, id=name.id)
        for name in NAMES
        if name.refused_with is None and fits(name.value)
    ]


def refused_names(fits: Callable[[str], bool] = anywhere) -> list[pytest.ParameterSet]:
    """`(value,)` of each name the rule refuses that `fits` the way in under test."""
    return [pytest.param(case.values[0], id=case.id) for case in refusals(fits)]


def refusals(fits: Callable[[str], bool] = anywhere) -> list[pytest.ParameterSet]:
    """`(value, code)` of each name the rule refuses that `fits` the way in under test."""
    return [
        pytest.param(name.value, name.refused_with, id=name.id)
        for name in NAMES
        if name.refused_with is not None and fits(name.value)
    ]


def name_bytes(value: str) -> bytes | None:
    """The bytes a name stands for on disk and on the wire: UTF-8, with os.fsdecode's
    escapes of bytes that are not UTF-8 turned back into them; None for a lone surrogate
    that stands for no byte."""
    try:
        return os.fsencode(value)
    except UnicodeEncodeError:
        return None


def a_file_can_bear(value: str) -> bool:
    """Whether a file in a directory can have this name on Linux: one path component, no
    NUL, at most NAME_MAX bytes."""
    encoded = name_bytes(value)
    return (
        encoded is not None
        and value not in ("", ".", "..")
        and b"/" not in encoded
        and b"\x00" not in encoded
        and len(encoded) <= NAME_MAX
    )
