"""Appending to a history (ADR 0021): batches, preconditions, limits, the quota, the disk
refusing, and a history a sandbox changed or removed."""

import asyncio
import os
from pathlib import Path

import pytest

from domain.chat import Chat
from domain.errors import (
    HistoryTooLargeError,
    InvalidHistoryEncodingError,
    PreconditionFailedError,
    QuotaExceededError,
    StorageUnavailableError,
)
from domain.history import HistoryVersion
from domain.limits import StorageLimits
from test.usecase.service import (
    USER,
    Part,
    Service,
    chunks_of,
    open_service,
    parts,
    read_and_close,
    sha256,
)
from test.usecase.test_history import put, read_history

pytestmark = pytest.mark.anyio

SMALL = StorageLimits(quota_bytes=100, max_file_bytes=100, max_history_bytes=60)


def version_of(data: bytes) -> HistoryVersion:
    return HistoryVersion(sha256(data), len(data))


async def append(
    service: Service, chat: Chat, body: bytes, if_match: str | None = None
) -> HistoryVersion:
    made = await service.run.append_history(USER, chat.chat_id, chunks_of(body), if_match)
    return made.version


def history_path(service: Service, chat: Chat) -> Path:
    return service.chat_dir(chat) / "history.md"


async def test_appends_grow_the_history_and_name_each_version(service: Service) -> None:
    chat = await service.new_chat()

    first = await append(service, chat, b"**user**: hi\n")
    second = await append(service, chat, b"**assistant**: hello\n")

    assert first == version_of(b"**user**: hi\n")
    assert second == version_of(b"**user**: hi\n**assistant**: hello\n")
    assert await read_history(service, chat) == b"**user**: hi\n**assistant**: hello\n"
    assert (await service.run.get_history(USER, chat.chat_id, None)).version == second
    assert await service.used_bytes() == second.size_bytes
    assert service.staging_entries() == []


async def test_an_append_grows_the_file_in_place(service: Service) -> None:
    """The cost of an append is the bytes it adds: the history keeps its inode."""
    chat = await service.new_chat()
    await put(service, chat, b"# base\n")
    inode = history_path(service, chat).stat().st_ino

    await append(service, chat, b"more\n")

    assert history_path(service, chat).stat().st_ino == inode


async def test_an_empty_append_changes_nothing_and_answers_the_current_version(
    service: Service,
) -> None:
    chat = await service.new_chat()
    base = await append(service, chat, b"# base")

    assert await append(service, chat, b"") == base
    assert await append(service, chat, b"", base.etag) == base
    with pytest.raises(PreconditionFailedError):
        await append(service, chat, b"", f'"{sha256(b"other")}"')
    assert await read_history(service, chat) == b"# base"


async def test_an_append_with_a_stale_if_match_changes_nothing(service: Service) -> None:
    chat = await service.new_chat()
    base = await append(service, chat, b"# one\n")
    await append(service, chat, b"# two\n")

    with pytest.raises(PreconditionFailedError):
        await append(service, chat, b"# late\n", base.etag)

    assert await read_history(service, chat) == b"# one\n# two\n"


async def test_an_append_with_the_current_if_match_lands(service: Service) -> None:
    chat = await service.new_chat()
    base = await append(service, chat, b"# one\n")

    after = await append(service, chat, b"# two\n", base.etag)

    assert after == version_of(b"# one\n# two\n")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        pytest.param(b"\xff\xfe", InvalidHistoryEncodingError, id="not-utf-8"),
        pytest.param(b"x" * 61, HistoryTooLargeError, id="body-past-the-limit"),
        pytest.param(b"x" * 31, HistoryTooLargeError, id="history-past-the-limit"),
    ],
)
async def test_a_refused_append_leaves_no_trace(
    tmp_path: Path, body: bytes, error: type[Exception]
) -> None:
    service = await open_service(tmp_path, SMALL)
    chat = await service.new_chat()
    await append(service, chat, b"y" * 30)

    with pytest.raises(error):
        await append(service, chat, body)

    assert await read_history(service, chat) == b"y" * 30
    assert await service.used_bytes() == 30
    assert service.staging_entries() == []
    assert list((tmp_path / "unsettled").iterdir()) == []


async def test_an_append_past_the_quota_is_refused(tmp_path: Path) -> None:
    service = await open_service(tmp_path, SMALL)
    chat = await service.new_chat()
    await service.run.upload_files(USER, chat.chat_id, parts(Part("a.bin", b"a" * 50)))
    await append(service, chat, b"y" * 40)

    with pytest.raises(QuotaExceededError):
        await append(service, chat, b"z" * 11)

    assert await read_history(service, chat) == b"y" * 40
    assert await service.used_bytes() == 90


async def test_racing_appends_all_land_whole_in_some_order(service: Service) -> None:
    chat = await service.new_chat()
    turns = [f"turn {index:02d} ".encode() * 10 + b"\n" for index in range(30)]

    versions = await asyncio.gather(*(append(service, chat, turn) for turn in turns))

    history = await read_history(service, chat)
    lines = history.splitlines(keepends=True)
    assert sorted(lines) == sorted(turns)
    assert max(versions, key=lambda version: version.size_bytes) == version_of(history)
    # Each append's version names the history as it stood right after it.
    for version in versions:
        assert version == version_of(history[: version.size_bytes])
    assert await service.used_bytes() == len(history)


