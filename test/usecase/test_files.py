import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from domain.byte_range import ByteRange
from domain.chat import Chat
from domain.chat_file import ChatFile
from domain.errors import (
    ChatFileNotFoundError,
    ChatNotFoundError,
    DomainError,
    DuplicateAttachmentNameError,
    FileTooLargeError,
    InsufficientStorageError,
    InvalidAttachmentNameError,
    InvalidInputError,
    QuotaExceededError,
    RangeNotSatisfiableError,
    ReservedAttachmentNameError,
    StorageUnavailableError,
)
from domain.limits import StorageLimits
from domain.paging import PageRequest
from test.attachment_names import ERROR_OF_CODE, INVALID, refusals
from test.fakes import StorageMethod
from test.usecase.service import (
    T0,
    USER,
    Gate,
    Part,
    Service,
    chunks_of,
    delete_chat_mid_write,
    entries,
    open_service,
    parts,
    read_and_close,
    sha256,
)
from usecase.files import FileDownload
from usecase.ports.uploads import IncomingFile

pytestmark = pytest.mark.anyio

SMALL = StorageLimits(quota_bytes=100, max_file_bytes=100, max_history_bytes=100)


async def upload(service: Service, chat: Chat, *files: IncomingFile) -> list[ChatFile]:
    return await service.run.upload_files(USER, chat.chat_id, parts(*files))


async def records_of(service: Service, chat: Chat) -> list[ChatFile]:
    return await service.metadata.files.list_all_by_chat_id(chat.chat_id)


def names_on_disk(service: Service, chat: Chat) -> list[str]:
    return entries(service.chat_dir(chat))


async def assert_usage_matches_disk(service: Service, chat: Chat) -> None:
    assert await service.used_bytes() == service.disk_bytes(chat.workspace_id)


async def small_service(tmp_path: Path) -> tuple[Service, Chat]:
    service = await open_service(tmp_path / "data", SMALL)
    return service, await service.new_chat()


# Uploading


async def test_upload_stores_each_file_and_its_record_in_part_order(service: Service) -> None:
    chat = await service.new_chat()
    service.clock.advance(5)

    stored = await upload(
        service,
        chat,
        Part("b.txt", b"bee", "text/plain"),
        Part("a.png", b"\x89PNG", "image/png"),
    )

    assert [(record.name.value, record.content_type) for record in stored] == [
        ("b.txt", "text/plain"),
        ("a.png", "image/png"),
    ]
    assert [(record.size_bytes, record.sha256) for record in stored] == [
        (3, sha256(b"bee")),
        (4, sha256(b"\x89PNG")),
    ]
    assert {record.chat_id for record in stored} == {chat.chat_id}
    assert {record.created_at for record in stored} == {T0.replace(second=5)}
    assert (service.chat_dir(chat) / "b.txt").read_bytes() == b"bee"
    assert (service.chat_dir(chat) / "a.png").read_bytes() == b"\x89PNG"
    assert await records_of(service, chat) == sorted(stored, key=lambda r: r.file_id)
    assert await service.used_bytes() == 7
    assert service.staging_entries() == []


async def test_upload_without_content_type_stores_none(service: Service) -> None:
    chat = await service.new_chat()

    [stored] = await upload(service, chat, Part("notes", b"n"))

    assert stored.content_type is None


async def test_upload_of_an_empty_file_stores_it(service: Service) -> None:
    chat = await service.new_chat()

    [stored] = await upload(service, chat, Part("empty.txt", b""))

    assert (stored.size_bytes, stored.sha256) == (0, sha256(b""))
    assert (service.chat_dir(chat) / "empty.txt").read_bytes() == b""


async def assert_no_trace(service: Service, chat: Chat, kept: dict[str, bytes]) -> None:
    """Only the history and `kept` are on disk, each with a record, and usage matches."""
    assert names_on_disk(service, chat) == sorted(["history.md", *kept])
    for name, data in kept.items():
        assert (service.chat_dir(chat) / name).read_bytes() == data
    assert sorted(record.name.value for record in await records_of(service, chat)) == sorted(kept)
    assert service.staging_entries() == []
    assert await service.used_bytes() == sum(len(data) for data in kept.values())
    await assert_usage_matches_disk(service, chat)


