"""`Client`, method by method, against the real service in process and over a socket."""

import io
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from uuid import uuid4

import httpx
import pytest

from chatstore_client import (
    ByteRange,
    Chat,
    ChatFileNotFoundError,
    ChatHasActiveSandboxError,
    ChatNotFoundError,
    ChatOrder,
    Client,
    FileTooLargeError,
    ForkedFrom,
    History,
    HistoryRevisionNotFoundError,
    HistoryTooLargeError,
    InvalidAttachmentNameError,
    InvalidHistoryEncodingError,
    InvalidUserIdError,
    NotModified,
    PreconditionFailedError,
    RangeNotSatisfiableError,
    ReservedAttachmentNameError,
    RevisionSource,
    SandboxAlreadyActiveError,
    SandboxSessionNotFoundError,
    Upload,
    UserIdRequiredError,
    ValidationError,
    WorkspaceNotFoundError,
    WorkspaceQuotaExceededError,
)
from test.api.conftest import KIB, MAX_FILE_BYTES, MAX_HISTORY_BYTES, QUOTA_BYTES, sha256
from test.client.conftest import IN_PROCESS_URL, Service

HistoryBody = bytes | Iterable[bytes] | BinaryIO

# Workspace


def test_ensure_workspace_creates_it_once_then_returns_the_same(client: Client) -> None:
    created = client.ensure_workspace()
    again = client.ensure_workspace()

    assert again == created
    assert client.get_workspace() == created
    assert created.created_at.tzinfo is not None


def test_get_workspace_of_a_new_user_raises_workspace_not_found(client: Client) -> None:
    with pytest.raises(WorkspaceNotFoundError) as raised:
        client.get_workspace()

    assert raised.value.status == 404
    assert raised.value.code == "workspace_not_found"
    assert raised.value.detail


def test_usage_counts_the_history_and_attachments(client: Client, chat: Chat) -> None:
    client.put_history(chat.chat_id, "12345")
    client.upload_file(chat.chat_id, Upload(b"x" * 1000, name="a.bin"))

    usage = client.get_workspace_usage()

    assert usage.workspace_id == chat.workspace_id
    assert usage.used_bytes == 1005
    assert usage.revision_bytes == 0
    assert usage.quota_bytes == QUOTA_BYTES


# Chats


def test_created_chat_reads_back_lists_and_deletes(client: Client) -> None:
    workspace = client.ensure_workspace()

    chat = client.create_chat()

    assert chat.workspace_id == workspace.workspace_id
    assert client.get_chat(chat.chat_id) == chat
    assert client.get_chat(str(chat.chat_id)) == chat
    assert client.list_chats().items == [chat]
    client.delete_chat(chat.chat_id)
    with pytest.raises(ChatNotFoundError):
        client.get_chat(chat.chat_id)
    assert client.list_chats().items == []


def test_list_chats_pages_with_limit_and_cursor(client: Client) -> None:
    client.ensure_workspace()
    chats = [client.create_chat() for _ in range(3)]

    first = client.list_chats(limit=2)
    second = client.list_chats(limit=2, cursor=first.next_cursor)

    assert first.items == chats[:2]
    assert first.next_cursor is not None
    assert second.items == chats[2:]
    assert second.next_cursor is None


def test_iter_chats_walks_every_page_in_order(client: Client, service: Service) -> None:
    client.ensure_workspace()
    chats = [client.create_chat() for _ in range(5)]
    sent_before = len(service.sent)

    walked = list(client.iter_chats(page_size=2))

    assert walked == chats
    assert len(service.sent) - sent_before == 3
    assert [request.url.params.get("limit") for request in service.sent[-3:]] == ["2"] * 3


def test_another_users_chat_answers_as_missing(client: Client, chat: Chat) -> None:
    other = uuid4()
    client.ensure_workspace(user_id=other)

    with pytest.raises(ChatNotFoundError):
        client.get_chat(chat.chat_id, user_id=other)


def test_a_bad_cursor_raises_validation_error(client: Client, chat: Chat) -> None:
    with pytest.raises(ValidationError) as raised:
        client.list_chats(cursor="not a cursor")

    assert raised.value.status == 422


