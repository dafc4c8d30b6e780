import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import pytest

from domain.chat import Chat
from domain.errors import (
    ChatNotFoundError,
    DomainError,
    HistoryTooLargeError,
    InsufficientStorageError,
    InvalidHistoryEncodingError,
    PreconditionFailedError,
    QuotaExceededError,
    StorageUnavailableError,
)
from domain.history import HistoryVersion
from domain.history_revision import HistoryRevision
from domain.limits import StorageLimits
from test.fakes import StorageMethod
from test.usecase.service import (
    USER,
    Gate,
    Part,
    Service,
    chunks_of,
    open_service,
    parts,
    read_and_close,
    sha256,
)

pytestmark = pytest.mark.anyio

EMPTY_ETAG = f'"{sha256(b"")}"'
# One revision kept: nothing beside the history counts, so these figures are the history's.
SMALL = StorageLimits(
    quota_bytes=100, max_file_bytes=100, max_history_bytes=100, history_revisions=1
)


async def read_history(service: Service, chat: Chat) -> bytes:
    read = await service.run.get_history(USER, chat.chat_id, None)
    assert read.content is not None
    return await read_and_close(read.content)


async def put(service: Service, chat: Chat, body: bytes, if_match: str | None = None) -> str:
    version = await service.run.put_history(USER, chat.chat_id, chunks_of(body), if_match)
    return version.etag


async def test_new_chat_history_reads_as_empty(service: Service) -> None:
    chat = await service.new_chat()

    read = await service.run.get_history(USER, chat.chat_id, None)

    assert read.version == HistoryVersion(sha256(b""), 0)
    assert read.content is not None
    assert await read_and_close(read.content) == b""


async def test_put_history_replaces_the_whole_content_and_names_it_by_etag(
    service: Service,
) -> None:
    chat = await service.new_chat()
    await put(service, chat, b"# first version, rather long")

    revision = await service.run.put_history(USER, chat.chat_id, chunks_of(b"# sec", b"ond"), None)
    version = revision.version

    assert version == HistoryVersion(sha256(b"# second"), 8)
    assert version.etag == f'"{sha256(b"# second")}"'
    assert await read_history(service, chat) == b"# second"
    assert (service.chat_dir(chat) / "history.md").read_bytes() == b"# second"
    assert service.staging_entries() == []


async def test_get_history_with_the_current_etag_sends_no_content(service: Service) -> None:
    chat = await service.new_chat()
    etag = await put(service, chat, b"# hi")

    read = await service.run.get_history(USER, chat.chat_id, etag)

    assert (read.version.etag, read.content) == (etag, None)


async def test_get_history_with_star_sends_no_content(service: Service) -> None:
    chat = await service.new_chat()

    read = await service.run.get_history(USER, chat.chat_id, "*")

    assert read.content is None


async def test_get_history_with_a_stale_etag_sends_the_content(service: Service) -> None:
    chat = await service.new_chat()
    await put(service, chat, b"# hi")

    read = await service.run.get_history(USER, chat.chat_id, EMPTY_ETAG)

    assert read.content is not None
    assert await read_and_close(read.content) == b"# hi"


async def test_get_history_with_the_current_etag_weakened_sends_no_content(
    service: Service,
) -> None:
    """RFC 9110 13.1.2: If-None-Match compares weakly, so W/"x" matches "x". Proxies that
    compress a response weaken its ETag, and clients then send the weak form back."""
    chat = await service.new_chat()
    etag = await put(service, chat, b"# hi")

    read = await service.run.get_history(USER, chat.chat_id, f"W/{etag}")

    assert read.content is None


async def test_get_history_reads_a_history_the_sandbox_rewrote(service: Service) -> None:
    chat = await service.new_chat()
    etag = await put(service, chat, b"# hi")
    (service.chat_dir(chat) / "history.md").write_bytes(b"# rewritten by the sandbox")

    read = await service.run.get_history(USER, chat.chat_id, etag)

    assert read.version.etag != etag
    assert read.content is not None
    assert await read_and_close(read.content) == b"# rewritten by the sandbox"


IF_MATCH_ACCEPTED = [
    pytest.param(None, id="absent"),
    pytest.param(EMPTY_ETAG, id="current"),
    pytest.param("*", id="star"),
    pytest.param(f'"{sha256(b"x")}", {EMPTY_ETAG}', id="current-in-list"),
]