async def test_a_racing_if_match_lets_exactly_one_append_through(service: Service) -> None:
    chat = await service.new_chat()
    base = await append(service, chat, b"# base\n")

    outcomes = await asyncio.gather(
        *(append(service, chat, b"# %d\n" % index, base.etag) for index in range(6)),
        return_exceptions=True,
    )

    landed = [item for item in outcomes if isinstance(item, HistoryVersion)]
    assert len(landed) == 1
    assert all(isinstance(item, PreconditionFailedError) for item in outcomes if item not in landed)
    assert version_of(await read_history(service, chat)) == landed[0]


async def test_a_put_and_appends_racing_end_as_some_serial_order(service: Service) -> None:
    chat = await service.new_chat()
    await append(service, chat, b"# base\n")

    await asyncio.gather(
        append(service, chat, b"a\n"),
        put(service, chat, b"# replaced\n"),
        append(service, chat, b"b\n"),
    )

    history = await read_history(service, chat)
    assert history.startswith((b"# base\n", b"# replaced\n"))
    assert history in {
        b"# replaced\n",
        b"# replaced\na\n",
        b"# replaced\nb\n",
        b"# replaced\na\nb\n",
        b"# replaced\nb\na\n",
    }
    assert await service.used_bytes() == len(history)


async def test_an_append_onto_what_a_sandbox_appended_keeps_both(service: Service) -> None:
    chat = await service.new_chat()
    await append(service, chat, b"# service\n")
    with history_path(service, chat).open("ab") as history:
        history.write(b"# sandbox\n")

    after = await append(service, chat, b"# service again\n")

    expected = b"# service\n# sandbox\n# service again\n"
    assert after == version_of(expected)
    assert await read_history(service, chat) == expected
    assert await service.used_bytes() == len(expected)


@pytest.mark.parametrize("planted", ["removed", "link", "directory"])
async def test_an_append_to_a_history_a_sandbox_took_away_starts_from_empty(
    service: Service, tmp_path: Path, planted: str
) -> None:
    chat = await service.new_chat()
    await append(service, chat, b"# gone\n")
    path = history_path(service, chat)
    path.unlink()
    outside = tmp_path / "outside.md"
    outside.write_bytes(b"secret")
    if planted == "link":
        path.symlink_to(outside)
    elif planted == "directory":
        path.mkdir()

    if planted == "directory":
        with pytest.raises(StorageUnavailableError):
            await append(service, chat, b"# new\n")
        return
    after = await append(service, chat, b"# new\n")

    assert after == version_of(b"# new\n")
    assert path.read_bytes() == b"# new\n"
    assert not path.is_symlink()
    assert outside.read_bytes() == b"secret"


async def test_an_append_the_disk_refuses_changes_nothing(service: Service) -> None:
    chat = await service.new_chat()
    await append(service, chat, b"# kept\n")
    service.storage.fail("append_history", StorageUnavailableError("I/O error"))

    with pytest.raises(StorageUnavailableError):
        await append(service, chat, b"# lost\n")

    service.storage.heal()
    assert await read_history(service, chat) == b"# kept\n"
    assert await service.used_bytes() == len(b"# kept\n")
    assert service.staging_entries() == []
    # The mark stays (the copy might have begun), and settling finds nothing to undo.
    await service.run.settle_chats()
    assert await read_history(service, chat) == b"# kept\n"
    assert await service.used_bytes() == len(b"# kept\n")
    assert list((service.root / "unsettled").iterdir()) == []


