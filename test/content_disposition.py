"""Reading a download's Content-Disposition as a client does."""

import re
from urllib.parse import unquote

_ATTACHMENT = re.compile(r"attachment; filename=\"[ -~]*\"; filename\*=UTF-8''([^;\s]+)")


def name_in_content_disposition(header: str) -> str:
    """The name a client reads from the answer's `filename*` (RFC 8187), after checking the
    header has the contract's shape: an ASCII fallback, then the UTF-8 name."""
    match = _ATTACHMENT.fullmatch(header)
    assert match is not None, header
    return unquote(match.group(1), errors="strict")