@pytest.mark.parametrize(
    ("filename", "code"), [pytest.param(None, INVALID, id="no-filename"), *refusals()]
)
async def test_upload_under_a_name_breaking_the_rules_is_refused_and_leaves_no_trace(
    service: Service, filename: str | None, code: str
) -> None:
    chat = await service.new_chat()
    await upload(service, chat, Part("kept.txt", b"kept"))

    with pytest.raises(ERROR_OF_CODE[code]):
        await upload(service, chat, Part(filename, b"refused"))

    await assert_no_trace(service, chat, {"kept.txt": b"kept"})
    assert (service.chat_dir(chat) / "history.md").read_bytes() == b""


async def test_upload_with_a_content_type_unfit_for_a_header_is_refused(
    service: Service,
) -> None:
    chat = await service.new_chat()

    with pytest.raises(InvalidInputError):
        await upload(service, chat, Part("a.txt", b"a", "text/plain\r\nX-Injected: 1"))

    await assert_no_trace(service, chat, {})


async def test_upload_of_exactly_the_file_limit_is_stored(service: Service) -> None:
    chat = await service.new_chat()
    data = b"x" * service.limits.max_file_bytes

    [stored] = await upload(service, chat, Part("big.bin", data))

    assert stored.size_bytes == service.limits.max_file_bytes


async def test_upload_one_byte_over_the_file_limit_is_refused(service: Service) -> None:
    chat = await service.new_chat()

    with pytest.raises(FileTooLargeError):
        await upload(service, chat, Part("big.bin", b"x" * (service.limits.max_file_bytes + 1)))

    await assert_no_trace(service, chat, {})


async def test_upload_filling_the_quota_exactly_is_stored(tmp_path: Path) -> None:
    service, chat = await small_service(tmp_path)
    await upload(service, chat, Part("a.bin", b"a" * 40))

    await upload(service, chat, Part("b.bin", b"b" * 60))

    assert await service.used_bytes() == 100


async def test_upload_one_byte_over_the_quota_is_refused(tmp_path: Path) -> None:
    service, chat = await small_service(tmp_path)
    await upload(service, chat, Part("a.bin", b"a" * 40))

    with pytest.raises(QuotaExceededError):
        await upload(service, chat, Part("b.bin", b"b" * 61))

    await assert_no_trace(service, chat, {"a.bin": b"a" * 40})


async def test_upload_counts_the_history_against_the_quota(tmp_path: Path) -> None:
    service, chat = await small_service(tmp_path)
    await service.run.put_history(USER, chat.chat_id, chunks_of(b"h" * 50), None)

    with pytest.raises(QuotaExceededError):
        await upload(service, chat, Part("b.bin", b"b" * 51))

    assert await service.used_bytes() == 50


async def test_upload_replacing_a_file_counts_only_the_growth_against_the_quota(
    tmp_path: Path,
) -> None:
    service, chat = await small_service(tmp_path)
    await upload(service, chat, Part("a.bin", b"1" * 80))

    [replacement] = await upload(service, chat, Part("a.bin", b"2" * 95))

    assert await records_of(service, chat) == [replacement]
    assert (service.chat_dir(chat) / "a.bin").read_bytes() == b"2" * 95
    assert await service.used_bytes() == 95
    with pytest.raises(QuotaExceededError):
        await upload(service, chat, Part("b.bin", b"b" * 6))


async def test_upload_under_an_existing_name_replaces_the_file_with_a_new_id(
    service: Service,
) -> None:
    chat = await service.new_chat()
    [old] = await upload(service, chat, Part("a.txt", b"old", "text/plain"))
    service.clock.advance(1)

    [new] = await upload(service, chat, Part("a.txt", b"newer", "text/markdown"))

    assert new.file_id != old.file_id
    assert (new.size_bytes, new.content_type) == (5, "text/markdown")
    with pytest.raises(ChatFileNotFoundError):
        await service.run.get_file(USER, chat.chat_id, old.file_id)
    assert await service.run.get_file(USER, chat.chat_id, new.file_id) == new
    await assert_no_trace(service, chat, {"a.txt": b"newer"})