# History


def test_history_put_then_get_round_trips_with_its_etag(client: Client, chat: Chat) -> None:
    text = "# Trip\n\n**user**: Zürich → Genève?\n"

    etag = client.put_history(chat.chat_id, text)
    history = client.get_history(chat.chat_id)

    assert history == History(text, etag)
    assert etag.startswith('"')


def test_appends_grow_the_history_turn_by_turn(client: Client, chat: Chat) -> None:
    first = client.append_history(chat.chat_id, "**user**: Zürich?\n")
    second = client.append_history(chat.chat_id, b"**assistant**: yes\n", if_match=first)

    assert client.get_history(chat.chat_id) == History(
        "**user**: Zürich?\n**assistant**: yes\n", second
    )
    with pytest.raises(PreconditionFailedError):
        client.append_history(chat.chat_id, "late\n", if_match=first)


def test_get_history_with_the_current_etag_is_not_modified(client: Client, chat: Chat) -> None:
    etag = client.put_history(chat.chat_id, "v1")

    assert client.get_history(chat.chat_id, if_none_match=etag) == NotModified(etag)
    client.put_history(chat.chat_id, "v2")
    changed = client.get_history(chat.chat_id, if_none_match=etag)
    assert isinstance(changed, History)
    assert changed.content == "v2"


def test_put_history_with_a_stale_if_match_raises_and_changes_nothing(
    client: Client, chat: Chat
) -> None:
    stale = client.put_history(chat.chat_id, "first")
    current = client.put_history(chat.chat_id, "second")

    with pytest.raises(PreconditionFailedError) as raised:
        client.put_history(chat.chat_id, "third", if_match=stale)

    assert raised.value.status == 412
    assert raised.value.code == "precondition_failed"
    assert client.get_history(chat.chat_id) == History("second", current)
    assert client.put_history(chat.chat_id, "third", if_match=current) != current


@pytest.mark.parametrize(
    "make_body",
    [
        pytest.param(lambda: b"# bytes\n", id="bytes"),
        pytest.param(lambda: [b"# a list ", b"of chunks\n"], id="iterable"),
        pytest.param(lambda: (chunk for chunk in [b"# a ", b"generator\n"]), id="generator"),
        pytest.param(lambda: io.BytesIO(b"# a file object\n"), id="file"),
    ],
)
def test_put_history_sends_bytes_and_streamed_bodies(
    client: Client, chat: Chat, make_body: Callable[[], HistoryBody]
) -> None:
    expected = b"".join(_chunks(make_body()))

    client.put_history(chat.chat_id, make_body())

    assert client.get_history(chat.chat_id).content == expected.decode()


def _chunks(body: HistoryBody) -> list[bytes]:
    if isinstance(body, bytes):
        return [body]
    if isinstance(body, io.BytesIO):
        return [body.getvalue()]
    assert isinstance(body, Iterable)
    return list(body)


def test_put_history_streams_a_file_by_path(client: Client, chat: Chat, tmp_path: Path) -> None:
    path = tmp_path / "history.md"
    path.write_text("# from disk\n" * 1000)

    etag = client.put_history(chat.chat_id, path)

    assert client.get_history(chat.chat_id) == History(path.read_text(), etag)


def test_history_over_the_limit_raises_history_too_large(client: Client, chat: Chat) -> None:
    with pytest.raises(HistoryTooLargeError) as raised:
        client.put_history(chat.chat_id, b"x" * (MAX_HISTORY_BYTES + 1))

    assert raised.value.status == 413


def test_history_that_is_not_utf8_raises_invalid_history_encoding(
    client: Client, chat: Chat
) -> None:
    with pytest.raises(InvalidHistoryEncodingError):
        client.put_history(chat.chat_id, b"\xff\xfe")


# History revisions


