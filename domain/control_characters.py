"""Control characters, which no name or title shown to a person may hold."""

import re

# Unicode's category Cc is exactly these 65 code points (C0, DEL and C1), fixed by its
# stability policy; test/domain/test_control_characters.py checks it against `unicodedata`.
# A character class is scanned in C, where asking `unicodedata` for each character's
# category is not, and names and titles are checked again each time they are read from the
# store.
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def has_control_character(text: str) -> bool:
    """Whether `text` holds a character of Unicode category Cc."""
    return _CONTROL_CHARACTER.search(text) is not None