async def test_upload_naming_one_file_twice_is_refused(service: Service) -> None:
    chat = await service.new_chat()

    with pytest.raises(DuplicateAttachmentNameError) as raised:
        await upload(service, chat, Part("a.txt", b"one"), Part("a.txt", b"two"))

    assert raised.value.code == "duplicate_attachment_name"
    await assert_no_trace(service, chat, {})


async def test_upload_without_any_file_is_refused(service: Service) -> None:
    chat = await service.new_chat()

    with pytest.raises(InvalidInputError):
        await upload(service, chat)

    await assert_no_trace(service, chat, {})


async def broken_stream() -> AsyncIterator[bytes]:
    yield b"half a part"
    raise InvalidInputError("the multipart body ended mid-part")


class BrokenPart:
    """A part whose body breaks off half-way, as a malformed multipart body would."""

    filename = "broken.txt"
    content_type = None

    def chunks(self) -> AsyncIterator[bytes]:
        return broken_stream()


SECOND_PART_FAILURES = [
    pytest.param(Part("b.txt", b"b" * 4001, chunk_bytes=5000), FileTooLargeError, id="too-large"),
    pytest.param(Part("b/c.txt", b"b"), InvalidAttachmentNameError, id="invalid-name"),
    pytest.param(Part("history.md", b"b"), ReservedAttachmentNameError, id="reserved-name"),
    pytest.param(Part("b.txt", b"b" * 3500), QuotaExceededError, id="over-quota"),
    pytest.param(BrokenPart(), InvalidInputError, id="body-breaks-off"),
]


@pytest.mark.parametrize(("second", "error"), SECOND_PART_FAILURES)
async def test_upload_whose_second_part_fails_stores_none_of_its_files(
    service: Service, second: IncomingFile, error: type[DomainError]
) -> None:
    chat = await service.new_chat()
    await upload(service, chat, Part("a.txt", b"old a"), Part("filler", b"f" * 3000))
    await upload(service, chat, Part("more-filler", b"f" * 3000))

    with pytest.raises(error):
        await upload(service, chat, Part("a.txt", b"new a " * 100), second)

    await assert_no_trace(
        service, chat, {"a.txt": b"old a", "filler": b"f" * 3000, "more-filler": b"f" * 3000}
    )


async def test_usage_follows_upload_replace_delete_and_clear(service: Service) -> None:
    chat = await service.new_chat()
    await service.run.put_history(USER, chat.chat_id, chunks_of(b"# history"), None)
    used = [await service.used_bytes()]

    [a, _] = await upload(service, chat, Part("a.txt", b"a" * 100), Part("b.txt", b"b" * 50))
    used.append(await service.used_bytes())
    await assert_usage_matches_disk(service, chat)
    [a2] = await upload(service, chat, Part("a.txt", b"a" * 30))
    used.append(await service.used_bytes())
    await assert_usage_matches_disk(service, chat)
    await service.run.delete_file(USER, chat.chat_id, a2.file_id)
    used.append(await service.used_bytes())
    await assert_usage_matches_disk(service, chat)
    await upload(service, chat, Part("c.txt", b"c" * 10))
    await service.run.clear_files(USER, chat.chat_id)
    used.append(await service.used_bytes())
    await assert_usage_matches_disk(service, chat)

    assert used == [9, 159, 89, 59, 9]
    assert a.file_id != a2.file_id


# Uploads racing each other or a delete