@pytest.mark.parametrize("if_match", IF_MATCH_ACCEPTED)
async def test_put_history_with_a_matching_or_no_if_match_writes(
    service: Service, if_match: str | None
) -> None:
    chat = await service.new_chat()

    await put(service, chat, b"# new", if_match)

    assert await read_history(service, chat) == b"# new"


async def test_put_history_with_a_stale_if_match_fails_and_changes_nothing(
    service: Service,
) -> None:
    chat = await service.new_chat()
    await put(service, chat, b"# current")

    with pytest.raises(PreconditionFailedError):
        await put(service, chat, b"# lost update", EMPTY_ETAG)

    assert await read_history(service, chat) == b"# current"
    assert await service.used_bytes() == len(b"# current")
    assert service.staging_entries() == []


async def test_put_history_with_a_stale_if_match_fails_before_its_body_is_read(
    service: Service,
) -> None:
    """RFC 9110 13.2.2: preconditions come before the content is processed, so a stale
    If-Match answers 412 even for a body that would be refused, and never reads it (ADR 0012)."""
    chat = await service.new_chat()
    await put(service, chat, b"# current")
    read: list[bytes] = []

    async def body() -> AsyncIterator[bytes]:
        for chunk in (b"not utf-8 \xff", b"x" * service.limits.max_history_bytes):
            read.append(chunk)
            yield chunk

    with pytest.raises(PreconditionFailedError):
        await service.run.put_history(USER, chat.chat_id, body(), EMPTY_ETAG)

    assert read == []
    assert await read_history(service, chat) == b"# current"
    assert service.staging_entries() == []


async def test_put_history_with_a_weak_if_match_fails(service: Service) -> None:
    """RFC 9110 13.1.1: If-Match compares strongly; a weak tag never matches."""
    chat = await service.new_chat()
    etag = await put(service, chat, b"# current")

    with pytest.raises(PreconditionFailedError):
        await put(service, chat, b"# lost update", f"W/{etag}")

    assert await read_history(service, chat) == b"# current"


async def test_put_history_counts_its_size_as_usage(service: Service) -> None:
    chat = await service.new_chat()

    await put(service, chat, b"x" * 500)
    assert await service.used_bytes() == 500
    await put(service, chat, b"x" * 200)

    assert await service.used_bytes() == 200 == service.disk_bytes(chat.workspace_id)


async def test_put_history_of_exactly_the_limit_is_stored(service: Service) -> None:
    chat = await service.new_chat()
    body = b"x" * service.limits.max_history_bytes

    await put(service, chat, body)

    assert await read_history(service, chat) == body


async def test_utf8_character_split_across_chunks_is_stored(service: Service) -> None:
    chat = await service.new_chat()

    await service.run.put_history(
        USER, chat.chat_id, chunks_of(b"caf\xc3", b"\xa9 \xf0\x9f", b"\x98\x80"), None
    )

    assert (await read_history(service, chat)).decode() == "café 😀"


REFUSED_BODIES = [
    pytest.param((b"# fine", b"\xff"), InvalidHistoryEncodingError, id="invalid-byte"),
    pytest.param((b"# cut short \xe2\x82",), InvalidHistoryEncodingError, id="truncated-char"),
    pytest.param((b"x" * 3000, b"x"), HistoryTooLargeError, id="limit-plus-one"),
]


@pytest.mark.parametrize(("body", "error"), REFUSED_BODIES)
async def test_refused_history_leaves_no_trace(
    service: Service, body: tuple[bytes, ...], error: type[DomainError]
) -> None:
    assert service.limits.max_history_bytes == 3000
    chat = await service.new_chat()
    await put(service, chat, b"# kept")

    with pytest.raises(error):
        await service.run.put_history(USER, chat.chat_id, chunks_of(*body), None)

    assert await read_history(service, chat) == b"# kept"
    assert await service.used_bytes() == 6
    assert service.staging_entries() == []


