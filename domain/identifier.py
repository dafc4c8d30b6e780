"""The one text form of an id that the contract accepts."""

import re
from uuid import UUID

# RFC 9562's 8-4-4-4-12 hex digits with hyphens, any letter case. Python's `UUID()` reads far
# more (braces, `urn:uuid:`, no hyphens, and with `int()`-style parsing inside, `_` or `+`),
# so two different texts could name one id.
_CANONICAL = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_OPTIONAL_WHITESPACE = " \t"


def parse_uuid(text: str) -> UUID:
    """The UUID `text` names in its 36-character form, with surrounding blanks ignored;
    ValueError for any other text."""
    stripped = text.strip(_OPTIONAL_WHITESPACE)
    if not _CANONICAL.fullmatch(stripped):
        raise ValueError("not a UUID in its 8-4-4-4-12 hex form")
    return UUID(stripped)
