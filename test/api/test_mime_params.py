"""A part's Content-Disposition read as MIME parameters, and the attachment name in it
(api.md, "Attachment names on the wire")."""

import email.utils
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.mime_params import MalformedParamsError, attachment_filename, split_header_params
from domain.errors import InvalidAttachmentNameError


def name_in(disposition: str) -> str | None:
    _, params = split_header_params(disposition)
    return attachment_filename(params)


NAMES_ON_THE_WIRE = [
    pytest.param('form-data; name="file"; filename="a.txt"', "a.txt", id="plain-quoted"),
    pytest.param(
        'form-data; name="file"; filename="a \\"q\\".txt"', 'a "q".txt', id="quoted-pair-quote"
    ),
    pytest.param('form-data; name="file"; filename="a\\\\b"', "a\\b", id="quoted-pair-backslash"),
    pytest.param(
        'form-data; name="file"; filename="C:\\dir\\x.txt"',
        "C:\\dir\\x.txt",
        id="backslash-before-other-char-is-kept",
    ),
    pytest.param(
        'form-data; name="file"; filename="say %22hi%22.txt"', 'say "hi".txt', id="percent-22"
    ),
    pytest.param('form-data; name="file"; filename="a%0D%0Ab"', "a\r\nb", id="percent-0d-0a"),
    pytest.param('form-data; name="file"; filename="a%0d%0ab%22"', 'a\r\nb"', id="lower-case-hex"),
    pytest.param('form-data; name="file"; filename="a%2Fb"', "a%2Fb", id="percent-2f-kept"),
    pytest.param('form-data; name="file"; filename="100%25.txt"', "100%25.txt", id="percent-25"),
    pytest.param('form-data; name="file"; filename="%2522"', "%2522", id="decoded-once-only"),
    pytest.param('form-data; name="file"; filename="%09%20%41"', "%09%20%41", id="other-escapes"),
    pytest.param(
        'form-data; name="file"; filename="fallback.txt"; filename*=UTF-8\'\'%E2%82%AC%20rates.txt',
        "€ rates.txt",
        id="filename-star-wins",
    ),
    pytest.param(
        'form-data; name="file"; filename*=utf-8\'\'%C3%A9t%C3%A9.txt; filename="x"',
        "été.txt",
        id="filename-star-wins-in-either-order",
    ),
    pytest.param(
        "form-data; name=\"file\"; filename*=UTF-8'en'say%20%22hi%22.txt",
        'say "hi".txt',
        id="filename-star-with-language-alone",
    ),
    pytest.param(
        'form-data; name=file; filename="=?utf-8?B?w6l0w6kudHh0?="; '
        "filename*=utf-8''%C3%A9t%C3%A9.txt",
        "été.txt",
        id="dotnet-httpclient",
    ),
    pytest.param("form-data; name=file; filename=abc.txt", "abc.txt", id="unquoted-token"),
    pytest.param("form-data; name=file; filename=a%22b", 'a"b', id="unquoted-token-percent-22"),
    pytest.param("form-data; name=file; filename= a b.txt ;x=1", "a b.txt", id="unquoted-spaces"),
    pytest.param('form-data; name="file"; filename="a;b.txt"', "a;b.txt", id="semicolon-in-quotes"),
    pytest.param(
        'form-data; filename="a\\";b.txt"; name="file"',
        'a";b.txt',
        id="escaped-quote-before-semicolon",
    ),
    pytest.param(
        'form-data; name="file"; filename="say "hi".txt"',
        'say "hi".txt',
        id="raw-quotes-of-a-client-that-never-escapes",
    ),
    pytest.param(
        'form-data ; name = "file" ;filename =  "a.txt"  ', "a.txt", id="spaces-around-tokens"
    ),
    pytest.param('form-data; name="file"; FILENAME="A.txt"', "A.txt", id="key-in-any-case"),
    pytest.param('form-data; name="file"; filename="1"; filename="2"', "1", id="first-key-wins"),
    pytest.param('form-data; name="file"; filename=""', "", id="empty-name"),
    pytest.param('form-data; name="file"', None, id="no-filename"),
    pytest.param("form-data; name=\"file\"; filename*=UTF-8''", "", id="empty-filename-star"),
]


