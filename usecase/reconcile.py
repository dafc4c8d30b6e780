import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass

from domain.attachment_name import ChatAttachmentName
from domain.chat import Chat
from domain.chat_file import ChatFile
from usecase.ports.chat_bytes import ChatStorage, ScannedFile
from usecase.ports.metadata import MetadataStore
from usecase.ports.runtime import Clock, IdGenerator
from usecase.ports.usage import StorageUsageReader
from usecase.revisions import HistoryRevisions, write_changes

# Built-in table only, so a guess never depends on the host's /etc/mime.types.
_MIME_TYPES = mimetypes.MimeTypes(filenames=())


def guess_content_type(name: str) -> str | None:
    content_type, _ = _MIME_TYPES.guess_type(name, strict=False)
    return content_type


@dataclass(frozen=True, slots=True)
class ChatFileReconciler:
    """Make a chat's file records agree with what is really in its directory.

    A regular file with no record gets one; a file whose bytes changed keeps its id with
    the new size and sha256; a record whose file is gone or no longer regular is removed.
    A file bigger than the largest upload allowed is treated as no attachment: it gets no
    record (and loses the one it had) and is never hashed, so a huge or sparse file a
    sandbox wrote cannot stall the rescan. Its bytes still count in the usage, which is
    then measured afresh. Callers hold the chat's lock and its unsettled mark."""

    metadata: MetadataStore
    storage: ChatStorage
    usage_reader: StorageUsageReader
    ids: IdGenerator
    clock: Clock
    max_file_bytes: int
    revisions: HistoryRevisions

    async def reconcile(
        self, chat: Chat, pending: Sequence[ChatFile] = (), *, after_crash: bool = False
    ) -> list[ChatFile]:
        """`pending`: records a change noted before a crash stopped it between its bytes
        and its records; a file whose bytes are the ones a pending record describes takes
        that record, whatever record its name had. The history revisions follow the
        history too (`after_crash`: see HistoryRevisions.noticed)."""
        return await self._reconcile(chat, {record.name: record for record in pending}, after_crash)

    async def _reconcile(
        self, chat: Chat, pending: dict[ChatAttachmentName, ChatFile], after_crash: bool
    ) -> list[ChatFile]:
        """The disk is read first; the records and the usage then change in one unit."""
        workspace_id, chat_id = chat.workspace_id, chat.chat_id
        scanned = await self.storage.scan_attachments(workspace_id, chat_id, self.max_file_bytes)
        used = await self.usage_reader.chat_used_bytes(workspace_id, chat_id)
        history = await self.storage.history_version(workspace_id, chat_id, settled=True)
        logged = await self.revisions.log(chat)
        revised = await self.revisions.noticed(chat, logged, history, after_crash=after_crash)
        revised = await self.revisions.with_kept_bytes(chat, revised)
        async with self.metadata.transaction() as records:
            files = records.files
            known_by_name = {
                record.name: record for record in await files.list_all_by_chat_id(chat_id)
            }
            on_disk = {found.name for found in scanned}
            changed = False
            for record in known_by_name.values():
                if record.name not in on_disk:
                    await files.delete(record.file_id)
                    changed = True
            for found in scanned:
                settled = self._settled(chat, found, known_by_name.get(found.name), pending)
                if settled is not None:
                    await files.save(settled)  # replaces any record holding the name
                    changed = True
            if changed:
                await records.chats.touch(chat_id, self.clock.now())
            await write_changes(records, logged, revised)
            await records.usage.set_chat_bytes(
                workspace_id, chat_id, used, history.size_bytes, revised.revision_bytes
            )
            reconciled = await files.list_all_by_chat_id(chat_id)
        await self.revisions.drop_unneeded(chat, revised)
        return reconciled

    def _settled(
        self,
        chat: Chat,
        found: ScannedFile,
        known: ChatFile | None,
        pending: dict[ChatAttachmentName, ChatFile],
    ) -> ChatFile | None:
        """The record `found` should have, or None when the one it has is right."""
        noted = pending.get(found.name)
        if noted is not None and (noted.size_bytes, noted.sha256) == (
            found.size_bytes,
            found.sha256,
        ):
            return None if known is not None and known.file_id == noted.file_id else noted
        if known is None:
            return ChatFile(
                file_id=self.ids.new_id(),
                chat_id=chat.chat_id,
                name=found.name,
                content_type=guess_content_type(found.name.value),
                size_bytes=found.size_bytes,
                sha256=found.sha256,
                created_at=self.clock.now(),
            )
        if (known.size_bytes, known.sha256) != (found.size_bytes, found.sha256):
            return known.with_content(found.size_bytes, found.sha256)
        return None