def test_each_write_returns_its_etag_and_the_revision_it_made(client: Client, chat: Chat) -> None:
    put = client.put_history(chat.chat_id, "# Trip\n")
    appended = client.append_history(chat.chat_id, "**user**: Zürich?\n", if_match=put)
    unchanged = client.append_history(chat.chat_id, b"")

    assert (put.revision, appended.revision, unchanged.revision) == (1, 2, 2)
    assert unchanged == appended
    assert client.get_history(chat.chat_id).etag == appended
    assert isinstance(appended, str)
    assert type(appended.etag) is str


def test_a_chat_carries_a_title_and_metadata_that_a_patch_merges(client: Client) -> None:
    client.ensure_workspace()
    chat = client.create_chat(title="Trip", metadata={"model": "m-1", "lang": "fr"})

    retitled = client.update_chat(chat.chat_id, title="Trip to Lyon")
    merged = client.update_chat(chat.chat_id, metadata={"lang": None, "tone": "warm"})
    cleared = client.update_chat(chat.chat_id, title=None, metadata=None)

    assert (chat.title, chat.metadata) == ("Trip", {"model": "m-1", "lang": "fr"})
    assert chat.updated_at == chat.created_at
    assert (retitled.title, retitled.metadata) == ("Trip to Lyon", chat.metadata)
    assert (merged.title, merged.metadata) == ("Trip to Lyon", {"model": "m-1", "tone": "warm"})
    assert (cleared.title, cleared.metadata) == (None, {})
    assert client.update_chat(chat.chat_id) == cleared
    with pytest.raises(ValidationError):
        client.create_chat(title="x" * 257)


def test_chats_list_newest_change_first_on_request(client: Client) -> None:
    client.ensure_workspace()
    older, newer = client.create_chat(), client.create_chat()
    client.put_history(older.chat_id, "# moved up\n")

    recent = [chat.chat_id for chat in client.iter_chats(order=ChatOrder.RECENTLY_UPDATED)]
    by_creation = client.list_chats(order="created", limit=1)

    assert recent[0] == older.chat_id
    assert set(recent) == {older.chat_id, newer.chat_id}
    assert len(by_creation.items) == 1
    with pytest.raises(ValidationError):
        client.list_chats(order=ChatOrder.RECENTLY_UPDATED, cursor=by_creation.next_cursor)


def test_a_fork_is_a_new_chat_naming_its_source(client: Client, chat: Chat) -> None:
    client.put_history(chat.chat_id, "# one\n")
    client.append_history(chat.chat_id, "two\n")
    client.upload_file(chat.chat_id, Upload(b"notes", name="notes.txt"))

    whole = client.fork_chat(chat.chat_id)
    early = client.fork_chat(chat.chat_id, revision=1, attachments=False)

    assert whole.forked_from == ForkedFrom(chat_id=chat.chat_id, revision=2)
    assert early.forked_from == ForkedFrom(chat_id=chat.chat_id, revision=1)
    assert client.get_history(whole.chat_id).content == "# one\ntwo\n"
    assert client.get_history(early.chat_id).content == "# one\n"
    assert [file.name for file in client.list_files(whole.chat_id).items] == ["notes.txt"]
    assert client.list_files(early.chat_id).items == []
    assert client.get_chat(chat.chat_id).forked_from is None
    with pytest.raises(HistoryRevisionNotFoundError):
        client.fork_chat(chat.chat_id, revision=9)


def test_revisions_list_newest_first_with_their_sources(client: Client, chat: Chat) -> None:
    put = client.put_history(chat.chat_id, "a")
    appended = client.append_history(chat.chat_id, "bc")
    empty = client.get_history_revision(chat.chat_id, 0)

    page = client.list_history_revisions(chat.chat_id)

    assert [(r.revision, r.source, r.size_bytes) for r in page.items] == [
        (2, RevisionSource.APPEND, 3),
        (1, RevisionSource.PUT, 1),
        (0, RevisionSource.CREATE, 0),
    ]
    assert [r.etag for r in page.items] == [appended, put, empty.etag]
    assert page.next_cursor is None
    assert page.items[0].created_at >= page.items[2].created_at >= chat.created_at


