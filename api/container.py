"""The use cases of one app, built once from its adapters."""

from dataclasses import dataclass

from adapter.zip_archive import ZipArchives
from api.export_manifest import JsonManifests
from domain.limits import StorageLimits
from usecase.access import ChatAccess
from usecase.chat_guard import ChatGuard
from usecase.chats import CreateChat, DeleteChat, GetChat, ListChats
from usecase.crash_safety import ChatSettler, SettleChats
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
from usecase.ports.archive import ArchiveFormat, ManifestEncoder
from usecase.ports.chat_bytes import ChatStorage
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
    create_chat: CreateChat
    list_chats: ListChats
    get_chat: GetChat
    delete_chat: DeleteChat
    fork_chat: ForkChat
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


def build_use_cases(
    metadata: MetadataStore,
    storage: ChatStorage,
    usage_reader: StorageUsageReader,
    ids: IdGenerator,
    clock: Clock,
    locks: KeyedLock,
    limits: StorageLimits,
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
    states = ChatStates(access, metadata, storage, guard, revisions)
    builder = ArchiveBuilder(archives or ZipArchives(), manifests or JsonManifests())
    return UseCases(
        ensure_workspace=EnsureWorkspace(metadata.workspaces, ids, clock),
        get_workspace=GetWorkspace(access),
        get_workspace_usage=GetWorkspaceUsage(access, metadata.usage, limits),
        create_chat=CreateChat(access, metadata, storage, ids, clock, guard),
        list_chats=ListChats(access, metadata),
        get_chat=GetChat(access),
        delete_chat=DeleteChat(metadata, storage, clock, guard),
        fork_chat=ForkChat(metadata, storage, ids, clock, guard, ledger, revisions, reconciler),
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
        delete_file=DeleteFile(metadata, storage, guard, ledger),
        clear_files=ClearFiles(metadata, storage, guard, ledger),
        rescan_files=RescanFiles(reconciler, guard),
        start_sandbox_session=StartSandboxSession(metadata, ids, clock, guard),
        get_active_sandbox_session=GetActiveSandboxSession(access, metadata, clock),
        heartbeat_sandbox_session=HeartbeatSandboxSession(metadata, clock, guard),
        end_sandbox_session=EndSandboxSession(metadata, reconciler, clock, guard),
        export_workspace=ExportWorkspace(access, metadata, states, builder, clock),
        export_chat=ExportChat(access, states, builder, clock),
        check_readiness=CheckReadiness(storage, metadata),
        settle_chats=SettleChats(metadata, storage, settler, locks),
    )
