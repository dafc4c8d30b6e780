"""EraseWorkspace and FinishErasures (ADR 0024) on the in-memory store and a real data
directory: what an erasure removes and what it leaves, its refusals, a crash at each step
and what start-up then does, and erasures racing the other changes of the workspace."""

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from uuid import UUID

import pytest

from domain.chat import Chat
from domain.errors import (
    ChatHasActiveSandboxError,
    ChatNotFoundError,
    StorageUnavailableError,
    WorkspaceNotFoundError,
)
from domain.paging import PageRequest
from domain.sandbox_session import SandboxSession
from domain.workspace import Workspace
from test.leftovers import memory_mentions, paths_naming, tree
from test.usecase.service import OTHER_USER, USER, Part, Service, chunks_of, parts
from usecase.erasure import ATTEMPTS
from usecase.ports.runtime import KeyedLock

pytestmark = pytest.mark.anyio


@pytest.fixture
async def service(service: Service) -> Service:
    """The service, its ids made past the fixed user ids of service.py (USER is ...f1), so
    that no id of a record made here equals a user's and passes for a trace of it."""
    for _ in range(0x100):
        service.ids.new_id()
    return service


class KilledError(BaseException):
    """The process dying at this point (not an error any use case catches)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Filled:
    workspace: Workspace
    chats: list[Chat]

    @property
    def ids(self) -> list[UUID]:
        """Every id of the workspace a leftover could name."""
        return [self.workspace.workspace_id, *(chat.chat_id for chat in self.chats)]


async def filled(service: Service, user_id: UUID = USER) -> Filled:
    """A workspace of three chats: histories replaced and appended to (so runs are kept in
    `revisions/`), attachments, a fork, and what a sandbox wrote during an ended session."""
    workspace, _ = await service.run.ensure_workspace(user_id)
    first = await service.run.create_chat(user_id)
    await service.run.put_history(user_id, first.chat_id, chunks_of(b"# one\n"), None)
    await service.run.append_history(user_id, first.chat_id, chunks_of(b"more\n"), None)
    await service.run.put_history(user_id, first.chat_id, chunks_of(b"# two\n"), None)
    await service.run.upload_files(
        user_id, first.chat_id, parts(Part("a.txt", b"aaa"), Part("b.bin", b"bbbb"))
    )
    session = await service.run.start_sandbox_session(user_id, first.chat_id, 60)
    sandbox_dir = service.chat_dir(first) / "out"
    sandbox_dir.mkdir()
    (sandbox_dir / "result.txt").write_bytes(b"written by a sandbox")
    (service.chat_dir(first) / "report.md").write_bytes(b"# report")
    await service.run.end_sandbox_session(user_id, first.chat_id, session.session_id)
    fork = await service.run.fork_chat(user_id, first.chat_id, 2, True)
    empty = await service.run.create_chat(user_id)
    return Filled(workspace, [first, fork, empty])


def workspace_tree(service: Service, workspace: Workspace) -> dict[str, object]:
    """Every byte the data directory keeps for the workspace, path by path."""
    return {
        path: entry
        for path, entry in tree(service.root).items()
        if str(workspace.workspace_id) in path
    }


async def api_view(service: Service, user_id: UUID) -> object:
    """What the user sees of their workspace through the use cases."""
    chats = (await service.run.list_chats(user_id, PageRequest())).items
    per_chat = [
        (
            await service.run.list_files(user_id, chat.chat_id, PageRequest()),
            await service.run.list_history_revisions(user_id, chat.chat_id, 100, None),
        )
        for chat in chats
    ]
    usage = await service.run.get_workspace_usage(user_id)
    return await service.run.get_workspace(user_id), chats, per_chat, usage


def assert_nothing_left(service: Service, erased: Filled) -> None:
    """No path, no record, no mark and no note of the erased workspace."""
    assert paths_naming(service.root, erased.ids) == []
    assert memory_mentions(service.metadata, [*erased.ids, erased.workspace.user_id]) == []
    assert list((service.root / "trash").iterdir()) == []
    assert list((service.root / "erasures").iterdir()) == []


async def assert_erased(service: Service, erased: Filled) -> None:
    user_id = erased.workspace.user_id
    with pytest.raises(WorkspaceNotFoundError):
        await service.run.get_workspace(user_id)
    for chat in erased.chats:
        with pytest.raises(WorkspaceNotFoundError):
            await service.run.get_chat(user_id, chat.chat_id)


async def test_an_erased_workspace_leaves_nothing_and_another_is_untouched(
    service: Service,
) -> None:
    mine, theirs = await filled(service), await filled(service, OTHER_USER)
    their_view, their_tree = (
        await api_view(service, OTHER_USER),
        workspace_tree(service, theirs.workspace),
    )

    await service.run.erase_workspace(USER)

    await assert_erased(service, mine)
    assert_nothing_left(service, mine)
    assert await api_view(service, OTHER_USER) == their_view
    assert workspace_tree(service, theirs.workspace) == their_tree


async def test_after_an_erasure_the_user_gets_a_new_empty_workspace(service: Service) -> None:
    mine = await filled(service)
    await service.run.erase_workspace(USER)

    new, created = await service.run.ensure_workspace(USER)

    assert created
    assert new.workspace_id != mine.workspace.workspace_id
    assert (await service.run.list_chats(USER, PageRequest())).items == []
    usage = await service.run.get_workspace_usage(USER)
    assert (usage.used_bytes, usage.revision_bytes) == (0, 0)
    with pytest.raises(ChatNotFoundError):
        await service.run.get_chat(USER, mine.chats[0].chat_id)


async def test_erasing_without_a_workspace_is_workspace_not_found(service: Service) -> None:
    with pytest.raises(WorkspaceNotFoundError):
        await service.run.erase_workspace(USER)


async def test_an_active_sandbox_on_any_chat_refuses_the_erasure_and_changes_nothing(
    service: Service,
) -> None:
    mine = await filled(service)
    session = await service.run.start_sandbox_session(USER, mine.chats[2].chat_id, 60)
    view, before = await api_view(service, USER), workspace_tree(service, mine.workspace)

    with pytest.raises(ChatHasActiveSandboxError):
        await service.run.erase_workspace(USER)

    assert await api_view(service, USER) == view
    assert workspace_tree(service, mine.workspace) == before
    assert await service.erasure.noted_erasures() == []
    await service.run.end_sandbox_session(USER, mine.chats[2].chat_id, session.session_id)
    await service.run.erase_workspace(USER)
    assert_nothing_left(service, mine)


async def test_an_expired_sandbox_session_does_not_hold_the_erasure_back(
    service: Service,
) -> None:
    mine = await filled(service)
    await service.run.start_sandbox_session(USER, mine.chats[0].chat_id, 60)
    service.clock.advance(61)

    await service.run.erase_workspace(USER)

    assert_nothing_left(service, mine)


async def test_of_two_erasures_at_once_one_erases_and_the_other_finds_nothing(
    service: Service,
) -> None:
    mine = await filled(service)

    outcomes = await asyncio.gather(
        service.run.erase_workspace(USER), service.run.erase_workspace(USER), return_exceptions=True
    )

    assert sorted(type(outcome).__name__ for outcome in outcomes) == [
        "NoneType",
        "WorkspaceNotFoundError",
    ]
    assert_nothing_left(service, mine)


# A crash at each step, and start-up


async def test_bytes_the_disk_refused_to_move_wait_for_start_up(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = await filled(service)

    async def refused(workspace_id: UUID) -> None:
        raise StorageUnavailableError("disk on fire")

    monkeypatch.setattr(service.erasure, "hide_workspace", refused)
    await service.run.erase_workspace(USER)  # erased as far as any request can tell

    await assert_erased(service, mine)
    assert workspace_tree(service, mine.workspace) != {}
    assert await service.erasure.noted_erasures() == [mine.workspace.workspace_id]
    monkeypatch.undo()
    assert await service.run.finish_erasures() == [mine.workspace.workspace_id]
    assert_nothing_left(service, mine)


@pytest.mark.parametrize("step", ["hide_workspace", "purge_workspace", "drop_erasure_note"])
async def test_killed_once_its_records_are_gone_the_workspace_is_erased_and_start_up_ends_it(
    service: Service, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    mine, theirs = await filled(service), await filled(service, OTHER_USER)
    their_tree = workspace_tree(service, theirs.workspace)

    async def killed(workspace_id: UUID) -> None:
        raise KilledError

    monkeypatch.setattr(service.erasure, step, killed)
    with pytest.raises(KilledError):
        await service.run.erase_workspace(USER)
    monkeypatch.undo()

    await assert_erased(service, mine)
    assert await service.erasure.noted_erasures() == [mine.workspace.workspace_id]
    assert await service.run.finish_erasures() == [mine.workspace.workspace_id]
    assert_nothing_left(service, mine)
    assert workspace_tree(service, theirs.workspace) == their_tree
    assert await service.run.finish_erasures() == []


async def test_killed_before_its_records_go_the_workspace_stays_whole_and_start_up_drops_the_note(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = await filled(service)
    view, before = await api_view(service, USER), workspace_tree(service, mine.workspace)
    note = service.erasure.note_erasure

    async def noted_then_killed(workspace_id: UUID) -> None:
        await note(workspace_id)
        raise KilledError

    monkeypatch.setattr(service.erasure, "note_erasure", noted_then_killed)
    with pytest.raises(KilledError):
        await service.run.erase_workspace(USER)
    monkeypatch.undo()
    assert await service.erasure.noted_erasures() == [mine.workspace.workspace_id]

    assert await service.run.finish_erasures() == []

    assert await service.erasure.noted_erasures() == []
    assert await api_view(service, USER) == view
    assert workspace_tree(service, mine.workspace) == before


async def test_start_up_waits_for_an_erasure_still_running_in_another_instance(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = await filled(service)
    paused, resume = asyncio.Event(), asyncio.Event()
    hide = service.erasure.hide_workspace

    async def slow_hide(workspace_id: UUID) -> None:
        paused.set()
        await resume.wait()
        await hide(workspace_id)

    monkeypatch.setattr(service.erasure, "hide_workspace", slow_hide)
    erasing = asyncio.ensure_future(service.run.erase_workspace(USER))
    await paused.wait()
    finishing = asyncio.ensure_future(service.run.finish_erasures())
    for _ in range(20):
        await asyncio.sleep(0)
    assert not finishing.done()  # waiting for the workspace's lock

    resume.set()
    await erasing
    assert await finishing == []  # the erasure finished it
    assert_nothing_left(service, mine)


# Chats created while the erasure takes its locks


class CreatingFirst(KeyedLock):
    """The service's lock, creating a chat in the workspace before each time the erasure
    takes the workspace's lock (after it listed and locked the chats), `times` times."""

    def __init__(self, service: Service, times: int) -> None:
        self._inner = service.run.erase_workspace.locks
        self._service = service
        self.left = times

    @asynccontextmanager
    async def hold(self, key: UUID) -> AsyncIterator[None]:
        workspace = await self._service.metadata.workspaces.get_by_user_id(USER)
        if self.left and workspace is not None and key == workspace.workspace_id:
            self.left -= 1
            await self._service.run.create_chat(USER)
        async with self._inner.hold(key):
            yield