@pytest.mark.parametrize(
    ("size", "outcome", "kept_size"),
    [
        pytest.param(70, nullcontext(), 70, id="growth-up-to-the-quota-is-stored"),
        pytest.param(
            71,
            pytest.raises(QuotaExceededError),
            60,
            id="growth-over-the-quota-is-refused-and-leaves-no-trace",
        ),
    ],
)
async def test_history_replacing_another_is_charged_only_its_growth(
    tmp_path: Path, size: int, outcome: AbstractContextManager[object], kept_size: int
) -> None:
    """30 bytes of file and a 60-byte history in a 100-byte quota: the history may grow to 70."""
    service = await open_service(tmp_path / "data", SMALL)
    chat = await service.new_chat()
    await service.run.upload_files(USER, chat.chat_id, parts(Part("a.bin", b"a" * 30)))
    await put(service, chat, b"h" * 60)

    with outcome:
        await put(service, chat, b"h" * size)

    assert await read_history(service, chat) == b"h" * kept_size
    assert await service.used_bytes() == 30 + kept_size == service.disk_bytes(chat.workspace_id)
    assert service.staging_entries() == []


DISK_FAULTS = [
    pytest.param("stage", InsufficientStorageError("disk full"), id="stage-disk-full"),
    pytest.param("stage", StorageUnavailableError("I/O error"), id="stage-io-error"),
    pytest.param("write_history", InsufficientStorageError("disk full"), id="write-disk-full"),
    pytest.param("write_history", StorageUnavailableError("I/O error"), id="write-io-error"),
]


@pytest.mark.parametrize(("method", "error"), DISK_FAULTS)
async def test_history_write_the_disk_refuses_leaves_no_trace(
    service: Service, method: StorageMethod, error: DomainError
) -> None:
    chat = await service.new_chat()
    await put(service, chat, b"# kept")
    service.storage.fail(method, error)

    with pytest.raises(type(error)):
        await put(service, chat, b"# a longer history that the disk refuses")

    assert await read_history(service, chat) == b"# kept"
    assert await service.used_bytes() == 6
    assert service.staging_entries() == []


async def test_concurrent_writes_with_one_if_match_let_exactly_one_win(service: Service) -> None:
    chat = await service.new_chat()
    etag = await put(service, chat, b"# base")
    # Both writers are past the early If-Match check before either body arrives.
    gate = Gate(2)

    async def body(text: bytes) -> AsyncIterator[bytes]:
        await gate.arrive()
        yield text

    outcomes = await asyncio.gather(
        service.run.put_history(USER, chat.chat_id, body(b"# from alice"), etag),
        service.run.put_history(USER, chat.chat_id, body(b"# from bob"), etag),
        return_exceptions=True,
    )

    [won] = [outcome.version for outcome in outcomes if isinstance(outcome, HistoryRevision)]
    [lost] = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    assert isinstance(lost, PreconditionFailedError)
    written = await read_history(service, chat)
    assert won == HistoryVersion(sha256(written), len(written))
    assert await service.used_bytes() == len(written)
    assert service.staging_entries() == []


async def test_put_history_into_a_chat_deleted_meanwhile_leaves_nothing(service: Service) -> None:
    chat = await service.new_chat()
    streaming = asyncio.Event()
    release = asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        yield b"# first half"
        streaming.set()
        await release.wait()
        yield b" and the rest"

    writer = asyncio.create_task(service.run.put_history(USER, chat.chat_id, body(), None))
    await streaming.wait()
    await service.run.delete_chat(USER, chat.chat_id)
    release.set()

    with pytest.raises(ChatNotFoundError):
        await writer
    assert not service.chat_dir(chat).exists()
    assert service.staging_entries() == []
    assert await service.used_bytes() == 0


# Writes that queue up behind one being committed are committed together (ADR 0012).


async def wait_until_queued(service: Service, chat: Chat, writers: list[asyncio.Task[Any]]) -> None:
    """Wait until every writer that has not failed waits for the next batch."""
    commits = service.run.put_history.commits
    for _ in range(2000):
        if commits.waiting(chat.chat_id) == sum(not writer.done() for writer in writers):
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the writes never queued up")


