"""The export manifest as an import reads it (domain/archive_import.py), the entry paths it
refuses, and the bound on an import body."""

import json
from typing import Any
from uuid import uuid4

import pytest

from domain.archive_import import (
    ARCHIVE_OVERHEAD_BYTES,
    ArchiveManifest,
    archive_bound,
    check_entry_path,
)
from domain.attachment_name import ChatAttachmentName
from domain.errors import InvalidArchiveError, InvalidAttachmentNameError
from test.archives import ChatSpec, FileSpec, manifest_of, sha256


def parsed(document: Any) -> ArchiveManifest:
    return ArchiveManifest.parsed(json.dumps(document).encode())


def test_a_manifest_is_read_into_the_chats_an_import_makes() -> None:
    spec = ChatSpec(
        b"# h\n",
        [FileSpec("b.txt", b"bb", None), FileSpec("a.txt", b"a")],
        title="T",
        metadata={"z": "1", "a": "2"},
    )

    manifest = parsed(manifest_of([spec]))

    [chat] = manifest.chats
    assert (chat.chat_id, chat.title.value if chat.title else None) == (spec.chat_id, "T")
    assert list(chat.metadata.items()) == [("z", "1"), ("a", "2")]
    assert [(file.name.value, file.content_type) for file in chat.files] == [
        ("b.txt", None),
        ("a.txt", "text/plain"),
    ]
    assert manifest.entries() == {
        spec.history_path(): chat.history,
        spec.file_path(spec.files[0]): chat.files[0].content,
        spec.file_path(spec.files[1]): chat.files[1].content,
    }
    assert chat.history.sha256 == sha256(b"# h\n")
    assert manifest.size_bytes == 4 + 2 + 1


def test_fields_a_newer_exporter_adds_are_ignored_and_a_fork_may_be_named() -> None:
    document = manifest_of([ChatSpec(b"x")])
    document["generator"] = "chatstore 2.1"
    chat = document["chats"][0]
    chat["chat"]["forked_from"] = {"chat_id": str(uuid4()), "revision": 3}
    chat["history"]["etag"] = '"..."'

    assert len(parsed(document).chats) == 1


def test_a_file_name_breaking_the_rules_answers_the_rule_after_the_shape_is_checked() -> None:
    document = manifest_of([ChatSpec(b"", [FileSpec("a/b", b"")]), ChatSpec(b"")])
    with pytest.raises(InvalidAttachmentNameError):
        parsed(document)

    document["chats"][1]["history"]["size_bytes"] = "0"  # and a later chat is malformed
    with pytest.raises(InvalidArchiveError):
        parsed(document)


@pytest.mark.parametrize(
    "path",
    ["", "/abs", "C:/x", "a/../b", "..", "a\\b", "a/\x00", "a/\x7f"],
)
def test_unsafe_entry_paths_are_refused(path: str) -> None:
    with pytest.raises(InvalidArchiveError):
        check_entry_path(path)


@pytest.mark.parametrize("path", ["manifest.json", "chats/x/files/..a", "chats/x/files/a..b"])
def test_paths_with_dots_that_go_nowhere_are_safe(path: str) -> None:
    check_entry_path(path)


def test_the_body_bound_is_the_budget_deflates_growth_and_the_fixed_overhead() -> None:
    assert archive_bound(0) == ARCHIVE_OVERHEAD_BYTES
    assert archive_bound(-5) == ARCHIVE_OVERHEAD_BYTES  # a workspace over its quota
    assert archive_bound(1024 * 1024) == 1024 * 1024 + 1024 + ARCHIVE_OVERHEAD_BYTES


def test_a_name_the_manifest_holds_is_an_attachment_name() -> None:
    [chat] = parsed(manifest_of([ChatSpec(b"", [FileSpec("n", b"")])])).chats
    assert chat.files[0].name == ChatAttachmentName("n")
