"""How a part's Content-Disposition carries an attachment name, and what the service reads
from each (api.md, "Attachment names on the wire").

One table, run by the parameter parser's test (test/api/test_mime_params.py), by the
upload test (test/api/test_attachment_names_api.py) and, for the rows chatstore's own
client writes, by the client's test (test/client/test_uploads.py).
"""

from dataclasses import dataclass
from enum import Enum

import pytest

from test.attachment_names import INVALID, RESERVED

VALIDATION_ERROR = "validation_error"


class Unreadable(Enum):
    MALFORMED = "the parameters do not parse (a quoted-string that never closes)"
    NOT_UTF8_PERCENT_ENCODED = "a filename* that is not UTF-8 percent-encoding is no name"


MALFORMED = Unreadable.MALFORMED
NOT_UTF8 = Unreadable.NOT_UTF8_PERCENT_ENCODED


# The Content-Disposition of a file part up to its file name parameters.
FILE_PART = 'form-data; name="file"; '
UNQUOTED_FILE_PART = "form-data; name=file; "


@dataclass(frozen=True, slots=True)
class OnTheWire:
    params: str  # what follows `frame`
    reads_as: str | Unreadable | None  # the name read; None: the part has no file name
    id: str
    refused_with: str | None = None  # the code an upload of it answers; None: stored
    frame: str = FILE_PART

    @property
    def disposition(self) -> str:
        return self.frame + self.params


# As chatstore's client writes a name (chatstore_client.uploads.content_disposition):
# quoted as browsers do, with RFC 8187's filename* beside it for a name that is not ASCII.
WRITTEN_BY_THE_CLIENT = [
    OnTheWire('filename="a.txt"', "a.txt", "plain-quoted"),
    OnTheWire('filename="say %22hi%22%0D%0A.txt"', 'say "hi"\r\n.txt', "quote-cr-lf", INVALID),
    OnTheWire('filename="100%.txt"', "100%.txt", "stray-percent"),
    OnTheWire(
        "filename=\"Übersicht 2026.pdf\"; filename*=UTF-8''%C3%9Cbersicht%202026.pdf",
        "Übersicht 2026.pdf",
        "non-ascii",
    ),
]

SAY_HI = 'say "hi".txt'
BROWSER_SAY_HI = 'filename="say %22hi%22.txt"'
QUOTED_PAIR_SAY_HI = 'filename="say \\"hi\\".txt"'