async def queued_behind_a_held_write(
    service: Service,
    chat: Chat,
    monkeypatch: pytest.MonkeyPatch,
    writes: list[tuple[bytes, str | None]],
    first_body: bytes = b"# first",
    before_release: Callable[[], Awaitable[object]] | None = None,
) -> list[HistoryVersion | BaseException]:
    """Start a write of `first_body` and hold it inside its commit; send `writes`
    meanwhile, in order, so they queue up as one batch; then let everything finish."""
    writing = asyncio.Event()
    release = asyncio.Event()
    write_history = service.storage.write_history

    async def held_once(*args: object, **kwargs: object) -> int:
        if not writing.is_set():
            writing.set()
            await release.wait()
        return await write_history(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(service.storage, "write_history", held_once)
    first = asyncio.create_task(put(service, chat, first_body))
    await writing.wait()
    queued = []
    for body, if_match in writes:
        queued.append(
            asyncio.create_task(
                service.run.put_history(USER, chat.chat_id, chunks_of(body), if_match)
            )
        )
        await wait_until_queued(service, chat, queued)  # queued before the next one starts
    if before_release is not None:
        await before_release()
    release.set()
    await first
    outcomes = await asyncio.gather(*queued, return_exceptions=True)
    return [
        outcome.version if isinstance(outcome, HistoryRevision) else outcome for outcome in outcomes
    ]


async def test_writes_queued_together_each_succeed_and_the_last_one_stays(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = await service.new_chat()
    bodies = [f"# writer {index}\n".encode() for index in range(8)]

    outcomes = await queued_behind_a_held_write(
        service, chat, monkeypatch, [(body, None) for body in bodies]
    )

    assert outcomes == [HistoryVersion(sha256(body), len(body)) for body in bodies]
    assert await read_history(service, chat) == bodies[-1]
    assert await service.used_bytes() == len(bodies[-1])
    assert service.staging_entries() == []


async def test_a_queued_if_match_is_checked_against_the_write_queued_before_it(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = await service.new_chat()
    base = await put(service, chat, b"# base")

    # The held write leaves "# base" as it was, so every If-Match below passes the early
    # check against the disk; the batch then decides in its own order.
    outcomes = await queued_behind_a_held_write(
        service,
        chat,
        monkeypatch,
        [
            (b"# second", base),  # follows "# base": accepted
            (b"# stale", base),  # "# second" came between: refused
            (b"# third", None),  # unconditional: accepted
        ],
        first_body=b"# base",
    )

    assert outcomes[0] == HistoryVersion(sha256(b"# second"), len(b"# second"))
    assert isinstance(outcomes[1], PreconditionFailedError)
    assert outcomes[2] == HistoryVersion(sha256(b"# third"), len(b"# third"))
    assert await read_history(service, chat) == b"# third"
    assert await service.used_bytes() == len(b"# third")
    assert service.staging_entries() == []


async def test_a_queued_write_another_chat_pushed_over_the_quota_is_refused_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = await open_service(tmp_path, SMALL)
    chat = await service.new_chat()
    other_chat = await service.new_chat()

    async def fill_the_other_chat() -> None:
        await service.run.upload_files(USER, other_chat.chat_id, parts(Part("o.bin", b"o" * 45)))

    # "a" * 60 fit when it was staged; the upload then leaves room for 100 - 45 only.
    outcomes = await queued_behind_a_held_write(
        service,
        chat,
        monkeypatch,
        [(b"a" * 60, None), (b"c" * 40, None)],
        before_release=fill_the_other_chat,
    )

    assert isinstance(outcomes[0], QuotaExceededError)
    assert outcomes[1] == HistoryVersion(sha256(b"c" * 40), 40)
    assert await read_history(service, chat) == b"c" * 40
    assert await service.used_bytes() == 45 + 40
    assert service.staging_entries() == []


async def test_a_queued_batch_the_disk_refuses_fails_every_write_and_keeps_the_history(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = await service.new_chat()
    await put(service, chat, b"# kept")
    service.storage.fail("write_history", StorageUnavailableError("I/O error"), after_calls=1)

    outcomes = await queued_behind_a_held_write(
        service, chat, monkeypatch, [(b"# one", None), (b"# two", None)]
    )

    assert all(isinstance(outcome, StorageUnavailableError) for outcome in outcomes)
    assert await read_history(service, chat) == b"# first"
    assert await service.used_bytes() == len(b"# first")
    assert service.staging_entries() == []
