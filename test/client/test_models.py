"""The resource models: timestamps as aware datetimes, unknown fields and enum values
tolerated, pages typed; what a history write returns."""

import copy
import pickle
from datetime import UTC, datetime
from uuid import UUID

import pydantic
import pytest

from chatstore_client import (
    Chat,
    ChatFile,
    HistoryRevision,
    HistoryWritten,
    Page,
    RevisionSource,
    WorkspaceUsage,
)

CHAT = {
    "chat_id": "3f0c9a52-6d0e-4a8e-9d1b-2b1a4a7d5e10",
    "workspace_id": "6f1c3a52-6d0e-4a8e-9d1b-2b1a4a7d5e10",
    "created_at": "2026-04-01T12:00:00Z",
}


def test_timestamps_parse_as_aware_utc_datetimes() -> None:
    chat = Chat.model_validate(CHAT)

    assert chat.created_at == datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
    assert chat.chat_id == UUID(CHAT["chat_id"])


def test_fields_a_newer_service_adds_are_ignored() -> None:
    newer = {**CHAT, "pinned": True, "folder": {"id": "f1"}, "forked_from": None}

    assert Chat.model_validate(newer) == Chat.model_validate(CHAT)


def test_models_are_frozen() -> None:
    chat = Chat.model_validate(CHAT)

    with pytest.raises(pydantic.ValidationError):
        chat.chat_id = UUID(int=0)


def test_a_page_holds_typed_items_and_its_cursor() -> None:
    file = {
        "file_id": "0c5a1f52-6d0e-4a8e-9d1b-2b1a4a7d5e10",
        "chat_id": CHAT["chat_id"],
        "name": "a.txt",
        "content_type": None,
        "size_bytes": 3,
        "sha256": "ab" * 32,
        "created_at": "2026-04-01T12:00:00.123456Z",
    }

    page = Page[ChatFile].model_validate({"items": [file], "next_cursor": "next"})

    assert isinstance(page.items[0], ChatFile)
    assert page.items[0].content_type is None
    assert page.next_cursor == "next"


def test_workspace_usage_reads_its_revision_bytes_beside_its_used_bytes() -> None:
    usage = WorkspaceUsage.model_validate(
        {
            "workspace_id": CHAT["workspace_id"],
            "used_bytes": 1005,
            "revision_bytes": 40,
            "quota_bytes": 4096,
        }
    )

    assert (usage.used_bytes, usage.revision_bytes, usage.quota_bytes) == (1005, 40, 4096)


REVISION = {
    "revision": 2,
    "etag": '"ab"',
    "size_bytes": 12,
    "source": "append",
    "created_at": "2026-04-01T12:00:00Z",
}


@pytest.mark.parametrize("source", list(RevisionSource), ids=str)
def test_a_revision_source_the_client_knows_parses_as_its_enum(source: RevisionSource) -> None:
    revision = HistoryRevision.model_validate({**REVISION, "source": source.value})

    assert revision.source is source


def test_a_revision_source_a_newer_service_adds_parses_as_its_string() -> None:
    page = Page[HistoryRevision].model_validate(
        {"items": [{**REVISION, "source": "merge"}, REVISION], "next_cursor": None}
    )

    newer, known = page.items
    assert newer.source == "merge"
    assert not isinstance(newer.source, RevisionSource)
    assert known.source is RevisionSource.APPEND


def test_a_revision_source_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError):
        HistoryRevision.model_validate({**REVISION, "source": 3})


def test_a_history_write_is_its_etag_and_carries_its_revision() -> None:
    written = HistoryWritten('"ab"', 3)

    assert written == '"ab"'
    assert written.etag == '"ab"'
    assert type(written.etag) is str
    assert written.revision == 3
    assert repr(written) == "HistoryWritten('\"ab\"', revision=3)"


def test_a_history_write_is_immutable_and_survives_copy_and_pickle() -> None:
    written = HistoryWritten('"ab"', 3)

    with pytest.raises(AttributeError):
        written.revision = 4  # type: ignore[misc]  # mypy refuses it too

    for again in (copy.copy(written), pickle.loads(pickle.dumps(written))):
        assert isinstance(again, HistoryWritten)
        assert (again, again.revision) == ('"ab"', 3)
