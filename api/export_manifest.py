"""`manifest.json` of an export archive: every workspace, chat and file record in it is
the JSON the API answers for it, through the same schemas (api/schemas.py), so a field
the API gains appears in the manifest too."""

from typing import Literal

from pydantic import BaseModel, ConfigDict

from api.schemas import ChatFileOut, ChatOut, Timestamp, WorkspaceOut
from domain.export import ExportManifest
from usecase.ports.archive import ManifestEncoder


class ExportedContentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    size_bytes: int
    sha256: str


class ExportedChatOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    chat: ChatOut
    history: ExportedContentOut
    files: list[ChatFileOut]


class ExportManifestOut(BaseModel):
    format: Literal["chatstore-export"]
    version: Literal[1]
    exported_at: Timestamp
    workspace: WorkspaceOut
    chats: list[ExportedChatOut]


class JsonManifests(ManifestEncoder):
    def encode(self, manifest: ExportManifest) -> bytes:
        out = ExportManifestOut(
            format=manifest.FORMAT,
            version=manifest.VERSION,
            exported_at=manifest.exported_at,
            workspace=WorkspaceOut.model_validate(manifest.workspace),
            chats=[ExportedChatOut.model_validate(chat) for chat in manifest.chats],
        )
        return out.model_dump_json(indent=2).encode("utf-8")
