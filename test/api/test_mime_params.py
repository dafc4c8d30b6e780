"""A part's Content-Disposition read as MIME parameters, and the attachment name in it
(api.md, "Attachment names on the wire")."""

import email.utils
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.mime_params import MalformedParamsError, attachment_filename, split_header_params
from domain.errors import InvalidAttachmentNameError
from test.names_on_the_wire import Unreadable, read_names, unreadable


def name_in(disposition: str) -> str | None:
    _, params = split_header_params(disposition)
    return attachment_filename(params)


@pytest.mark.parametrize(("disposition", "name"), read_names())
def test_name_is_read_from_the_wire_as_the_contract_says(
    disposition: str, name: str | None
) -> None:
    assert name_in(disposition) == name


@pytest.mark.parametrize("disposition", unreadable(Unreadable.NOT_UTF8_PERCENT_ENCODED))
def test_filename_star_that_is_not_utf8_percent_encoding_is_an_invalid_name(
    disposition: str,
) -> None:
    with pytest.raises(InvalidAttachmentNameError) as raised:
        name_in(disposition)

    assert raised.value.code == "invalid_attachment_name"


@pytest.mark.parametrize("disposition", unreadable(Unreadable.MALFORMED))
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