NAMES_ON_THE_WIRE = [
    *WRITTEN_BY_THE_CLIENT,
    # A quoted-string: quoted-pairs unescaped, then %22, %0D and %0A decoded, once.
    OnTheWire(BROWSER_SAY_HI, SAY_HI, "percent-22-browser-curl-requests-httpx"),
    OnTheWire(QUOTED_PAIR_SAY_HI, SAY_HI, "quoted-pair-aiohttp"),
    OnTheWire('filename="a \\"q\\".txt"', 'a "q".txt', "quoted-pair-quote"),
    OnTheWire('filename="a\\\\b"', "a\\b", "quoted-pair-backslash", INVALID),
    OnTheWire(
        'filename="C:\\dir\\x.txt"',
        "C:\\dir\\x.txt",
        "backslash-before-other-char-is-kept",
        INVALID,
    ),
    OnTheWire('filename="a%0D%0Ab"', "a\r\nb", "percent-0d-0a", INVALID),
    OnTheWire('filename="line%0D%0Abreak.txt"', "line\r\nbreak.txt", "crlf-decoded", INVALID),
    OnTheWire('filename="%0a"', "\n", "lone-lf-decoded", INVALID),
    OnTheWire('filename="a%0d%0ab%22"', 'a\r\nb"', "lower-case-hex", INVALID),
    OnTheWire('filename="a%2Fb"', "a%2Fb", "percent-2f-kept"),
    OnTheWire('filename="a%2Fb.txt"', "a%2Fb.txt", "percent-2f-kept-in-a-name"),
    OnTheWire('filename="a %3B b"', "a %3B b", "percent-3b-kept"),
    OnTheWire('filename="100%25.txt"', "100%25.txt", "percent-25"),
    OnTheWire('filename="%2522"', "%2522", "decoded-once-only"),
    OnTheWire('filename="%09%20%41"', "%09%20%41", "other-escapes"),
    OnTheWire('filename="a;b.txt"', "a;b.txt", "semicolon-in-quotes"),
    OnTheWire(
        'filename="a\\";b.txt"; name="file"',
        'a";b.txt',
        "escaped-quote-before-semicolon",
        frame="form-data; ",
    ),
    OnTheWire('filename="say "hi".txt"', SAY_HI, "raw-quotes-of-a-client-that-never-escapes"),
    OnTheWire('filename=""', "", "empty-name", INVALID),
    # A token, unquoted.
    OnTheWire("filename=abc.txt", "abc.txt", "unquoted-token", frame=UNQUOTED_FILE_PART),
    OnTheWire("filename=plain.txt", "plain.txt", "unquoted-token-plain", frame=UNQUOTED_FILE_PART),
    OnTheWire("filename=a%22b", 'a"b', "unquoted-token-percent-22", frame=UNQUOTED_FILE_PART),
    OnTheWire("filename= a b.txt ;x=1", "a b.txt", "unquoted-spaces", frame=UNQUOTED_FILE_PART),
    # RFC 8187's filename*: when there, it is the name.
    OnTheWire(
        "filename=\"fallback.txt\"; filename*=UTF-8''%E2%82%AC%20rates.txt",
        "€ rates.txt",
        "filename-star-wins",
    ),
    OnTheWire(
        "filename*=utf-8''%C3%A9t%C3%A9.txt; filename=\"x\"",
        "été.txt",
        "filename-star-wins-in-either-order",
    ),
    OnTheWire("filename*=UTF-8'en'say%20%22hi%22.txt", SAY_HI, "filename-star-with-language-alone"),
    OnTheWire(
        "filename=\"say _hi_.txt\"; filename*=utf-8''say%20%22hi%22.txt",
        SAY_HI,
        "filename-star-dotnet",
        frame=UNQUOTED_FILE_PART,
    ),
    OnTheWire(
        "filename=\"=?utf-8?B?w6l0w6kudHh0?=\"; filename*=utf-8''%C3%A9t%C3%A9.txt",
        "été.txt",
        "dotnet-httpclient",
        frame=UNQUOTED_FILE_PART,
    ),
    OnTheWire(
        "filename*=UTF-8''%E2%82%AC%20%C3%A9t%C3%A9%20%F0%9F%93%84",
        "€ été 📄",
        "filename-star-non-ascii",
    ),
    OnTheWire("filename*=UTF-8''a%0Db", "a\rb", "filename-star-cr", INVALID),
    OnTheWire("filename*=UTF-8''a%2Fb", "a/b", "filename-star-slash", INVALID),
    OnTheWire("filename*=UTF-8''..", "..", "filename-star-dot-dot", INVALID),
    OnTheWire(
        "filename=\"ok.txt\"; filename*=UTF-8''history.md",
        "history.md",
        "filename-star-reserved",
        RESERVED,
    ),
    OnTheWire("filename*=UTF-8''", "", "empty-filename-star", INVALID),
    # Parameter syntax around the name.
    OnTheWire(
        'filename =  "a.txt"  ',
        "a.txt",
        "spaces-around-tokens",
        frame='form-data ; name = "file" ;',
    ),
    OnTheWire('FILENAME="A.txt"', "A.txt", "key-in-any-case"),
    OnTheWire('filename="1"; filename="2"', "1", "first-key-wins"),
    OnTheWire("", None, "no-filename", INVALID, frame='form-data; name="file"'),
    # A filename* that is not UTF-8 percent-encoding is an invalid name, whatever is beside it.
    *(
        OnTheWire(f'filename="ok.txt"; filename*={value}', NOT_UTF8, case_id, INVALID)
        for value, case_id in [
            ("ISO-8859-1''caf%E9.txt", "latin-1-charset"),
            ("''a.txt", "no-charset"),
            ("UTF8''a.txt", "charset-misspelt"),
            ("a.txt", "no-charset-and-language"),
            ("UTF-8'a.txt", "one-apostrophe"),
            ("UTF-8''%FF.txt", "bytes-not-utf8"),
            ("UTF-8''%C3", "utf8-cut-short"),
            ("UTF-8''100%.txt", "stray-percent-in-filename-star"),
            ("UTF-8''%G1.txt", "percent-not-hex"),
        ]
    ),
    OnTheWire("filename*=ISO-8859-1''caf%E9.txt", NOT_UTF8, "filename-star-latin-1", INVALID),
    OnTheWire("filename*=UTF-8''%FF.txt", NOT_UTF8, "filename-star-not-utf8", INVALID),
    OnTheWire("filename*=a.txt", NOT_UTF8, "filename-star-no-charset", INVALID),
    # A quoted-string that never closes.
    OnTheWire('filename="abc', MALFORMED, "never-closed", VALIDATION_ERROR),
    OnTheWire('filename="never closed', MALFORMED, "quote-never-closed", VALIDATION_ERROR),
    OnTheWire('filename="abc\\"', MALFORMED, "closing-quote-escaped", VALIDATION_ERROR),
    OnTheWire(
        'filename="a\\"', MALFORMED, "closing-quote-escaped-after-one-char", VALIDATION_ERROR
    ),
    OnTheWire(
        'name="file; filename=a',
        MALFORMED,
        "name-never-closed",
        VALIDATION_ERROR,
        frame="form-data; ",
    ),
]


def read_names() -> list[pytest.ParameterSet]:
    """`(disposition, name)` of each row the parser reads a name from (None: no name)."""
    return [
        pytest.param(row.disposition, row.reads_as, id=row.id)
        for row in NAMES_ON_THE_WIRE
        if not isinstance(row.reads_as, Unreadable)
    ]


def unreadable(why: Unreadable) -> list[pytest.ParameterSet]:
    """`(disposition,)` of each row the parser refuses for that reason."""
    return [
        pytest.param(row.disposition, id=row.id) for row in NAMES_ON_THE_WIRE if row.reads_as is why
    ]


def stored_names() -> list[pytest.ParameterSet]:
    """`(disposition, name)` of each row an upload stores under the name read."""
    return [
        pytest.param(row.disposition, row.reads_as, id=row.id)
        for row in NAMES_ON_THE_WIRE
        if row.refused_with is None
    ]


def refused_dispositions() -> list[pytest.ParameterSet]:
    """`(disposition, code)` of each row an upload refuses, with its problem's code."""
    return [
        pytest.param(row.disposition, row.refused_with, id=row.id)
        for row in NAMES_ON_THE_WIRE
        if row.refused_with is not None
    ]


def written_by_the_client() -> list[pytest.ParameterSet]:
    """`(name, disposition)` of each row as chatstore's client writes the name."""
    return [pytest.param(row.reads_as, row.disposition, id=row.id) for row in WRITTEN_BY_THE_CLIENT]
