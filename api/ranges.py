from domain.byte_range import ByteRange


def parse_range_header(value: str | None) -> ByteRange | None:
    """One `bytes=a-b`, `bytes=a-` or `bytes=-n` range, or None when absent.

    A header this service does not honour (another unit, several ranges, bad syntax) is
    ignored and the whole file is sent, as RFC 9110 allows."""
    if value is None:
        return None
    unit, sep, spec = value.strip().partition("=")
    if not sep or unit.strip().lower() != "bytes" or "," in spec:
        return None
    first_text, dash, last_text = spec.strip().partition("-")
    first_text, last_text = first_text.strip(), last_text.strip()
    if not dash or not all(_digits(text) or text == "" for text in (first_text, last_text)):
        return None
    if not first_text and not last_text:
        return None
    first = int(first_text) if first_text else None
    last = int(last_text) if last_text else None
    if first is not None and last is not None and last < first:
        return None
    return ByteRange(first, last)


def _digits(text: str) -> bool:
    # str.isdigit() also accepts '²' and other non-ASCII digits that int() refuses.
    return text.isascii() and text.isdigit()