async def test_concurrent_uploads_that_together_pass_the_quota_store_at_most_the_quota(
    tmp_path: Path,
) -> None:
    service, chat = await small_service(tmp_path)
    other_chat = await service.run.create_chat(USER)
    # All three read the usage before any of them has stored a byte.
    gate = Gate(3)

    outcomes = await asyncio.gather(
        upload(service, chat, Part("a.bin", b"a" * 45, chunk_bytes=20, pause=gate.arrive)),
        upload(service, chat, Part("b.bin", b"b" * 45, chunk_bytes=20, pause=gate.arrive)),
        upload(service, other_chat, Part("c.bin", b"c" * 45, chunk_bytes=20, pause=gate.arrive)),
        return_exceptions=True,
    )

    stored = [outcome for outcome in outcomes if isinstance(outcome, list)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    assert (len(stored), len(refused)) == (2, 1)
    assert isinstance(refused[0], QuotaExceededError)
    assert service.disk_bytes(chat.workspace_id) == 90
    assert await service.used_bytes() == 90
    assert service.staging_entries() == []


async def test_concurrent_uploads_of_one_name_leave_one_record_naming_the_bytes_on_disk(
    service: Service,
) -> None:
    chat = await service.new_chat()
    gate = Gate(2)

    outcomes = await asyncio.gather(
        upload(service, chat, Part("same.txt", b"1" * 300, chunk_bytes=100, pause=gate.arrive)),
        upload(service, chat, Part("same.txt", b"2" * 200, chunk_bytes=100, pause=gate.arrive)),
    )

    [record] = await records_of(service, chat)
    assert record in [stored for [stored] in outcomes]
    on_disk = (service.chat_dir(chat) / "same.txt").read_bytes()
    assert (record.size_bytes, record.sha256) == (len(on_disk), sha256(on_disk))
    assert await service.used_bytes() == len(on_disk)
    assert service.staging_entries() == []


async def test_upload_into_a_chat_deleted_mid_upload_is_chat_not_found_and_leaves_no_bytes(
    service: Service,
) -> None:
    chat = await service.new_chat()

    uploader = await delete_chat_mid_write(
        service, chat, lambda hold: upload(service, chat, Part("a.bin", b"a" * 3000, pause=hold))
    )

    with pytest.raises(ChatNotFoundError):
        await uploader
    assert not service.chat_dir(chat).exists()
    assert entries(service.root / "workspaces" / str(chat.workspace_id) / "chats") == []
    assert service.staging_entries() == []
    assert await records_of(service, chat) == []
    assert await service.used_bytes() == 0


# Uploads the disk refuses


UPLOAD_FAULTS = [
    pytest.param("stage", 0, InsufficientStorageError("disk full"), id="stage-first-full"),
    pytest.param("stage", 1, StorageUnavailableError("I/O error"), id="stage-second-io"),
    pytest.param("commit_attachments", 0, InsufficientStorageError("full"), id="commit-full"),
    pytest.param("commit_attachments", 0, StorageUnavailableError("I/O"), id="commit-io"),
]


@pytest.mark.parametrize(("method", "after_calls", "error"), UPLOAD_FAULTS)
async def test_upload_the_disk_refuses_leaves_no_trace(
    service: Service, method: StorageMethod, after_calls: int, error: DomainError
) -> None:
    """api.md: the request is stored completely or not at all; a 503 or 507 changes
    nothing, so the file the first part would replace keeps its old bytes and record."""
    chat = await service.new_chat()
    [old] = await upload(service, chat, Part("a.txt", b"old a"))
    service.storage.fail(method, error, after_calls=after_calls)

    with pytest.raises(type(error)):
        await upload(service, chat, Part("a.txt", b"new a"), Part("b.txt", b"new b"))

    await assert_no_trace(service, chat, {"a.txt": b"old a"})
    assert await service.run.get_file(USER, chat.chat_id, old.file_id) == old


# Listing, reading and deleting


async def test_list_files_pages_through_every_record_in_creation_order(service: Service) -> None:
    chat = await service.new_chat()
    stored = []
    for name in ["c.txt", "a.txt", "b.txt"]:
        service.clock.advance(1)
        stored += await upload(service, chat, Part(name, name.encode()))

    first = await service.run.list_files(USER, chat.chat_id, PageRequest.from_token(2, None))
    assert first.next_cursor is not None
    second = await service.run.list_files(
        USER, chat.chat_id, PageRequest.from_token(2, first.next_cursor)
    )

    assert (list(first.items), list(second.items), second.next_cursor) == (
        stored[:2],
        stored[2:],
        None,
    )


async def test_get_file_returns_its_record(service: Service) -> None:
    chat = await service.new_chat()
    [stored] = await upload(service, chat, Part("a.txt", b"abc", "text/plain"))

    assert await service.run.get_file(USER, chat.chat_id, stored.file_id) == stored


async def test_delete_file_removes_its_record_and_bytes_and_keeps_the_others(
    service: Service,
) -> None:
    chat = await service.new_chat()
    [doomed, kept] = await upload(service, chat, Part("a.txt", b"aaa"), Part("b.txt", b"bb"))

    await service.run.delete_file(USER, chat.chat_id, doomed.file_id)

    with pytest.raises(ChatFileNotFoundError):
        await service.run.get_file(USER, chat.chat_id, doomed.file_id)
    assert await records_of(service, chat) == [kept]
    await assert_no_trace(service, chat, {"b.txt": b"bb"})


async def test_delete_file_whose_bytes_vanished_removes_its_record(service: Service) -> None:
    chat = await service.new_chat()
    [stored] = await upload(service, chat, Part("a.txt", b"aaa"))
    (service.chat_dir(chat) / "a.txt").unlink()

    await service.run.delete_file(USER, chat.chat_id, stored.file_id)

    assert await records_of(service, chat) == []


async def test_delete_file_the_disk_refuses_changes_nothing(service: Service) -> None:
    """api.md: a 503 means nothing was changed, so the file is still listed."""
    chat = await service.new_chat()
    [stored] = await upload(service, chat, Part("a.txt", b"aaa"))
    service.storage.fail("delete_attachment", StorageUnavailableError("I/O error"))

    with pytest.raises(StorageUnavailableError):
        await service.run.delete_file(USER, chat.chat_id, stored.file_id)

    assert await service.run.get_file(USER, chat.chat_id, stored.file_id) == stored
    await assert_no_trace(service, chat, {"a.txt": b"aaa"})


async def test_clear_files_removes_every_attachment_and_keeps_the_history(
    service: Service,
) -> None:
    chat = await service.new_chat()
    await service.run.put_history(USER, chat.chat_id, chunks_of(b"# kept"), None)
    await upload(service, chat, Part("a.txt", b"aaa"), Part("b.txt", b"bb"))

    await service.run.clear_files(USER, chat.chat_id)

    assert names_on_disk(service, chat) == ["history.md"]
    assert (service.chat_dir(chat) / "history.md").read_bytes() == b"# kept"
    assert await records_of(service, chat) == []
    assert await service.used_bytes() == 6


async def test_clear_files_of_a_chat_without_files_changes_nothing(service: Service) -> None:
    chat = await service.new_chat()

    await service.run.clear_files(USER, chat.chat_id)

    await assert_no_trace(service, chat, {})


# Downloading

DATA = b"0123456789"


async def opened(
    service: Service,
    *,
    byte_range: ByteRange | None = None,
    if_none_match: str | None = None,
    if_range: str | None = None,
) -> tuple[ChatFile, FileDownload]:
    chat = await service.new_chat()
    [stored] = await upload(service, chat, Part("digits.txt", DATA, "text/plain"))
    download = await service.run.open_file_content(
        USER,
        chat.chat_id,
        stored.file_id,
        byte_range=byte_range,
        if_none_match=if_none_match,
        if_range=if_range,
    )
    return stored, download


async def test_open_file_content_serves_the_whole_file_by_default(service: Service) -> None:
    stored, download = await opened(service)

    assert (download.record, download.span, download.not_modified) == (stored, None, False)
    assert download.etag == f'"{sha256(DATA)}"'
    assert download.content.size_bytes == 10
    assert await read_and_close(download.content) == DATA


RANGES = [
    pytest.param(ByteRange(2, 5), (2, 5), b"2345", id="closed"),
    pytest.param(ByteRange(7, None), (7, 9), b"789", id="open"),
    pytest.param(ByteRange(None, 3), (7, 9), b"789", id="suffix"),
    pytest.param(ByteRange(8, 1000), (8, 9), b"89", id="clamped"),
    pytest.param(ByteRange(None, 1000), (0, 9), DATA, id="suffix-longer-than-file"),
]


@pytest.mark.parametrize(("byte_range", "span", "data"), RANGES)
async def test_open_file_content_with_a_range_serves_that_span(
    service: Service, byte_range: ByteRange, span: tuple[int, int], data: bytes
) -> None:
    _, download = await opened(service, byte_range=byte_range)

    assert download.span == span
    assert await read_and_close(download.content, span) == data


@pytest.mark.parametrize(
    "byte_range",
    [
        pytest.param(ByteRange(10, None), id="start-at-end"),
        pytest.param(ByteRange(None, 0), id="suffix-0"),
    ],
)
async def test_open_file_content_with_a_range_outside_the_file_is_not_satisfiable(
    service: Service, byte_range: ByteRange
) -> None:
    with pytest.raises(RangeNotSatisfiableError) as raised:
        await opened(service, byte_range=byte_range)

    assert raised.value.size_bytes == 10


CURRENT_ETAG = f'"{sha256(DATA)}"'
STALE_ETAG = f'"{sha256(b"stale")}"'


@pytest.mark.parametrize(
    "if_none_match",
    [
        pytest.param(CURRENT_ETAG, id="current"),
        pytest.param("*", id="star"),
        pytest.param(f"{STALE_ETAG}, {CURRENT_ETAG}", id="current-in-list"),
        pytest.param(f"W/{CURRENT_ETAG}", id="current-weakened"),
    ],
)
async def test_open_file_content_with_a_matching_if_none_match_is_not_modified(
    service: Service, if_none_match: str
) -> None:
    _, download = await opened(service, if_none_match=if_none_match, byte_range=ByteRange(0, 1))
    await download.content.aclose()

    assert download.not_modified


async def test_open_file_content_with_a_stale_if_none_match_serves_the_file(
    service: Service,
) -> None:
    _, download = await opened(service, if_none_match=STALE_ETAG)

    assert not download.not_modified
    assert await read_and_close(download.content) == DATA


async def test_open_file_content_with_a_current_if_range_serves_the_range(
    service: Service,
) -> None:
    _, download = await opened(service, byte_range=ByteRange(2, 3), if_range=CURRENT_ETAG)
    await download.content.aclose()

    assert download.span == (2, 3)


@pytest.mark.parametrize(
    "if_range",
    [
        pytest.param(STALE_ETAG, id="stale"),
        pytest.param(f"W/{CURRENT_ETAG}", id="weak-never-matches"),
        pytest.param("Wed, 01 Apr 2026 12:00:00 GMT", id="date"),
    ],
)
async def test_open_file_content_with_another_if_range_serves_the_whole_file(
    service: Service, if_range: str
) -> None:
    _, download = await opened(service, byte_range=ByteRange(2, 3), if_range=if_range)

    assert download.span is None
    assert await read_and_close(download.content) == DATA


async def test_open_file_content_whose_bytes_vanished_is_file_not_found(
    service: Service,
) -> None:
    chat = await service.new_chat()
    [stored] = await upload(service, chat, Part("a.txt", b"abc"))
    (service.chat_dir(chat) / "a.txt").unlink()

    with pytest.raises(ChatFileNotFoundError):
        await service.run.open_file_content(USER, chat.chat_id, stored.file_id)


async def test_open_file_content_never_serves_what_a_planted_link_points_to(
    service: Service, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"secret")
    chat = await service.new_chat()
    [stored] = await upload(service, chat, Part("a.txt", b"abc"))
    path = service.chat_dir(chat) / "a.txt"
    path.unlink()
    path.symlink_to(secret)

    with pytest.raises(ChatFileNotFoundError):
        await service.run.open_file_content(USER, chat.chat_id, stored.file_id)
