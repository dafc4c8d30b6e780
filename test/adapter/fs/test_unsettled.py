from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

from adapter.fs.unsettled import (
    UNSETTLED,
    append_payload,
    files_payload,
    journal_name,
    mark,
    marked,
    note,
    noted,
    noted_append,
    unmark,
)
from domain.attachment_name import ChatAttachmentName
from domain.chat_file import ChatFile

WORKSPACE, CHAT = uuid4(), uuid4()


def record(name: str) -> ChatFile:
    return ChatFile(
        file_id=uuid4(),
        chat_id=CHAT,
        name=ChatAttachmentName(name),
        content_type=None if name.endswith(".bin") else "text/plain",
        size_bytes=3,
        sha256="a" * 64,
        created_at=datetime(2026, 4, 1, 12, 0, 0, 123456, tzinfo=UTC),
    )


def test_a_note_kept_with_a_mark_reads_back_as_the_same_records(tmp_path: Path) -> None:
    mark(tmp_path, WORKSPACE, CHAT, b"")
    records = [record('say "hi".txt'), record("日本.bin")]

    note(tmp_path, WORKSPACE, CHAT, records)

    assert noted(tmp_path, WORKSPACE, CHAT) == records
    assert marked(tmp_path) == [(WORKSPACE, CHAT)]


def test_an_empty_or_missing_mark_notes_nothing(tmp_path: Path) -> None:
    assert noted(tmp_path, WORKSPACE, CHAT) == []
    mark(tmp_path, WORKSPACE, CHAT, b"")

    assert noted(tmp_path, WORKSPACE, CHAT) == []


def test_a_note_that_cannot_be_read_notes_nothing(tmp_path: Path) -> None:
    mark(tmp_path, WORKSPACE, CHAT, b"")
    (tmp_path / UNSETTLED / f"{WORKSPACE}_{CHAT}").write_bytes(b'[{"file_id": "half')

    assert noted(tmp_path, WORKSPACE, CHAT) == []


def test_a_note_cut_short_notes_nothing(tmp_path: Path) -> None:
    mark(tmp_path, WORKSPACE, CHAT, b"")
    (tmp_path / UNSETTLED / f".{WORKSPACE}_{CHAT}.note").write_bytes(b'[{"file_id": "half')

    assert noted(tmp_path, WORKSPACE, CHAT) == []


def test_a_new_mark_holds_its_note_and_a_mark_found_keeps_the_one_it_had(
    tmp_path: Path,
) -> None:
    first = [record("first.txt")]
    assert mark(tmp_path, WORKSPACE, CHAT, files_payload(first)) is False
    assert noted(tmp_path, WORKSPACE, CHAT) == first

    assert mark(tmp_path, WORKSPACE, CHAT, files_payload([record("second.txt")])) is True

    assert noted(tmp_path, WORKSPACE, CHAT) == first


def test_a_note_beside_the_mark_is_read_before_the_marks_and_replaces_the_last_one(
    tmp_path: Path,
) -> None:
    mark(tmp_path, WORKSPACE, CHAT, files_payload([record("in-the-mark.txt")]))
    longer = [record(f"longer-{index}.bin") for index in range(3)]
    note(tmp_path, WORKSPACE, CHAT, longer)
    assert noted(tmp_path, WORKSPACE, CHAT) == longer
    shorter = [record("newer.bin")]
    note(tmp_path, WORKSPACE, CHAT, shorter)
    assert noted(tmp_path, WORKSPACE, CHAT) == shorter

    note(tmp_path, WORKSPACE, CHAT, [])

    assert noted(tmp_path, WORKSPACE, CHAT) == []


def test_unmark_drops_the_note_and_a_half_written_one(tmp_path: Path) -> None:
    mark(tmp_path, WORKSPACE, CHAT, b"")
    note(tmp_path, WORKSPACE, CHAT, [record("a.txt")])
    (tmp_path / UNSETTLED / f".{WORKSPACE}_{CHAT}.note").write_bytes(b"[")

    unmark(tmp_path, WORKSPACE, CHAT)

    assert list((tmp_path / UNSETTLED).iterdir()) == []
    assert noted(tmp_path, WORKSPACE, CHAT) == []


def test_a_commit_journal_marks_its_chat_once_with_or_without_its_mark(tmp_path: Path) -> None:
    mark(tmp_path, WORKSPACE, CHAT, b"")
    (tmp_path / UNSETTLED / journal_name(WORKSPACE, CHAT)).mkdir()
    assert marked(tmp_path) == [(WORKSPACE, CHAT)]

    unmark(tmp_path, WORKSPACE, CHAT)

    assert marked(tmp_path) == [(WORKSPACE, CHAT)]


def test_an_append_noted_in_the_mark_reads_back_and_is_no_upload_note(tmp_path: Path) -> None:
    mark(tmp_path, WORKSPACE, CHAT, append_payload(10, 25, "c" * 64))

    assert noted_append(tmp_path, WORKSPACE, CHAT) == (10, 25, "c" * 64)
    assert noted(tmp_path, WORKSPACE, CHAT) == []


def test_an_upload_note_is_no_append(tmp_path: Path) -> None:
    mark(tmp_path, WORKSPACE, CHAT, files_payload([record("a.txt")]))

    assert noted_append(tmp_path, WORKSPACE, CHAT) is None
