from uuid import UUID

import pytest

from domain.identifier import parse_uuid

CANONICAL = "6f1c3a52-6d0e-4a8e-9d1b-2b1a4a7d5e10"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(CANONICAL, id="lower-case"),
        pytest.param(CANONICAL.upper(), id="upper-case"),
        pytest.param(f" {CANONICAL}\t", id="blanks-around"),
    ],
)
def test_the_36_character_form_names_its_uuid(text: str) -> None:
    assert parse_uuid(text) == UUID(CANONICAL)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param(CANONICAL.replace("-", ""), id="no-hyphens"),
        pytest.param("{" + CANONICAL + "}", id="braces"),
        pytest.param("urn:uuid:" + CANONICAL, id="urn"),
        pytest.param(CANONICAL.replace("6f", "6_", 1), id="underscore"),
        pytest.param("+" + CANONICAL[1:], id="plus"),
        pytest.param("0x" + CANONICAL[2:], id="hex-prefix"),
        pytest.param(CANONICAL[:-1] + "\u0660", id="non-ascii-digit"),
        pytest.param(CANONICAL + "\n", id="newline-after"),
        pytest.param(CANONICAL[:-1] + "g", id="not-hex"),
    ],
)
def test_any_other_text_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="UUID"):
        parse_uuid(text)
