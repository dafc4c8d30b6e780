import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.attachment_name import ChatAttachmentName
from domain.errors import InvalidAttachmentNameError, ReservedAttachmentNameError

REFUSED_NAMES = [
    pytest.param("", id="empty"),
    pytest.param(".", id="dot"),
    pytest.param("..", id="dot-dot"),
    pytest.param("/", id="slash-alone"),
    pytest.param("a/b", id="slash-inside"),
    pytest.param("../etc/passwd", id="path-traversal"),
    pytest.param("\\", id="backslash-alone"),
    pytest.param("C:\\x\\y.txt", id="windows-path"),
    pytest.param("\x00", id="nul-alone"),
    pytest.param("a\x00.txt", id="nul-inside"),
    pytest.param("a\tb", id="tab"),
    pytest.param("a\nb", id="line-feed"),
    pytest.param("a\rb", id="carriage-return"),
    pytest.param("a\x1fb", id="unit-separator-last-c0"),
    pytest.param("a\x7fb", id="delete"),
    pytest.param("a\x85b", id="next-line-c1"),
    pytest.param("a\x9fb", id="last-c1"),
    pytest.param("a" * 256, id="256-ascii-bytes"),
    pytest.param("é" * 128, id="256-bytes-of-two-byte-chars"),
    pytest.param("€" * 85 + "a", id="256-bytes-of-three-byte-chars"),
    pytest.param("😀" * 64, id="256-bytes-of-four-byte-chars"),
    pytest.param("é" * 200, id="200-chars-but-400-bytes"),
    pytest.param("\ud800", id="lone-high-surrogate"),
    pytest.param("a\udc00.txt", id="lone-low-surrogate-inside"),
]

ALLOWED_NAMES = [
    pytest.param("a", id="one-char"),
    pytest.param("a b.txt", id="space"),
    pytest.param("résumé.pdf", id="accented"),
    pytest.param("报告.docx", id="cjk"),
    pytest.param("💡.md", id="emoji"),
    pytest.param(".hidden", id="leading-dot"),
    pytest.param("..a", id="dot-dot-prefix"),
    pytest.param("a..", id="dot-dot-suffix"),
    pytest.param("...", id="three-dots"),
    pytest.param(" ", id="single-space"),
    pytest.param("a%2Fb", id="percent-encoded-slash-is-not-decoded"),
    pytest.param("C:x.txt", id="drive-letter-colon"),
    pytest.param("a\u200bb", id="zero-width-space-is-format-not-control"),
    pytest.param("a\u2028b", id="line-separator-is-not-control"),
    pytest.param("a\xa0b", id="no-break-space-after-c1"),
    pytest.param("history.md.bak", id="history-with-suffix"),
    pytest.param("my history.md", id="history-with-prefix"),
    pytest.param("a" * 255, id="255-ascii-bytes"),
    pytest.param("é" * 127 + "a", id="255-bytes-of-two-byte-chars"),
    pytest.param("€" * 85, id="255-bytes-of-three-byte-chars"),
    pytest.param("😀" * 63 + "abc", id="255-bytes-of-four-byte-chars"),
]


@pytest.mark.parametrize("value", REFUSED_NAMES)
def test_name_breaking_a_rule_is_refused_as_invalid(value: str) -> None:
    with pytest.raises(InvalidAttachmentNameError) as raised:
        ChatAttachmentName(value)

    assert type(raised.value) is InvalidAttachmentNameError
    assert raised.value.code == "invalid_attachment_name"


@pytest.mark.parametrize("value", ALLOWED_NAMES)
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