def test_revisions_page_with_limit_and_cursor_and_iterate_every_page(
    client: Client, chat: Chat, service: Service
) -> None:
    for turn in range(4):
        client.append_history(chat.chat_id, f"turn {turn}\n")
    sent_before = len(service.sent)

    walked = list(client.iter_history_revisions(chat.chat_id, page_size=2))
    walk_requests = len(service.sent) - sent_before
    first = client.list_history_revisions(chat.chat_id, limit=3)
    second = client.list_history_revisions(chat.chat_id, cursor=first.next_cursor)

    assert [r.revision for r in walked] == [4, 3, 2, 1, 0]
    assert walk_requests == 3
    assert first.items + second.items == walked
    assert second.next_cursor is None


def test_a_revision_reads_back_as_the_history_did(client: Client, chat: Chat) -> None:
    empty = client.get_history(chat.chat_id)
    first = client.put_history(chat.chat_id, "# first\n")
    client.put_history(chat.chat_id, "# second\n")

    assert client.get_history_revision(chat.chat_id, first.revision) == History("# first\n", first)
    assert client.get_history_revision(chat.chat_id, 1, if_none_match=first) == NotModified(first)
    assert client.get_history_revision(chat.chat_id, 0) == empty


def test_restore_makes_the_old_content_current_as_a_new_revision(
    client: Client, chat: Chat
) -> None:
    first = client.put_history(chat.chat_id, "# first\n")
    second = client.put_history(chat.chat_id, "# second\n")

    with pytest.raises(PreconditionFailedError):
        client.restore_history_revision(chat.chat_id, first.revision, if_match=first)
    restored = client.restore_history_revision(chat.chat_id, first.revision, if_match=second)

    assert restored == first
    assert restored.revision == 3
    assert client.get_history(chat.chat_id) == History("# first\n", restored)
    newest = client.list_history_revisions(chat.chat_id, limit=1).items[0]
    assert (newest.revision, newest.source, newest.etag) == (3, RevisionSource.RESTORE, first)


@pytest.mark.parametrize(
    "revision", [pytest.param(7, id="never-made"), pytest.param(1, id="pruned")]
)
def test_a_revision_never_made_or_pruned_raises_history_revision_not_found(
    client: Client, chat: Chat, revision: int
) -> None:
    client.put_history(chat.chat_id, "a")
    client.put_history(chat.chat_id, "b")
    client.prune_history_revisions(chat.chat_id)

    with pytest.raises(HistoryRevisionNotFoundError) as raised:
        client.get_history_revision(chat.chat_id, revision)
    with pytest.raises(HistoryRevisionNotFoundError):
        client.restore_history_revision(chat.chat_id, revision)

    assert (raised.value.status, raised.value.code) == (404, "history_revision_not_found")
    assert client.get_history(chat.chat_id).content == "b"


def test_a_negative_revision_raises_validation_error(client: Client, chat: Chat) -> None:
    with pytest.raises(ValidationError):
        client.get_history_revision(chat.chat_id, -1)


def test_prune_keeps_the_current_revision_and_frees_revision_bytes(
    client: Client, chat: Chat
) -> None:
    client.put_history(chat.chat_id, "x" * 100)
    current = client.put_history(chat.chat_id, "y")
    assert client.get_workspace_usage().revision_bytes > 0

    client.prune_history_revisions(chat.chat_id)

    (kept,) = client.list_history_revisions(chat.chat_id).items
    assert (kept.revision, kept.etag) == (current.revision, current)
    assert client.get_workspace_usage().revision_bytes == 0
    assert client.append_history(chat.chat_id, "z").revision == current.revision + 1


def test_revisions_of_another_users_chat_answer_as_missing(client: Client, chat: Chat) -> None:
    other = client.with_options(user_id=uuid4())
    other.ensure_workspace()

    with pytest.raises(ChatNotFoundError):
        other.list_history_revisions(chat.chat_id)
    with pytest.raises(ChatNotFoundError):
        other.prune_history_revisions(chat.chat_id)


# Files


