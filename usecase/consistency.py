"""The operators' consistency check and its repair (ADR 0026): the records, the usage
ledger and the data directory compared chat by chat, each difference said in one line;
then, if asked, each differing chat settled as start-up settling does, under its lock, so
that it is safe while servers serve the same data directory and metadata store."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from uuid import UUID

from domain.chat_file import ChatFile
from domain.consistency import Difference, DifferenceKind
from domain.errors import WorkspaceNotFoundError
from domain.history import EMPTY_HISTORY, HistoryVersion
from domain.limits import StorageLimits
from domain.revision_log import RevisionLog
from usecase.crash_safety import ChatSettler, finish_deleting, unsettled
from usecase.ports.census import (
    ChatOnDisk,
    ChatUsage,
    DiskCensus,
    Leftover,
    WorkspaceLedger,
    WorkspaceOnDisk,
)
from usecase.ports.chat_bytes import ChatStorage, ScannedFile
from usecase.ports.metadata import MetadataStore
from usecase.ports.progress import NoProgress, Progress
from usecase.ports.runtime import KeyedLock
from usecase.ports.usage import StorageUsageReader
from usecase.reconcile import ChatFileReconciler

# More than any chat keeps: one read sees every kept revision.
_ALL_REVISIONS = 2**31 - 1
# Enough of a sha256 to tell two apart in a line an operator reads.
_SHA_SHOWN = 12


@dataclass(frozen=True, slots=True)
class ConsistencyReport:
    """What one check compared and every difference it found, in the order found (by
    workspace, then chat; leftovers last)."""

    differences: tuple[Difference, ...]
    workspaces: int
    chats: int
    leftovers: tuple[Leftover, ...] = ()  # those the differences name, for the repair

    @property
    def consistent(self) -> bool:
        return not self.differences


@dataclass(frozen=True, slots=True)
class _ChatFacts:
    """What the records and the disk say of one chat id within one workspace."""

    workspace_id: UUID
    chat_id: UUID
    recorded: bool  # the chat has a record in this workspace
    usage: ChatUsage | None  # its figures, when counted in this workspace
    on_disk: ChatOnDisk
    marked: bool


@dataclass(frozen=True, slots=True)
class _WorkspaceScan:
    workspace_id: UUID
    ledger: WorkspaceLedger
    recorded: frozenset[UUID]
    usage: Mapping[UUID, ChatUsage]
    on_disk: WorkspaceOnDisk
    chat_ids: tuple[UUID, ...]  # every chat id anything of the workspace names


@dataclass(frozen=True, slots=True)
class CheckConsistency:
    """Compare, for every chat (or one workspace's), its records, its usage figures and its
    history revisions with its directory and kept revision bytes; each workspace's usage
    sums with its chats' figures; and, on a whole check, look for leftovers in `staging/`
    and `trash/`.

    Reads only: no record, usage figure, revision or byte is changed (a history a sandbox
    changed is reported, not recorded as a revision). A chat found differing is looked at
    again under its lock before it is reported, so a change that a server is making at
    that instant is not taken for a difference; the lock is all the check ever takes."""

    metadata: MetadataStore
    storage: ChatStorage
    usage_reader: StorageUsageReader
    disk: DiskCensus
    locks: KeyedLock
    limits: StorageLimits

    async def __call__(
        self, workspace_id: UUID | None = None, progress: Progress | None = None
    ) -> ConsistencyReport:
        """WorkspaceNotFoundError when `workspace_id` names a workspace nothing knows of."""
        progress = progress or NoProgress()
        leftovers = await self.disk.leftovers() if workspace_id is None else []
        marks = set(await self.disk.marked_chats())
        scans = [
            await self._scan(each, marks) for each in await self._workspaces(workspace_id, marks)
        ]
        chats = sum(len(scan.chat_ids) for scan in scans)
        differences: list[Difference] = []
        progress.begin("checking chats", chats)
        for scan in scans:
            for chat_id in scan.chat_ids:
                facts = _ChatFacts(
                    scan.workspace_id,
                    chat_id,
                    chat_id in scan.recorded,
                    scan.usage.get(chat_id),
                    scan.on_disk.of(chat_id),
                    (scan.workspace_id, chat_id) in marks,
                )
                if await self._differences(facts):
                    differences += await self._rechecked(scan.workspace_id, chat_id)
                progress.advance()
            differences += await self._sums_differences(scan)
        progress.end()
        if leftovers:
            still = set(await self.disk.leftovers())
            leftovers = [each for each in leftovers if each in still]
            differences += [_leftover(each) for each in leftovers]
        return ConsistencyReport(tuple(differences), len(scans), chats, tuple(leftovers))

    async def _workspaces(
        self, workspace_id: UUID | None, marks: set[tuple[UUID, UUID]]
    ) -> list[UUID]:
        known = {
            *await self.metadata.census.workspace_ids(),
            *await self.disk.workspace_ids(),
            *(marked_workspace for marked_workspace, _ in marks),
        }
        if workspace_id is None:
            return sorted(known)
        if workspace_id not in known:
            raise WorkspaceNotFoundError(
                f"workspace {workspace_id} has no record, no usage and nothing on disk"
            )
        return [workspace_id]

    async def _scan(self, workspace_id: UUID, marks: set[tuple[UUID, UUID]]) -> _WorkspaceScan:
        recorded = frozenset(await self.metadata.census.chat_ids(workspace_id))
        ledger = await self.metadata.census.ledger(workspace_id)
        on_disk = await self.disk.workspace(workspace_id)
        named = {
            *recorded,
            *(chat.chat_id for chat in ledger.chats),
            *on_disk.directories,
            *on_disk.revisions,
            *(chat_id for marked_workspace, chat_id in marks if marked_workspace == workspace_id),
        }
        usage = {chat.chat_id: chat for chat in ledger.chats}
        return _WorkspaceScan(workspace_id, ledger, recorded, usage, on_disk, tuple(sorted(named)))

    async def _rechecked(self, workspace_id: UUID, chat_id: UUID) -> list[Difference]:
        """The chat's differences, every fact read again under its lock."""
        async with self.locks.hold(chat_id):
            record = await self.metadata.chats.get(chat_id)
            usage = await self.metadata.census.chat_usage(chat_id)
            facts = _ChatFacts(
                workspace_id,
                chat_id,
                record is not None and record.workspace_id == workspace_id,
                usage if usage is not None and usage.workspace_id == workspace_id else None,
                await self.disk.chat(workspace_id, chat_id),
                (workspace_id, chat_id) in set(await self.disk.marked_chats()),
            )
            return await self._differences(facts)

    async def _differences(self, facts: _ChatFacts) -> list[Difference]:
        found: list[Difference] = []
        if facts.marked:
            found.append(
                _of_chat(
                    facts,
                    DifferenceKind.CRASH_MARK,
                    "crash mark left: a change was cut short and is not settled yet",
                )
            )
        if not facts.recorded:
            return found + _orphan_differences(facts)
        if not facts.on_disk.directory:
            found.append(
                _of_chat(
                    facts, DifferenceKind.CHAT_DIRECTORY_MISSING, "record has no directory on disk"
                )
            )
            return found
        found += await self._file_differences(facts)
        history = await self.storage.history_version(facts.workspace_id, facts.chat_id)
        log = await self._revision_log(facts.chat_id)
        found += await self._revision_differences(facts, history, log)
        found += await self._usage_differences(facts, history, log)
        return found

    async def _file_differences(self, facts: _ChatFacts) -> list[Difference]:
        scanned = await self.storage.scan_attachments(
            facts.workspace_id, facts.chat_id, self.limits.max_file_bytes
        )
        records = await self.metadata.files.list_all_by_chat_id(facts.chat_id)
        on_disk = {found.name: found for found in scanned}
        recorded = {record.name for record in records}
        found = [
            difference
            for record in records
            for difference in _file_record_differences(facts, record, on_disk.get(record.name))
        ]
        found += [
            _of_chat(
                facts,
                DifferenceKind.FILE_UNRECORDED,
                f"file '{each.name.value}' on disk has no record ({each.size_bytes} bytes)",
            )
            for each in scanned
            if each.name not in recorded
        ]
        return found

    async def _revision_log(self, chat_id: UUID) -> RevisionLog | None:
        """The chat's kept revisions; None for a chat from before revisions, whose revision 0
        the service makes when it next reads it."""
        kept = await self.metadata.revisions.list_newest_first(chat_id, _ALL_REVISIONS, None)
        return RevisionLog.of(kept, self.limits.history_revisions) if kept else None

    async def _revision_differences(
        self, facts: _ChatFacts, history: HistoryVersion, log: RevisionLog | None
    ) -> list[Difference]:
        found: list[Difference] = []
        expected = EMPTY_HISTORY if log is None else log.version
        if history != expected:
            said = (
                "no revision is recorded"
                if log is None
                else f"revision {log.latest.revision} is {_version(expected)}"
            )
            found.append(
                _of_chat(
                    facts,
                    DifferenceKind.HISTORY_UNRECORDED,
                    f"history revisions disagree with history.md: {said},"
                    f" history.md is {_version(history)}",
                )
            )
        needed = {} if log is None else log.runs_kept_apart()
        kept = await self.storage.history_run_sizes(facts.workspace_id, facts.chat_id)
        for run, size_bytes in sorted(needed.items()):
            if kept.get(run, 0) < size_bytes:
                has = f"{kept[run]} bytes" if run in kept else "nothing"
                found.append(
                    _of_chat(
                        facts,
                        DifferenceKind.KEPT_BYTES_MISSING,
                        f"revisions of run {run} need {size_bytes} bytes kept, disk keeps {has}",
                    )
                )
        for run, size_bytes in sorted(kept.items()):
            if run not in needed:
                found.append(
                    _of_chat(
                        facts,
                        DifferenceKind.KEPT_BYTES_UNNEEDED,
                        f"kept bytes of run {run} ({size_bytes} bytes) belong to no revision",
                    )
                )
        return found

    async def _usage_differences(
        self, facts: _ChatFacts, history: HistoryVersion, log: RevisionLog | None
    ) -> list[Difference]:
        used = await self.usage_reader.chat_used_bytes(facts.workspace_id, facts.chat_id)
        usage = facts.usage
        if usage is None:
            return [
                _of_chat(
                    facts,
                    DifferenceKind.USED_BYTES,
                    f"no usage recorded, disk holds {used} bytes",
                )
            ]
        revision_bytes = 0 if log is None else log.revision_bytes
        compared = (
            (DifferenceKind.USED_BYTES, usage.used_bytes, used, "disk"),
            (
                DifferenceKind.HISTORY_BYTES,
                usage.history_bytes,
                history.size_bytes,
                "history.md has",
            ),
            (DifferenceKind.REVISION_BYTES, usage.revision_bytes, revision_bytes, "revisions give"),
        )
        return [
            _of_chat(facts, kind, f"{kind.value} recorded {recorded}, {source} {actual}")
            for kind, recorded, actual, source in compared
            if recorded != actual
        ]

    async def _sums_differences(self, scan: _WorkspaceScan) -> list[Difference]:
        if scan.ledger.sums == scan.ledger.summed:
            return []
        # Read again: the sums and the figures are one snapshot, so this is not a change
        # seen half-way, but a change may have fixed it since the scan.
        ledger = await self.metadata.census.ledger(scan.workspace_id)
        return sums_differences(scan.workspace_id, ledger)


def sums_differences(workspace_id: UUID, ledger: WorkspaceLedger) -> list[Difference]:
    """Each of the workspace's sums that is not the total of its chats' figures."""
    recorded, summed = ledger.sums, ledger.summed
    compared = (
        ("used_bytes", recorded.used_bytes, summed.used_bytes),
        ("revision_bytes", recorded.revision_bytes, summed.revision_bytes),
    )
    return [
        Difference(
            DifferenceKind.WORKSPACE_SUMS,
            f"{name} recorded {was}, its chats' figures sum to {sum_of_chats}",
            workspace_id=workspace_id,
        )
        for name, was, sum_of_chats in compared
        if was != sum_of_chats
    ]


def _of_chat(facts: _ChatFacts, kind: DifferenceKind, detail: str) -> Difference:
    return Difference(kind, detail, workspace_id=facts.workspace_id, chat_id=facts.chat_id)


def _orphan_differences(facts: _ChatFacts) -> list[Difference]:
    """What is left of a chat that has no record in the workspace."""
    found = []
    if facts.on_disk.directory:
        found.append("directory on disk has no chat record")
    if facts.on_disk.revisions:
        found.append("kept revision bytes on disk have no chat record")
    if facts.usage is not None:
        found.append(
            f"usage row (used_bytes {facts.usage.used_bytes},"
            f" revision_bytes {facts.usage.revision_bytes}) has no chat record"
        )
    return [_of_chat(facts, DifferenceKind.CHAT_RECORD_MISSING, detail) for detail in found]


def _file_record_differences(
    facts: _ChatFacts, record: ChatFile, found: ScannedFile | None
) -> list[Difference]:
    said = f"file record {record.file_id} '{record.name.value}'"
    if found is None:
        return [_of_chat(facts, DifferenceKind.FILE_MISSING, f"{said} has no file on disk")]
    if found.size_bytes != record.size_bytes:
        detail = f"{said} says {record.size_bytes} bytes, disk has {found.size_bytes}"
        return [_of_chat(facts, DifferenceKind.FILE_SIZE, detail)]
    if found.sha256 != record.sha256:
        detail = (
            f"{said} says sha256 {record.sha256[:_SHA_SHOWN]}...,"
            f" disk has {found.sha256[:_SHA_SHOWN]}... (both {found.size_bytes} bytes)"
        )
        return [_of_chat(facts, DifferenceKind.FILE_CONTENT, detail)]
    return []


def _version(version: HistoryVersion) -> str:
    return f"{version.size_bytes} bytes (sha256 {version.sha256[:_SHA_SHOWN]}...)"


def _leftover(leftover: Leftover) -> Difference:
    what = "a dead process's staging area" if leftover.area == "staging" else "a deletion cut short"
    return Difference(
        DifferenceKind.LEFTOVER,
        f"left by {what}",
        path=f"{leftover.area}/{leftover.name}",
    )


@dataclass(frozen=True, slots=True)
class RepairConsistency:
    """Settle every chat a check found differing, the way start-up settling does, under
    the chat's lock (and its crash mark, as a rescan holds it): a chat with a record gets
    its directory back if it lost it, then its file records, usage and revisions follow
    its directory (a crash mark left on it is settled first, as after a crash); whatever
    is left of a chat with no record goes. Then each workspace whose usage sums differ
    gets them summed again from its chats, and leftovers are cleared. Then the check runs
    again: its report is what remains."""

    check: CheckConsistency
    settler: ChatSettler
    reconciler: ChatFileReconciler

    async def __call__(
        self,
        found: ConsistencyReport,
        workspace_id: UUID | None = None,
        progress: Progress | None = None,
    ) -> ConsistencyReport:
        progress = progress or NoProgress()
        differences = found.differences
        chats = sorted(
            {
                (each.workspace_id, each.chat_id)
                for each in differences
                if each.workspace_id is not None and each.chat_id is not None
            }
        )
        progress.begin("repairing chats", len(chats))
        for chat_workspace, chat_id in chats:
            await self._repair_chat(chat_workspace, chat_id)
            progress.advance()
        progress.end()
        for summed in _workspaces_with(differences, DifferenceKind.WORKSPACE_SUMS):
            await self.check.metadata.census.resum(summed)
        if found.leftovers:
            await self.check.disk.clear_leftovers(found.leftovers)
        return await self.check(workspace_id, progress)

    async def _repair_chat(self, workspace_id: UUID, chat_id: UUID) -> None:
        check = self.check
        storage = check.storage
        async with check.locks.hold(chat_id):
            chat = await check.metadata.chats.get(chat_id)
            if chat is None:
                await finish_deleting(check.metadata, storage, workspace_id, chat_id)
                await storage.mark_settled(workspace_id, chat_id)
                return
            if chat.workspace_id != workspace_id:
                # Bytes of a chat under a workspace it is not in: they go, and the chat
                # itself is rescanned, in case its figures were counted there too.
                await storage.delete_chat(workspace_id, chat_id)
                await storage.purge_chat(chat_id)
                await storage.mark_settled(workspace_id, chat_id)
            async with unsettled(self.settler, chat):
                if not (await check.disk.chat(chat.workspace_id, chat_id)).directory:
                    await storage.ensure_chat(chat.workspace_id, chat_id)
                await self.reconciler.reconcile(chat)


def _workspaces_with(differences: Iterable[Difference], kind: DifferenceKind) -> Sequence[UUID]:
    return sorted(
        {each.workspace_id for each in differences if each.kind is kind and each.workspace_id}
    )
