import sys
import unicodedata

from domain.control_characters import has_control_character


def test_it_finds_exactly_the_characters_of_category_cc() -> None:
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        expected = unicodedata.category(char) == "Cc"
        assert has_control_character(f"a{char}b") is expected, hex(code)


def test_text_without_one_has_none() -> None:
    assert not has_control_character("")
    assert not has_control_character("Plans for 2027 \u2014 \u00e9t\u00e9 \U0001f600 \u200b")