def test_upload_files_stores_paths_files_bytes_and_iterables_in_order(
    client: Client, chat: Chat, tmp_path: Path
) -> None:
    path = tmp_path / "notes.md"
    path.write_bytes(b"# notes\n")
    with (tmp_path / "data.csv").open("wb+") as file:
        file.write(b"a,b\n1,2\n")
        file.seek(0)

        stored = client.upload_files(
            chat.chat_id,
            [
                path,
                file,
                Upload(b"\x00\x01", name="raw.bin", content_type="application/x-raw"),
                Upload([b"chunk ", b"by chunk"], name="chunks.txt"),
            ],
        )

    assert [record.name for record in stored] == ["notes.md", "data.csv", "raw.bin", "chunks.txt"]
    assert [record.content_type for record in stored] == [
        "text/markdown",
        "text/csv",
        "application/x-raw",
        "text/plain",
    ]
    assert [record.sha256 for record in stored] == [
        sha256(b"# notes\n"),
        sha256(b"a,b\n1,2\n"),
        sha256(b"\x00\x01"),
        sha256(b"chunk by chunk"),
    ]
    assert client.list_files(chat.chat_id).items == stored


def test_upload_of_a_name_with_no_guess_sends_no_content_type(client: Client, chat: Chat) -> None:
    record = client.upload_file(chat.chat_id, Upload(b"x", name="README"))

    assert record.content_type is None


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("Übersicht 2026.pdf", id="latin"),
        pytest.param("日本語のメモ.txt", id="cjk"),
        pytest.param("emoji 🎉.md", id="emoji"),
        pytest.param("50% off; a=b.txt", id="separators"),
    ],
)
def test_upload_names_round_trip(client: Client, chat: Chat, name: str) -> None:
    record = client.upload_file(chat.chat_id, Upload(b"x", name=name))

    assert record.name == name
    assert client.get_file(chat.chat_id, record.file_id).name == name


def test_upload_name_with_a_quote_round_trips(client: Client, chat: Chat) -> None:
    record = client.upload_file(chat.chat_id, Upload(b"x", name='say "hi".txt'))

    assert record.name == 'say "hi".txt'


def test_same_name_upload_replaces_the_file(client: Client, chat: Chat) -> None:
    first = client.upload_file(chat.chat_id, Upload(b"old", name="a.txt"))
    second = client.upload_file(chat.chat_id, Upload(b"new", name="a.txt"))

    assert second.file_id != first.file_id
    assert client.list_files(chat.chat_id).items == [second]
    with pytest.raises(ChatFileNotFoundError):
        client.get_file(chat.chat_id, first.file_id)


