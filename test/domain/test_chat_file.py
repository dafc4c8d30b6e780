from datetime import UTC, datetime
from uuid import UUID

import pytest

from domain.attachment_name import ChatAttachmentName
from domain.chat_file import CONTENT_TYPE_MAX_LENGTH, ChatFile, checked_content_type
from domain.errors import InvalidInputError

KEPT = [
    pytest.param("text/plain", "text/plain", id="plain"),
    pytest.param("text/plain; charset=utf-8", "text/plain; charset=utf-8", id="with-parameter"),
    pytest.param("  image/png  ", "image/png", id="surrounding-spaces-stripped"),
    pytest.param("\timage/png\r\n", "image/png", id="surrounding-whitespace-stripped"),
    pytest.param("x/" + "y" * 253, "x/" + "y" * 253, id="255-chars"),
    pytest.param(
        "x~!#$%&'*+-.^_`|/y~!#$%&'*+-.^_`|",
        "x~!#$%&'*+-.^_`|/y~!#$%&'*+-.^_`|",
        id="token-punctuation",
    ),
]

ABSENT = [
    pytest.param(None, id="none"),
    pytest.param("", id="empty"),
    pytest.param("   ", id="blank"),
]

REFUSED = [
    pytest.param("x/" + "y" * 254, id="256-chars"),
    pytest.param("text/plain\r\nX-Injected: 1", id="header-injection"),
    pytest.param("text/\x00plain", id="nul"),
    pytest.param("text/pl\tain", id="inner-tab"),
    pytest.param("text/\x7fplain", id="delete"),
    pytest.param("text/plaîn", id="non-ascii"),
    pytest.param("not a media type", id="no-slash"),
    pytest.param("text/", id="no-subtype"),
    pytest.param("/plain", id="no-type"),
    pytest.param("text plain/x", id="space-in-type"),
    pytest.param("text/plain/more", id="two-slashes"),
]


@pytest.mark.parametrize(("sent", "stored"), KEPT)
def test_printable_ascii_content_type_is_kept(sent: str, stored: str) -> None:
    assert checked_content_type(sent) == stored


@pytest.mark.parametrize("sent", ABSENT)
def test_missing_or_blank_content_type_is_stored_as_none(sent: str | None) -> None:
    assert checked_content_type(sent) is None


@pytest.mark.parametrize("sent", REFUSED)
def test_content_type_unfit_for_a_header_is_refused(sent: str) -> None:
    with pytest.raises(InvalidInputError) as raised:
        checked_content_type(sent)

    assert raised.value.code == "validation_error"


def test_content_type_limit_is_255() -> None:
    assert CONTENT_TYPE_MAX_LENGTH == 255


def test_with_content_keeps_the_record_identity() -> None:
    record = ChatFile(
        file_id=UUID(int=1),
        chat_id=UUID(int=2),
        name=ChatAttachmentName("a.txt"),
        content_type="text/plain",
        size_bytes=1,
        sha256="0" * 64,
        created_at=datetime(2026, 4, 1, tzinfo=UTC),
    )

    changed = record.with_content(5, "f" * 64)

    assert (changed.size_bytes, changed.sha256) == (5, "f" * 64)
    assert (changed.file_id, changed.name, changed.created_at) == (
        record.file_id,
        record.name,
        record.created_at,
    )
