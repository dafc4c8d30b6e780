import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.attachment_name import ChatAttachmentName
from domain.errors import InvalidAttachmentNameError, ReservedAttachmentNameError
from test.attachment_names import ERROR_OF_CODE, kept_names, refusals


@pytest.mark.parametrize(("value", "code"), refusals())
def test_name_breaking_a_rule_is_refused_with_its_code(value: str, code: str) -> None:
    with pytest.raises(InvalidAttachmentNameError) as raised:
        ChatAttachmentName(value)

    assert type(raised.value) is ERROR_OF_CODE[code]
    assert raised.value.code == code


@pytest.mark.parametrize("value", kept_names())
def test_name_keeping_every_rule_is_kept_exactly_as_sent(value: str) -> None:
    name = ChatAttachmentName(value)

    assert name.value == value
    assert str(name) == value


def test_history_file_name_is_refused_as_reserved() -> None:
    with pytest.raises(ReservedAttachmentNameError) as raised:
        ChatAttachmentName("history.md")

    assert raised.value.code == "reserved_attachment_name"


def test_reserved_name_error_is_also_an_invalid_name_error() -> None:
    with pytest.raises(InvalidAttachmentNameError):
        ChatAttachmentName("history.md")


def test_limit_and_reserved_name_are_named_constants() -> None:
    assert ChatAttachmentName.MAX_BYTES == 255
    assert ChatAttachmentName.RESERVED == "history.md"


def test_equal_names_are_one_key() -> None:
    assert {ChatAttachmentName("a.txt"), ChatAttachmentName("a.txt")} == {
        ChatAttachmentName("a.txt")
    }


# An oracle written independently of the implementation: code point ranges instead of
# unicodedata, and UTF-8 lengths counted by hand.
CONTROL_RANGES = ((0x00, 0x1F), (0x7F, 0x9F))


def utf8_length(code_point: int) -> int:
    if code_point < 0x80:
        return 1
    if code_point < 0x800:
        return 2
    if code_point < 0x10000:
        return 3
    return 4


def rules_allow(value: str) -> bool:
    code_points = [ord(char) for char in value]
    return (
        value not in {"", ".", ".."}
        and "/" not in value
        and "\\" not in value
        and not any(low <= point <= high for point in code_points for low, high in CONTROL_RANGES)
        and not any(0xD800 <= point <= 0xDFFF for point in code_points)
        and sum(utf8_length(point) for point in code_points) <= 255
    )


EDGE_CHARS = st.sampled_from(
    ["a", ".", "/", "\\", "\x00", "\x1f", " ", "~", "\x7f", "\x85", "\x9f", "\xa0", "é", "€"]
)
ODD_CHARS = st.sampled_from(["😀", "\ud800", "\udfff", "\u200b"])
NAMES = st.one_of(
    st.sampled_from(["", ".", "..", "...", "history.md"]),
    st.text(st.one_of(EDGE_CHARS, ODD_CHARS, st.characters()), max_size=12),
    # Long names of multi-byte characters, around the 255-byte limit.
    st.text(st.sampled_from(["a", "é", "€", "😀"]), min_size=60, max_size=140),
)


@settings(derandomize=True, max_examples=200)
@given(NAMES)
def test_accepted_names_are_exactly_those_the_rules_allow(value: str) -> None:
    try:
        ChatAttachmentName(value)
    except ReservedAttachmentNameError:
        outcome = "reserved"
    except InvalidAttachmentNameError:
        outcome = "invalid"
    else:
        outcome = "accepted"

    if value == "history.md":
        assert outcome == "reserved"
    else:
        assert outcome == ("accepted" if rules_allow(value) else "invalid")