async def test_a_chat_created_while_the_erasure_takes_its_locks_is_erased_too(
    service: Service,
) -> None:
    mine = await filled(service)
    creating = CreatingFirst(service, times=1)
    erase = dataclasses.replace(service.run.erase_workspace, locks=creating)

    await erase(USER)

    assert creating.left == 0
    assert await service.metadata.chats.ids_by_workspace_id(mine.workspace.workspace_id) == []
    assert_nothing_left(service, mine)
    assert [path.name for path in (service.root / "workspaces").iterdir()] == []


async def test_an_erasure_outrun_by_chat_creation_gives_up_having_changed_nothing(
    service: Service,
) -> None:
    await filled(service)
    creating = CreatingFirst(service, times=ATTEMPTS)
    erase = dataclasses.replace(service.run.erase_workspace, locks=creating)

    with pytest.raises(StorageUnavailableError, match="try again"):
        await erase(USER)

    chats = (await service.run.list_chats(USER, PageRequest())).items
    assert len(chats) == 3 + ATTEMPTS
    assert await service.erasure.noted_erasures() == []


# Racing the other changes of the workspace


Change = Callable[[Service, Chat, Callable[[], Awaitable[None]]], Awaitable[object]]


async def upload(service: Service, chat: Chat, hold: Callable[[], Awaitable[None]]) -> object:
    part = Part("big.bin", b"u" * 3000, chunk_bytes=1000, pause=hold)
    return await service.run.upload_files(USER, chat.chat_id, parts(part))


