"""The use cases of one app, built once from its adapters."""

from dataclasses import dataclass

from adapter.zip_archive import ZipArchives
from api.export_manifest import JsonManifests
from domain.limits import StorageLimits
from usecase.access import ChatAccess
from usecase.chat_guard import ChatGuard
from usecase.chat_import import ImportChats
from usecase.chats import CreateChat, DeleteChat, GetChat, ListChats, UpdateChat
from usecase.consistency import CheckConsistency, RepairConsistency
from usecase.crash_safety import ChatSettler, SettleChats
from usecase.erasure import EraseWorkspace, FinishErasures
from usecase.export import ArchiveBuilder, ChatStates, ExportChat, ExportWorkspace
from usecase.files import (
    ClearFiles,
    DeleteFile,
    GetFile,
    ListFiles,
    OpenFileContent,
    RescanFiles,
    UploadFiles,
)
from usecase.fork import ForkChat
from usecase.history import GetHistory, HistoryCommits, PutHistory
from usecase.history_append import AppendCommits, AppendHistory
from usecase.history_revisions import (
    GetHistoryRevision,
    ListHistoryRevisions,
    PruneHistoryRevisions,
    RestoreHistoryRevision,
)
from usecase.new_chats import NewChats
from usecase.ports.archive import ArchiveFormat, ManifestEncoder
from usecase.ports.census import DiskCensus
from usecase.ports.chat_bytes import ChatStorage
from usecase.ports.erasure import WorkspaceErasure
from usecase.ports.metadata import MetadataStore
from usecase.ports.runtime import Clock, IdGenerator, KeyedLock
from usecase.ports.usage import StorageUsageReader
from usecase.quota import QuotaLedger
from usecase.readiness import CheckReadiness
from usecase.reconcile import ChatFileReconciler
from usecase.revisions import HistoryRevisions
from usecase.sandbox import (
    EndSandboxSession,
    GetActiveSandboxSession,
    HeartbeatSandboxSession,
    StartSandboxSession,
)
from usecase.workspaces import EnsureWorkspace, GetWorkspace, GetWorkspaceUsage


@dataclass(frozen=True, slots=True)
class UseCases:
    ensure_workspace: EnsureWorkspace
    get_workspace: GetWorkspace
    get_workspace_usage: GetWorkspaceUsage
    erase_workspace: EraseWorkspace
    create_chat: CreateChat
    list_chats: ListChats
    get_chat: GetChat
    update_chat: UpdateChat
    delete_chat: DeleteChat
    fork_chat: ForkChat
    import_chats: ImportChats
    get_history: GetHistory
    put_history: PutHistory
    append_history: AppendHistory
    list_history_revisions: ListHistoryRevisions
    get_history_revision: GetHistoryRevision
    restore_history_revision: RestoreHistoryRevision
    prune_history_revisions: PruneHistoryRevisions
    upload_files: UploadFiles
    list_files: ListFiles
    get_file: GetFile
    open_file_content: OpenFileContent
    delete_file: DeleteFile
    clear_files: ClearFiles
    rescan_files: RescanFiles
    start_sandbox_session: StartSandboxSession
    get_active_sandbox_session: GetActiveSandboxSession
    heartbeat_sandbox_session: HeartbeatSandboxSession
    end_sandbox_session: EndSandboxSession
    export_workspace: ExportWorkspace
    export_chat: ExportChat
    check_readiness: CheckReadiness
    settle_chats: SettleChats
    finish_erasures: FinishErasures
    check_consistency: CheckConsistency
    repair_consistency: RepairConsistency


def build_use_cases(
    metadata: MetadataStore,
    storage: ChatStorage,
    usage_reader: StorageUsageReader,
    ids: IdGenerator,
    clock: Clock,
    locks: KeyedLock,
    limits: StorageLimits,
    disk: DiskCensus,
    erasure: WorkspaceErasure,
    archives: ArchiveFormat | None = None,
    manifests: ManifestEncoder | None = None,
) -> UseCases:
    access = ChatAccess(metadata.workspaces, metadata.chats)
    ledger = QuotaLedger(metadata.usage, limits.quota_bytes)
    revisions = HistoryRevisions(
        metadata, storage, clock, limits.history_revisions, limits.quota_bytes
    )
    reconciler = ChatFileReconciler(
        metadata, storage, usage_reader, ids, clock, limits.max_file_bytes, revisions
    )
    settler = ChatSettler(storage, reconciler)
    guard = ChatGuard(access, locks, settler)
    check_consistency = CheckConsistency(metadata, storage, usage_reader, disk, locks, limits)
    new_chats = NewChats(metadata, storage, guard, ledger, limits.history_revisions)
    states = ChatStates(access, metadata, storage, guard, revisions)
    builder = ArchiveBuilder(archives or ZipArchives(), manifests or JsonManifests())
    return UseCases(
        ensure_workspace=EnsureWorkspace(metadata.workspaces, ids, clock),
        get_workspace=GetWorkspace(access),
        get_workspace_usage=GetWorkspaceUsage(access, metadata.usage, limits),
        erase_workspace=EraseWorkspace(access, metadata, erasure, locks, clock),
        create_chat=CreateChat(access, metadata, storage, ids, clock, guard),
        list_chats=ListChats(access, metadata),
        get_chat=GetChat(access),
        update_chat=UpdateChat(metadata, clock, guard),
        delete_chat=DeleteChat(metadata, storage, clock, guard),
        fork_chat=ForkChat(
            metadata, storage, ids, clock, guard, ledger, revisions, reconciler, new_chats
        ),
        import_chats=ImportChats(access, storage, ids, clock, limits, ledger, new_chats),
        get_history=GetHistory(access, storage, guard, revisions),
        put_history=PutHistory(
            access, metadata, storage, guard, ledger, limits, HistoryCommits(), revisions, clock
        ),
        append_history=AppendHistory(
            access, metadata, storage, guard, ledger, limits, AppendCommits(), revisions, clock
        ),
        list_history_revisions=ListHistoryRevisions(guard, revisions),
        get_history_revision=GetHistoryRevision(guard, revisions, storage),
        restore_history_revision=RestoreHistoryRevision(guard, revisions, storage, clock),
        prune_history_revisions=PruneHistoryRevisions(guard, revisions, metadata),
        upload_files=UploadFiles(access, metadata, storage, ids, clock, guard, limits, ledger),
        list_files=ListFiles(access, metadata),
        get_file=GetFile(access, metadata),
        open_file_content=OpenFileContent(metadata, storage, guard),
        delete_file=DeleteFile(metadata, storage, guard, ledger, clock),
        clear_files=ClearFiles(metadata, storage, guard, ledger, clock),
        rescan_files=RescanFiles(reconciler, guard),
        start_sandbox_session=StartSandboxSession(metadata, ids, clock, guard),
        get_active_sandbox_session=GetActiveSandboxSession(access, metadata, clock),
        heartbeat_sandbox_session=HeartbeatSandboxSession(metadata, clock, guard),
        end_sandbox_session=EndSandboxSession(metadata, reconciler, clock, guard),
        export_workspace=ExportWorkspace(access, metadata, states, builder, clock),
        export_chat=ExportChat(access, states, builder, clock),
        check_readiness=CheckReadiness(storage, metadata),
        settle_chats=SettleChats(metadata, storage, settler, locks),
        finish_erasures=FinishErasures(metadata, erasure, locks),
        check_consistency=check_consistency,
        repair_consistency=RepairConsistency(check_consistency, settler, reconciler),
    )