async def test_a_reader_never_sees_part_of_an_append(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Half of an append is on disk while it holds the chat's lock: a GET waits for it."""
    chat = await service.new_chat()
    await append(service, chat, b"# before\n")
    path = history_path(service, chat)
    half_written = asyncio.Event()
    release = asyncio.Event()
    append_history = service.storage.append_history

    async def held_half_way(*args: object) -> None:
        with path.open("ab") as history:
            history.write(b"# aft")  # what a copy cut in the middle has put there so far
        half_written.set()
        await release.wait()
        os.truncate(path, len(b"# before\n"))
        await append_history(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(service.storage, "append_history", held_half_way)
    appending = asyncio.create_task(append(service, chat, b"# after\n"))
    await half_written.wait()
    reading = asyncio.create_task(read_history(service, chat))
    await asyncio.sleep(0.05)
    assert not reading.done()

    release.set()
    await appending

    assert await reading == b"# before\n# after\n"


async def died_half_way_through_an_append(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> Chat:
    """A chat holding "# before\n", on which the process died half-way through appending
    "# after\n": part of it on disk, the chat marked."""
    chat = await service.new_chat()
    await append(service, chat, b"# before\n")
    path = history_path(service, chat)

    async def dies_half_way(*args: object) -> None:
        with path.open("ab") as history:
            history.write(b"# aft")
        raise RuntimeError("the process died here")

    monkeypatch.setattr(service.storage, "append_history", dies_half_way)
    with pytest.raises(RuntimeError):
        await append(service, chat, b"# after\n")
    monkeypatch.undo()
    return chat


async def test_a_crash_in_the_middle_of_an_append_settles_to_before_it(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = await died_half_way_through_an_append(service, monkeypatch)
    assert list((service.root / "unsettled").iterdir()) != []

    await service.run.settle_chats()

    assert await read_history(service, chat) == b"# before\n"
    assert await service.used_bytes() == len(b"# before\n")
    assert list((service.root / "unsettled").iterdir()) == []


async def test_a_crash_after_a_whole_append_settles_to_after_it(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = await service.new_chat()
    await append(service, chat, b"# before\n")
    append_history = service.storage.append_history

    async def dies_after(*args: object) -> None:
        await append_history(*args)  # type: ignore[arg-type]
        raise RuntimeError("the process died here")

    monkeypatch.setattr(service.storage, "append_history", dies_after)
    with pytest.raises(RuntimeError):
        await append(service, chat, b"# after\n")
    monkeypatch.undo()

    await service.run.settle_chats()

    assert await read_history(service, chat) == b"# before\n# after\n"
    assert await service.used_bytes() == len(b"# before\n# after\n")


async def test_the_next_append_settles_an_append_a_crash_cut_short(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another instance, still running, appends to the chat a dead one was appending to."""
    chat = await died_half_way_through_an_append(service, monkeypatch)

    after = await append(service, chat, b"# next\n")

    assert after == version_of(b"# before\n# next\n")
    assert await read_history(service, chat) == b"# before\n# next\n"
    assert list((service.root / "unsettled").iterdir()) == []


async def test_a_reader_never_sees_what_an_append_a_crash_cut_short_left(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another instance, still running, reads the chat a dead one was appending to: the
    history is cut back before it is read (never served with part of the append)."""
    chat = await died_half_way_through_an_append(service, monkeypatch)

    read = await service.run.get_history(USER, chat.chat_id, None)

    assert read.version == version_of(b"# before\n")
    assert read.content is not None
    assert await read_and_close(read.content) == b"# before\n"
    assert list((service.root / "unsettled").iterdir()) == []


async def test_an_append_onto_a_history_hard_linked_to_an_attachment_leaves_the_attachment(
    service: Service,
) -> None:
    """A sandbox made history.md a second name of an attachment: the append must not grow
    the attachment's bytes through it."""
    chat = await service.new_chat()
    [record] = await service.run.upload_files(USER, chat.chat_id, parts(Part("a.md", b"# a\n")))
    path = history_path(service, chat)
    path.unlink()
    os.link(service.chat_dir(chat) / "a.md", path)

    after = await append(service, chat, b"more\n")

    assert after == version_of(b"# a\nmore\n")
    assert (service.chat_dir(chat) / "a.md").read_bytes() == b"# a\n"
    assert path.stat().st_nlink == 1
    assert (await service.run.get_file(USER, chat.chat_id, record.file_id)).size_bytes == 4


async def test_a_batch_another_chat_pushed_over_the_quota_is_planned_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch of two appends fit when planned; another chat's upload then took room before
    its count: planned again, the first no longer fits and the second alone still does
    (without planning again, both would be refused)."""
    service = await open_service(tmp_path, StorageLimits(100, 100, 100))
    chat = await service.new_chat()
    other_chat = await service.new_chat()
    held, release = asyncio.Event(), asyncio.Event()
    append_history = service.storage.append_history
    try_set_history = service.metadata.usage.try_set_history
    counts: list[bool] = []

    async def held_once(*args: object) -> None:
        if not held.is_set():
            held.set()
            await release.wait()
        await append_history(*args)  # type: ignore[arg-type]

    async def the_other_chat_grows_at_the_second_count(*args: object, **kwargs: object) -> bool:
        counts.append(True)
        if len(counts) == 2:
            await service.run.upload_files(
                USER, other_chat.chat_id, parts(Part("o.bin", b"o" * 45))
            )
        return await try_set_history(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(service.storage, "append_history", held_once)
    monkeypatch.setattr(
        service.metadata.usage, "try_set_history", the_other_chat_grows_at_the_second_count
    )
    first = asyncio.create_task(append(service, chat, b"x"))
    await held.wait()
    batch = [asyncio.create_task(append(service, chat, body)) for body in (b"a" * 60, b"c" * 38)]
    for _ in range(2000):  # both wait for the next batch
        if service.run.append_history.commits.waiting(chat.chat_id) == len(batch):
            break
        await asyncio.sleep(0.001)
    release.set()
    await first
    outcomes = await asyncio.gather(*batch, return_exceptions=True)

    assert isinstance(outcomes[0], QuotaExceededError)
    assert outcomes[1] == version_of(b"x" + b"c" * 38)
    assert await read_history(service, chat) == b"x" + b"c" * 38
    assert await service.used_bytes() == 45 + 1 + 38