async def streamed(hold: Callable[[], Awaitable[None]], body: bytes) -> AsyncIterator[bytes]:
    yield body[:10]
    await hold()
    yield body[10:]


async def put_history(service: Service, chat: Chat, hold: Callable[[], Awaitable[None]]) -> object:
    body = streamed(hold, b"# a whole new history\n" * 20)
    return await service.run.put_history(USER, chat.chat_id, body, None)


async def append(service: Service, chat: Chat, hold: Callable[[], Awaitable[None]]) -> object:
    body = streamed(hold, b"**user**: one more turn\n" * 20)
    return await service.run.append_history(USER, chat.chat_id, body, None)


MID_WRITE = [
    pytest.param(upload, id="upload"),
    pytest.param(put_history, id="put-history"),
    pytest.param(append, id="append"),
]


@pytest.mark.parametrize("change", MID_WRITE)
async def test_a_write_streaming_while_its_workspace_is_erased_stores_nothing(
    service: Service, change: Change
) -> None:
    mine = await filled(service)
    streaming, release = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        streaming.set()
        await release.wait()

    writing = asyncio.ensure_future(change(service, mine.chats[0], hold))
    await streaming.wait()
    await service.run.erase_workspace(USER)
    release.set()

    with pytest.raises(WorkspaceNotFoundError):
        await writing
    assert_nothing_left(service, mine)
    assert service.staging_entries() == []


