"""MIME header parameters (`type; key=value; key="quoted"`), and the attachment name a
multipart part's Content-Disposition carries (api.md, "Attachment names on the wire")."""

import re
from collections.abc import Mapping
from urllib.parse import unquote_to_bytes

from domain.errors import InvalidAttachmentNameError

_SPACE = " \t"
# Within a quoted-string, everything up to the next backslash or quote is taken as is.
_PLAIN_RUN = re.compile(r'[^"\\]+')
# The escapes that the HTML standard's multipart/form-data encoding (and so browsers, curl,
# requests and httpx) uses inside a filename; nothing else is percent-decoded.
_FORM_ESCAPE = re.compile("%(22|0D|0A)", re.IGNORECASE)
_FORM_UNESCAPED = {"22": '"', "0D": "\r", "0A": "\n"}
# RFC 8187 ext-value: charset ' [language] ' value-chars
_EXT_VALUE = re.compile(r"([^']*)'[^']*'(.*)", re.DOTALL)
_STRAY_PERCENT = re.compile("%(?![0-9A-Fa-f]{2})")


class MalformedParamsError(ValueError):
    """A header value whose parameters cannot be read: a quoted-string that never closes."""


def split_header_params(value: str) -> tuple[str, dict[str, str]]:
    """`type; key=value; key="quoted"` into the lower-cased type and its parameters.

    Keys are lower-cased; the first of a repeated key wins; an item without `=` is dropped.
    An unquoted value runs to the next `;`, spaces around it dropped. A quoted-string loses
    its quotes and its quoted-pairs `\\"` and `\\\\` are unescaped; a backslash before any
    other character stays (browsers send backslashes raw, so it escapes nothing there, and
    the name rules then refuse it rather than a name silently losing it). A `"` that is not
    followed by `;` or the end (spaces aside) is a character of the value, as clients that
    never escape send it; a quoted-string that never closes is malformed."""
    kind, _, rest = value.partition(";")
    params: dict[str, str] = {}
    position = 0
    while position < len(rest):
        semicolon = rest.find(";", position)
        item_end = len(rest) if semicolon == -1 else semicolon
        equals = rest.find("=", position, item_end)
        if equals == -1:
            position = item_end + 1
            continue
        key = rest[position:equals].strip().lower()
        parsed, position = _value(rest, equals + 1)
        if key:
            params.setdefault(key, parsed)
    return kind.strip().lower(), params


def _value(text: str, start: int) -> tuple[str, int]:
    """The value starting at `start` and where the next parameter starts."""
    position = start
    while position < len(text) and text[position] in _SPACE:
        position += 1
    if position < len(text) and text[position] == '"':
        return _quoted(text, position + 1)
    end = text.find(";", position)
    end = len(text) if end == -1 else end
    return text[position:end].strip(_SPACE), end + 1


def _quoted(text: str, start: int) -> tuple[str, int]:
    out: list[str] = []
    position = start
    while position < len(text):
        run = _PLAIN_RUN.match(text, position)
        if run is not None:
            out.append(run.group())
            position = run.end()
            continue
        char = text[position]
        if char == "\\" and text[position + 1 : position + 2] in ('"', "\\"):
            out.append(text[position + 1])
            position += 2
            continue
        if char == '"':
            after = position + 1
            while after < len(text) and text[after] in _SPACE:
                after += 1
            if after == len(text) or text[after] == ";":
                return "".join(out), after + 1
        out.append(char)
        position += 1
    raise MalformedParamsError("a quoted-string is not closed")


def attachment_filename(params: Mapping[str, str]) -> str | None:
    """The attachment name in a part's Content-Disposition parameters; None if it has none.

    `filename*` (RFC 8187), when present, is the name: its percent-encoding decoded as
    UTF-8, the only charset accepted (another charset, a stray `%` or bytes that are not
    UTF-8 are an invalid attachment name). Otherwise `filename`, with `%22`, `%0D` and
    `%0A` (in either letter case) decoded to `"`, CR and LF and nothing else decoded."""
    extended = params.get("filename*")
    if extended is not None:
        return _decoded_ext_value(extended)
    plain = params.get("filename")
    if plain is None:
        return None
    return _FORM_ESCAPE.sub(lambda match: _FORM_UNESCAPED[match.group(1).upper()], plain)


def _decoded_ext_value(value: str) -> str:
    match = _EXT_VALUE.fullmatch(value)
    if match is None:
        raise InvalidAttachmentNameError("filename* is not charset'language'value (RFC 8187)")
    charset, encoded = match.groups()
    if charset.strip().lower() != "utf-8":
        raise InvalidAttachmentNameError(f"filename* charset {charset!r} is not UTF-8")
    if _STRAY_PERCENT.search(encoded):
        raise InvalidAttachmentNameError("filename* has a '%' that starts no percent-encoding")
    # A raw byte that was not UTF-8 arrived as a lone surrogate; it goes back to its byte.
    raw = unquote_to_bytes(encoded.encode("utf-8", errors="surrogateescape"))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidAttachmentNameError("filename* does not decode as UTF-8") from error