@pytest.mark.parametrize(
    ("name", "error"),
    [
        pytest.param("a/b.txt", InvalidAttachmentNameError, id="slash"),
        pytest.param("..", InvalidAttachmentNameError, id="dot-dot"),
        pytest.param("history.md", ReservedAttachmentNameError, id="reserved"),
    ],
)
def test_upload_of_a_bad_name_raises_its_code_and_stores_nothing(
    client: Client, chat: Chat, name: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        client.upload_files(chat.chat_id, [Upload(b"ok", name="ok.txt"), Upload(b"x", name=name)])

    assert client.list_files(chat.chat_id).items == []


def test_upload_over_the_file_limit_raises_file_too_large(client: Client, chat: Chat) -> None:
    with pytest.raises(FileTooLargeError) as raised:
        client.upload_file(chat.chat_id, Upload(b"x" * (MAX_FILE_BYTES + 1), name="big.bin"))

    assert raised.value.status == 413


def test_upload_past_the_quota_raises_workspace_quota_exceeded(client: Client, chat: Chat) -> None:
    near_max = b"x" * (MAX_FILE_BYTES - KIB)
    files = [Upload(near_max, name=f"{index}.bin") for index in range(QUOTA_BYTES // len(near_max))]
    client.upload_files(chat.chat_id, files)

    with pytest.raises(WorkspaceQuotaExceededError) as raised:
        client.upload_file(chat.chat_id, Upload(near_max, name="one-more.bin"))

    assert raised.value.status == 507


def test_iter_files_walks_every_page(client: Client, chat: Chat) -> None:
    stored = client.upload_files(
        chat.chat_id, [Upload(b"x", name=f"{index}.txt") for index in range(5)]
    )

    assert list(client.iter_files(chat.chat_id, page_size=2)) == stored
    page = client.list_files(chat.chat_id, limit=3)
    assert page.items == stored[:3]
    assert client.list_files(chat.chat_id, cursor=page.next_cursor).items == stored[3:]


DATA = bytes(range(256)) * 40  # 10 KiB


@pytest.mark.parametrize(
    ("byte_range", "expected", "content_range"),
    [
        pytest.param(None, DATA, None, id="whole"),
        pytest.param(ByteRange(0, 99), DATA[:100], "bytes 0-99/10240", id="first-100"),
        pytest.param(ByteRange(10000), DATA[10000:], "bytes 10000-10239/10240", id="open-end"),
        pytest.param(ByteRange.last(16), DATA[-16:], "bytes 10224-10239/10240", id="suffix"),
        pytest.param(ByteRange(10200, 99999), DATA[10200:], "bytes 10200-10239/10240", id="clamp"),
    ],
)
def test_download_to_a_path_honours_the_range(
    client: Client,
    chat: Chat,
    tmp_path: Path,
    byte_range: ByteRange | None,
    expected: bytes,
    content_range: str | None,
) -> None:
    record = client.upload_file(chat.chat_id, Upload(DATA, name="data.bin"))
    target = tmp_path / "copy.bin"

    info = client.download_file(chat.chat_id, record.file_id, target, byte_range=byte_range)

    assert target.read_bytes() == expected
    assert info.status == (200 if byte_range is None else 206)
    assert info.partial is (byte_range is not None)
    assert info.content_range == content_range
    assert info.content_length == len(expected)
    assert info.etag == f'"{record.sha256}"'
    assert info.content_type == "application/octet-stream"
    assert info.content_disposition is not None
    assert "data.bin" in info.content_disposition


def test_download_to_a_file_object_and_as_chunks(client: Client, chat: Chat) -> None:
    record = client.upload_file(chat.chat_id, Upload(DATA, name="data.bin"))
    sink = io.BytesIO()

    client.download_file(chat.chat_id, record.file_id, sink)
    with client.stream_file(chat.chat_id, record.file_id, byte_range=ByteRange(5, 9)) as download:
        chunks = list(download.iter_bytes())

    assert sink.getvalue() == DATA
    assert b"".join(chunks) == DATA[5:10]
    assert download.info.content_range == "bytes 5-9/10240"
    assert download.response.is_closed


def test_download_of_a_range_past_the_end_raises_and_leaves_no_file(
    client: Client, chat: Chat, tmp_path: Path
) -> None:
    record = client.upload_file(chat.chat_id, Upload(DATA, name="data.bin"))

    with pytest.raises(RangeNotSatisfiableError) as raised:
        client.download_file(
            chat.chat_id, record.file_id, tmp_path / "x", byte_range=ByteRange(len(DATA))
        )

    assert raised.value.response.headers["content-range"] == f"bytes */{len(DATA)}"
    assert not (tmp_path / "x").exists()


def test_delete_file_and_delete_all_files_keep_the_history(client: Client, chat: Chat) -> None:
    first, second, third = client.upload_files(
        chat.chat_id,
        [Upload(b"1", name="1.txt"), Upload(b"2", name="2.txt"), Upload(b"3", name="3.txt")],
    )
    client.put_history(chat.chat_id, "kept")

    client.delete_file(chat.chat_id, first.file_id)
    assert client.list_files(chat.chat_id).items == [second, third]
    client.delete_files(chat.chat_id)

    assert client.list_files(chat.chat_id).items == []
    assert client.get_history(chat.chat_id).content == "kept"
    with pytest.raises(ChatFileNotFoundError):
        client.delete_file(chat.chat_id, second.file_id)


def test_rescan_records_a_file_a_sandbox_wrote(
    client: Client, chat: Chat, service: Service
) -> None:
    (service.chat_dir(chat) / "output.csv").write_bytes(b"a,b\n")

    (record,) = client.rescan_files(chat.chat_id)

    assert record.name == "output.csv"
    assert record.content_type == "text/csv"
    assert record.sha256 == sha256(b"a,b\n")
    assert client.list_files(chat.chat_id).items == [record]


# Sandbox sessions


def test_sandbox_session_starts_heartbeats_and_ends(client: Client, chat: Chat) -> None:
    started = client.start_sandbox_session(chat.chat_id, ttl_seconds=60)

    assert client.get_active_sandbox_session(chat.chat_id) == started
    beat = client.heartbeat_sandbox_session(chat.chat_id, started.session_id, ttl_seconds=600)
    assert beat.session_id == started.session_id
    assert beat.expires_at > started.expires_at
    assert (started.expires_at - started.started_at).total_seconds() == pytest.approx(60)
    assert started.started_at <= datetime.now(UTC)
    client.end_sandbox_session(chat.chat_id, started.session_id)

    with pytest.raises(SandboxSessionNotFoundError):
        client.get_active_sandbox_session(chat.chat_id)
    with pytest.raises(SandboxSessionNotFoundError):
        client.heartbeat_sandbox_session(chat.chat_id, started.session_id)


def test_sandbox_session_conflicts_raise_their_codes(client: Client, chat: Chat) -> None:
    session = client.start_sandbox_session(chat.chat_id)

    with pytest.raises(SandboxAlreadyActiveError) as already:
        client.start_sandbox_session(chat.chat_id)
    with pytest.raises(ChatHasActiveSandboxError) as active:
        client.delete_chat(chat.chat_id)

    assert already.value.status == active.value.status == 409
    client.end_sandbox_session(chat.chat_id, session.session_id)
    client.delete_chat(chat.chat_id)


# Identity and per-call settings


def test_no_user_id_raises_user_id_required(service: Service) -> None:
    with service.client(user_id=None) as client, pytest.raises(UserIdRequiredError) as raised:
        client.get_workspace()

    assert raised.value.status == 401


def test_a_user_id_that_is_no_uuid_raises_invalid_user_id(client: Client) -> None:
    with pytest.raises(InvalidUserIdError) as raised:
        client.ensure_workspace(user_id="not-a-uuid")

    assert raised.value.status == 400


def test_with_options_and_per_call_user_id_act_for_another_user(
    client: Client, service: Service
) -> None:
    other = uuid4()

    workspace = client.with_options(user_id=other).ensure_workspace()
    assert service.sent[-1].headers["x-user-id"] == str(other)
    assert client.get_workspace(user_id=other) == workspace
    assert service.sent[-1].headers["x-user-id"] == str(other)

    assert workspace.user_id == other
    with pytest.raises(WorkspaceNotFoundError):
        client.get_workspace()
    assert service.sent[-1].headers["x-user-id"] != str(other)


# The httpx client underneath


def _no_workspace(_request: httpx.Request) -> httpx.Response:
    return httpx.Response(404, json={"code": "workspace_not_found", "detail": "none"})


def test_a_client_closes_the_http_client_it_made_and_no_other() -> None:
    handed_in = httpx.Client(transport=httpx.MockTransport(_no_workspace))
    with Client(IN_PROCESS_URL, http_client=handed_in) as borrowing:
        borrowing.with_options(user_id=uuid4()).close()
    owning = Client(IN_PROCESS_URL, transport=httpx.MockTransport(_no_workspace))
    owning.with_options(user_id=uuid4()).close()
    with pytest.raises(WorkspaceNotFoundError):
        owning.get_workspace()

    owning.close()

    assert not handed_in.is_closed
    with pytest.raises(RuntimeError, match="closed"):
        owning.get_workspace()
    handed_in.close()


def test_a_client_takes_an_http_client_or_a_transport_not_both() -> None:
    transport = httpx.MockTransport(_no_workspace)
    with (
        httpx.Client(transport=transport) as http,
        pytest.raises(ValueError, match="not both"),
    ):
        Client(IN_PROCESS_URL, http_client=http, transport=transport)