@pytest.mark.parametrize(("disposition", "name"), NAMES_ON_THE_WIRE)
def test_name_is_read_from_the_wire_as_the_contract_says(
    disposition: str, name: str | None
) -> None:
    assert name_in(disposition) == name


REFUSED_FILENAME_STAR = [
    pytest.param("ISO-8859-1''caf%E9.txt", id="latin-1-charset"),
    pytest.param("''a.txt", id="no-charset"),
    pytest.param("UTF8''a.txt", id="charset-misspelt"),
    pytest.param("a.txt", id="no-charset-and-language"),
    pytest.param("UTF-8'a.txt", id="one-apostrophe"),
    pytest.param("UTF-8''%FF.txt", id="bytes-not-utf8"),
    pytest.param("UTF-8''%C3", id="utf8-cut-short"),
    pytest.param("UTF-8''100%.txt", id="stray-percent"),
    pytest.param("UTF-8''%G1.txt", id="percent-not-hex"),
]


@pytest.mark.parametrize("value", REFUSED_FILENAME_STAR)
def test_filename_star_that_is_not_utf8_percent_encoding_is_an_invalid_name(value: str) -> None:
    with pytest.raises(InvalidAttachmentNameError) as raised:
        name_in(f'form-data; name="file"; filename="ok.txt"; filename*={value}')

    assert raised.value.code == "invalid_attachment_name"


@pytest.mark.parametrize(
    "disposition",
    [
        pytest.param('form-data; name="file"; filename="abc', id="never-closed"),
        pytest.param('form-data; name="file"; filename="abc\\"', id="closing-quote-escaped"),
        pytest.param('form-data; name="file; filename=a', id="name-never-closed"),
    ],
)
def test_quoted_string_that_never_closes_is_malformed(disposition: str) -> None:
    with pytest.raises(MalformedParamsError):
        split_header_params(disposition)


def test_type_is_lower_cased_and_parameters_are_keyed_in_lower_case() -> None:
    kind, params = split_header_params(' Multipart/Form-Data ; Boundary="a;b" ; x ; =y; z=1')

    assert kind == "multipart/form-data"
    assert params == {"boundary": "a;b", "z": "1"}


def test_other_fields_keep_percent_escapes_in_their_name() -> None:
    _, params = split_header_params('form-data; name="a%22b"; filename="f"')

    assert params["name"] == "a%22b"


# What a name becomes on the wire in each client's encoding, and back. A `%` is left out:
# the HTML encoding leaves a literal `%22` as it is, which then reads as `"` (api.md).
NAMES = st.text(st.characters(exclude_categories=["Cc", "Cs"], exclude_characters="%"), max_size=40)


def html_form_encoded(name: str) -> str:
    """Browsers, curl, requests: `"`, CR and LF percent-encoded, nothing else escaped."""
    return name.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


@given(NAMES.filter(lambda name: "\\" not in name))
def test_html_form_encoding_round_trips(name: str) -> None:
    disposition = f'form-data; name="file"; filename="{html_form_encoded(name)}"'

    assert name_in(disposition) == name


@given(NAMES)
def test_quoted_pair_encoding_round_trips(name: str) -> None:
    disposition = f'form-data; name="file"; filename="{email.utils.quote(name)}"'

    assert name_in(disposition) == name


@given(st.text(st.characters(exclude_categories=["Cs"]), max_size=40))
def test_rfc8187_encoding_round_trips(name: str) -> None:
    disposition = f"form-data; name=\"file\"; filename*=UTF-8''{quote(name, safe='')}"

    assert name_in(disposition) == name