async def start_session(service: Service, chat: Chat) -> object:
    return await service.run.start_sandbox_session(USER, chat.chat_id, 60)


async def delete_chat(service: Service, chat: Chat) -> object:
    await service.run.delete_chat(USER, chat.chat_id)
    return None


async def create_chat(service: Service, chat: Chat) -> object:
    return await service.run.create_chat(USER)


async def fork(service: Service, chat: Chat) -> object:
    return await service.run.fork_chat(USER, chat.chat_id, None, True)


async def upload_now(service: Service, chat: Chat) -> object:
    return await service.run.upload_files(USER, chat.chat_id, parts(Part("n.txt", b"n" * 100)))


async def append_now(service: Service, chat: Chat) -> object:
    return await service.run.append_history(USER, chat.chat_id, chunks_of(b"turn\n"), None)


RACERS = [
    pytest.param(start_session, id="start-session"),
    pytest.param(delete_chat, id="delete-chat"),
    pytest.param(create_chat, id="create-chat"),
    pytest.param(fork, id="fork"),
    pytest.param(upload_now, id="upload"),
    pytest.param(append_now, id="append"),
]
# Milliseconds one side of a race waits before it starts, one run each: the racer waits
# that long (below 0) or the erasure does (above), so each run lands one at another step of
# the other. Whatever the timing, every run must end as one serial order of the two.
OFFSETS_MS = range(-12, 13, 2)


def offsets(offset_ms: int) -> tuple[float, float]:
    """The seconds the erasure waits, and the seconds the racer waits."""
    return max(offset_ms, 0) / 1000, max(-offset_ms, 0) / 1000


async def after(seconds: float, work: Awaitable[object]) -> object:
    await asyncio.sleep(seconds)
    return await work


@pytest.mark.parametrize("racer", RACERS)
async def test_an_erasure_racing_a_change_ends_as_one_order_of_the_two(
    service: Service, racer: Callable[[Service, Chat], Awaitable[object]]
) -> None:
    theirs = await filled(service, OTHER_USER)
    their_tree = workspace_tree(service, theirs.workspace)
    for offset_ms in OFFSETS_MS:
        mine = await filled(service)
        erasure_waits, racer_waits = offsets(offset_ms)

        erased, raced = await asyncio.gather(
            after(erasure_waits, service.run.erase_workspace(USER)),
            after(racer_waits, racer(service, mine.chats[0])),
            return_exceptions=True,
        )

        if isinstance(erased, ChatHasActiveSandboxError):  # the session started first
            assert isinstance(raced, SandboxSession)
            await service.run.end_sandbox_session(USER, mine.chats[0].chat_id, raced.session_id)
            await service.run.erase_workspace(USER)
        else:
            assert erased is None, erased
            refused = isinstance(raced, BaseException)
            assert not refused or isinstance(raced, WorkspaceNotFoundError | ChatNotFoundError), (
                raced
            )
        made = [] if isinstance(raced, BaseException) or raced is None else [raced]
        gone = dataclasses.replace(mine, chats=[*mine.chats, *_chats(made)])
        assert_nothing_left(service, gone)
        assert service.staging_entries() == []
    assert workspace_tree(service, theirs.workspace) == their_tree


def _chats(made: list[object]) -> list[Chat]:
    return [item for item in made if isinstance(item, Chat)]


async def test_racing_every_kind_of_change_at_once_leaves_nothing_of_the_workspace(
    service: Service,
) -> None:
    for offset_ms in OFFSETS_MS:
        mine = await filled(service)
        chat = mine.chats[0]
        erasure_waits, racer_waits = offsets(offset_ms)
        changes = [
            upload_now(service, chat),
            append_now(service, chat),
            create_chat(service, chat),
            fork(service, mine.chats[1]),
            delete_chat(service, mine.chats[2]),
        ]
        # Spread out, so that some land before the erasure and some after it.
        racers = [after(racer_waits + index / 500, change) for index, change in enumerate(changes)]

        outcomes = await asyncio.gather(
            after(erasure_waits, service.run.erase_workspace(USER)), *racers, return_exceptions=True
        )

        assert outcomes[0] is None, outcomes[0]
        refused = [outcome for outcome in outcomes[1:] if isinstance(outcome, BaseException)]
        assert all(isinstance(r, WorkspaceNotFoundError | ChatNotFoundError) for r in refused), (
            refused
        )
        gone = dataclasses.replace(mine, chats=[*mine.chats, *_chats(list(outcomes))])
        assert_nothing_left(service, gone)
        assert service.staging_entries() == []
