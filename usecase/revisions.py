"""The one home of how a chat's history revisions follow its history (ADR 0022): read as a
RevisionLog, caught up with a change made on disk behind the service's back, recorded
with the quota before a change's bytes go in place, and tidied after."""

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from domain.chat import Chat
from domain.errors import HistoryRevisionNotFoundError
from domain.history import HistoryVersion
from domain.history_revision import HistoryRevision, RevisionSource
from domain.revision_log import RevisionLog, first_revision
from usecase.ports.chat_bytes import ChatStorage
from usecase.ports.metadata import MetadataStore, Repositories
from usecase.ports.runtime import Clock
from usecase.ports.staging import StagedContent

# More than any chat keeps, so that one read sees every kept revision even after the
# setting was lowered and before the next change prunes to it.
_ALL = 2**31 - 1


@dataclass(frozen=True, slots=True)
class HistoryRevisions:
    """Callers hold the chat's lock, with what a crash left on it settled."""

    metadata: MetadataStore
    storage: ChatStorage
    clock: Clock
    limit: int
    quota_bytes: int

    async def log(self, chat: Chat) -> RevisionLog:
        """The chat's kept revisions. A chat from before revisions gets its revision 0
        now (its history, if any, is then noticed as a change made on disk)."""
        kept = await self.metadata.revisions.list_newest_first(chat.chat_id, _ALL, None)
        if kept:
            return RevisionLog.of(kept, self.limit)
        created = first_revision(chat.chat_id, chat.created_at)
        await self.metadata.revisions.add(created)
        return RevisionLog.of([created], self.limit)

    async def caught_up(self, chat: Chat) -> RevisionLog:
        """The chat's revisions, with the history on disk recorded as a revision of
        source `sandbox` first if it is not the latest one (a sandbox changed it)."""
        before = await self.log(chat)
        disk = await self.storage.history_version(chat.workspace_id, chat.chat_id, settled=True)
        after = await self.noticed(chat, before, disk, after_crash=False)
        if after is before:
            return before
        async with self.metadata.transaction() as records:
            await write_changes(records, before, after)
            await records.usage.try_set_history(
                chat.workspace_id,
                chat.chat_id,
                after.latest.size_bytes,
                None,
                revision_bytes=after.revision_bytes,
            )
        await self.tidy(chat, before, after)
        return after

    async def noticed(
        self, chat: Chat, log: RevisionLog, disk: HistoryVersion, *, after_crash: bool
    ) -> RevisionLog:
        """The log once the history on disk, `disk`, is accounted for. `after_crash`: a
        change was cut short on the chat, so a history that is one of the kept revisions
        is that change never having reached the disk (its records made first, ADR 0022),
        and the revisions after it go."""
        if disk == log.version:
            return log
        if after_crash:
            landed = log.newest_with(disk)
            if landed is not None:
                return log.cut_after(landed)
        grown = await self.storage.history_starts_with(chat.workspace_id, chat.chat_id, log.version)
        base = log if grown else log.without_current_run()
        return base.made(RevisionSource.SANDBOX, disk, self.clock.now(), continues=grown)

    async def with_kept_bytes(self, chat: Chat, log: RevisionLog) -> RevisionLog:
        """The log without the revisions whose kept bytes are found missing or short
        (settling checks this; a change keeps them before it records them used).

        A missing run whose content is the history's own is kept again from it first: a
        change to the same content (a PUT of the same bytes, a restore of the current
        revision) cut short before it kept the run it replaced left the history as the
        run's one copy."""
        sizes = await self.storage.history_run_sizes(chat.workspace_id, chat.chat_id)
        missing = _missing(log, sizes)
        for run in sorted(missing):
            longest = max(
                (kept for kept in log.kept if kept.run == run), key=lambda kept: kept.size_bytes
            )
            if longest.version == log.version:
                kept_size = await self.storage.keep_history_run(
                    chat.workspace_id, chat.chat_id, run
                )
                if kept_size == longest.size_bytes:
                    missing.discard(run)
        return log.without_runs(missing) if missing else log

    async def record(self, chat: Chat, before: RevisionLog, after: RevisionLog) -> bool:
        """In one unit of work, before the change's bytes go in place: count `after`'s
        history and revisions in the quota (False, nothing written, when that takes the
        workspace over it), record its new revisions and forget the pruned ones. A crash
        before the bytes are in place is undone by settling (`noticed`, after_crash)."""
        async with self.metadata.transaction() as records:
            if not await records.usage.try_set_history(
                chat.workspace_id,
                chat.chat_id,
                after.latest.size_bytes,
                self.quota_bytes,
                revision_bytes=after.revision_bytes,
            ):
                return False
            await write_changes(records, before, after)
        return True

    async def replace_history(
        self,
        chat: Chat,
        before: RevisionLog,
        after: RevisionLog,
        staged: StagedContent,
        keep_bodies: Sequence[tuple[int, StagedContent]] = (),
    ) -> None:
        """Once `record` wrote `after`: make the staged bytes the history, keeping what
        `after`'s revisions need of the history it replaces (and `keep_bodies`, bodies of
        runs of their own), then drop what they no longer need."""
        needed = after.runs_kept_apart()
        await self.storage.write_history(
            chat.workspace_id,
            chat.chat_id,
            staged,
            keep_run=before.latest.run if before.latest.run in needed else None,
            keep_bodies=keep_bodies,
        )
        await self.tidy(chat, before, after)

    async def tidy(self, chat: Chat, before: RevisionLog, after: RevisionLog) -> None:
        """Remove the kept bytes no revision of `after` needs any more (a crash before
        this leaves them to settling)."""
        needed = set(after.runs_kept_apart())
        if set(before.runs_kept_apart()) - needed:
            await self.storage.drop_history_runs(chat.workspace_id, chat.chat_id, needed)

    async def drop_unneeded(self, chat: Chat, log: RevisionLog) -> None:
        """Remove whatever is kept that no revision of `log` needs (settling's sweep)."""
        needed = set(log.runs_kept_apart())
        sizes = await self.storage.history_run_sizes(chat.workspace_id, chat.chat_id)
        if set(sizes) - needed:
            await self.storage.drop_history_runs(chat.workspace_id, chat.chat_id, needed)


def revision_not_found(chat_id: UUID, revision: int | None) -> HistoryRevisionNotFoundError:
    return HistoryRevisionNotFoundError(
        f"chat {chat_id} keeps no revision {revision} of its history"
    )


def kept_revision(log: RevisionLog, chat_id: UUID, revision: int | None) -> HistoryRevision:
    """That kept revision of the log (the latest for None), else HistoryRevisionNotFoundError."""
    kept = log.latest if revision is None else log.get(revision)
    if kept is None:
        raise revision_not_found(chat_id, revision)
    return kept


async def write_changes(records: Repositories, before: RevisionLog, after: RevisionLog) -> None:
    """The revision records of `before` made those of `after`, in the caller's unit; a
    revision made dates the chat's last change."""
    removed, added = before.changes_to(after)
    chat_id: UUID = after.latest.chat_id
    if removed:
        await records.revisions.delete(chat_id, [revision.revision for revision in removed])
    await records.revisions.add_all(added)
    if added:
        await records.chats.touch(chat_id, max(revision.created_at for revision in added))


def _missing(log: RevisionLog, sizes: dict[int, int]) -> set[int]:
    """The runs `log` keeps apart whose kept bytes, by `sizes`, are gone or short."""
    return {run for run, size in log.runs_kept_apart().items() if sizes.get(run, 0) < size}
