"""Every endpoint of the contract as a `Call`: its method, path, body and how its answer is
read. Both clients send these; neither knows a path or a status of its own."""

import json
import re
from collections.abc import Iterable, Mapping
from enum import Enum
from urllib.parse import quote
from uuid import UUID

import httpx

from chatstore_client._base import Call, Download, json_body, parse_model
from chatstore_client._content import Content, source_of
from chatstore_client.errors import APIResponseError
from chatstore_client.models import (
    Chat,
    ChatFile,
    ChatOrder,
    History,
    HistoryRevision,
    HistoryWritten,
    ItemList,
    NotModified,
    Page,
    SandboxSession,
    Workspace,
    WorkspaceUsage,
)
from chatstore_client.ranges import ByteRange
from chatstore_client.uploads import MultipartBody, UploadItem

Id = UUID | str
# A history body: text (sent as UTF-8), bytes, or a streamed source (see `_content`).
HistoryContent = str | Content

_MARKDOWN = "text/markdown; charset=utf-8"
_REVISION_NUMBER = re.compile(r"[0-9]+")


def _segment(value: Id) -> str:
    # An id is one path segment whatever it holds: "a/../b" cannot reach another route.
    return quote(str(value), safe="")


def _chat(chat_id: Id) -> str:
    return f"/v1/chats/{_segment(chat_id)}"


def _page_params(limit: int | None, cursor: str | None) -> dict[str, str | int]:
    params: dict[str, str | int] = {}
    if limit is not None:
        params["limit"] = limit
    if cursor is not None:
        params["cursor"] = cursor
    return params


def _no_content(_response: httpx.Response) -> None:
    return None


def _items(response: httpx.Response) -> list[ChatFile]:
    return parse_model(ItemList[ChatFile])(response).items


def _etag(response: httpx.Response) -> str:
    etag: str | None = response.headers.get("etag")
    if etag is None:
        raise APIResponseError("the answer carries no ETag", response=response)
    return etag


# Workspace and exports


def ensure_workspace() -> Call[Workspace]:
    return Call("PUT", "/v1/workspace", parse_model(Workspace))


def get_workspace() -> Call[Workspace]:
    return Call("GET", "/v1/workspace", parse_model(Workspace))


def _export(path: str) -> Call[Download]:
    # identity: the archive arrives as the service made it.
    return Call("GET", path, Download, headers={"Accept-Encoding": "identity"}, stream=True)


def export_workspace() -> Call[Download]:
    return _export("/v1/workspace/export")


def export_chat(chat_id: Id) -> Call[Download]:
    return _export(f"{_chat(chat_id)}/export")


def get_workspace_usage() -> Call[WorkspaceUsage]:
    return Call("GET", "/v1/workspace/usage", parse_model(WorkspaceUsage))


def delete_workspace() -> Call[None]:
    return Call("DELETE", "/v1/workspace", _no_content)


# Chats


def create_chat(title: str | None, metadata: Mapping[str, str] | None) -> Call[Chat]:
    fields: dict[str, object] = {}
    if title is not None:
        fields["title"] = title
    if metadata:
        fields["metadata"] = dict(metadata)
    if not fields:
        return Call("POST", "/v1/chats", parse_model(Chat))
    content, headers = json_body(fields)
    return Call("POST", "/v1/chats", parse_model(Chat), headers=headers, content=content)


class NotGiven(Enum):
    """A member left out of a patch, which leaves it as it is (None would remove it)."""

    NOT_GIVEN = "NOT_GIVEN"


NOT_GIVEN = NotGiven.NOT_GIVEN


def merge_patch(
    title: str | NotGiven | None, metadata: Mapping[str, str | None] | NotGiven | None
) -> dict[str, object]:
    """The JSON merge patch (RFC 7396) that sets what is given and leaves the rest."""
    patch: dict[str, object] = {}
    if not isinstance(title, NotGiven):
        patch["title"] = title
    if not isinstance(metadata, NotGiven):
        patch["metadata"] = None if metadata is None else dict(metadata)
    return patch


def update_chat(chat_id: Id, patch: Mapping[str, object]) -> Call[Chat]:
    content = json.dumps(dict(patch)).encode()
    headers = {"Content-Type": "application/merge-patch+json"}
    return Call("PATCH", _chat(chat_id), parse_model(Chat), headers=headers, content=content)


def get_chat(chat_id: Id) -> Call[Chat]:
    return Call("GET", _chat(chat_id), parse_model(Chat))


def list_chats(
    limit: int | None, cursor: str | None, order: ChatOrder | str | None
) -> Call[Page[Chat]]:
    params = _page_params(limit, cursor)
    if order is not None:
        params["order"] = str(order)
    return Call("GET", "/v1/chats", parse_model(Page[Chat]), params=params)


def _chats(response: httpx.Response) -> list[Chat]:
    return parse_model(ItemList[Chat])(response).items


def import_chats(archive: Content) -> Call[list[Chat]]:
    headers = {"Content-Type": "application/zip"}
    if isinstance(archive, bytes):
        return Call("POST", "/v1/chats/import", _chats, headers=headers, content=archive)
    return Call("POST", "/v1/chats/import", _chats, headers=headers, body=source_of(archive))


def delete_chat(chat_id: Id) -> Call[None]:
    return Call("DELETE", _chat(chat_id), _no_content)


def fork_chat(chat_id: Id, revision: int | None, attachments: bool) -> Call[Chat]:
    fields: dict[str, object] = {"attachments": attachments}
    if revision is not None:
        fields["revision"] = revision
    content, headers = json_body(fields)
    return Call(
        "POST", f"{_chat(chat_id)}/fork", parse_model(Chat), headers=headers, content=content
    )


# History


def _history(response: httpx.Response) -> History | NotModified:
    if response.status_code == 304:
        return NotModified(_etag(response))
    try:
        text = response.content.decode("utf-8")
    except UnicodeDecodeError as error:
        raise APIResponseError("the history is not UTF-8", response=response) from error
    return History(text, _etag(response))


def _if(header: str, etag: str | None) -> dict[str, str]:
    return {} if etag is None else {header: etag}


def _written(response: httpx.Response) -> HistoryWritten:
    revision = response.headers.get("x-history-revision")
    if revision is None or _REVISION_NUMBER.fullmatch(revision) is None:
        raise APIResponseError("the answer carries no X-History-Revision", response=response)
    return HistoryWritten(_etag(response), int(revision))


def get_history(chat_id: Id, if_none_match: str | None) -> Call[History | NotModified]:
    headers = _if("If-None-Match", if_none_match)
    return Call("GET", f"{_chat(chat_id)}/history", _history, headers=headers)


def put_history(chat_id: Id, content: HistoryContent, if_match: str | None) -> Call[HistoryWritten]:
    return _history_write("PUT", chat_id, content, if_match)


def append_history(
    chat_id: Id, content: HistoryContent, if_match: str | None
) -> Call[HistoryWritten]:
    return _history_write("POST", chat_id, content, if_match)


def _history_write(
    method: str, chat_id: Id, content: HistoryContent, if_match: str | None
) -> Call[HistoryWritten]:
    headers = {"Content-Type": _MARKDOWN, **_if("If-Match", if_match)}
    path = f"{_chat(chat_id)}/history"
    if isinstance(content, str):
        return Call(method, path, _written, headers=headers, content=content.encode("utf-8"))
    if isinstance(content, bytes):
        return Call(method, path, _written, headers=headers, content=content)
    return Call(method, path, _written, headers=headers, body=source_of(content))


# History revisions


def _revisions(chat_id: Id) -> str:
    return f"{_chat(chat_id)}/history/revisions"


def _revision(chat_id: Id, revision: int) -> str:
    return f"{_revisions(chat_id)}/{_segment(str(revision))}"


def list_history_revisions(
    chat_id: Id, limit: int | None, cursor: str | None
) -> Call[Page[HistoryRevision]]:
    params = _page_params(limit, cursor)
    return Call("GET", _revisions(chat_id), parse_model(Page[HistoryRevision]), params=params)


def get_history_revision(
    chat_id: Id, revision: int, if_none_match: str | None
) -> Call[History | NotModified]:
    headers = _if("If-None-Match", if_none_match)
    return Call("GET", _revision(chat_id, revision), _history, headers=headers)


def restore_history_revision(
    chat_id: Id, revision: int, if_match: str | None
) -> Call[HistoryWritten]:
    path = f"{_revision(chat_id, revision)}/restore"
    return Call("POST", path, _written, headers=_if("If-Match", if_match))


def prune_history_revisions(chat_id: Id) -> Call[None]:
    return Call("DELETE", _revisions(chat_id), _no_content)


# Files


def _file(chat_id: Id, file_id: Id) -> str:
    return f"{_chat(chat_id)}/files/{_segment(file_id)}"


def upload_files(chat_id: Id, items: Iterable[UploadItem]) -> Call[list[ChatFile]]:
    body = MultipartBody(items)
    headers = {"Content-Type": body.content_type}
    return Call("POST", f"{_chat(chat_id)}/files", _items, headers=headers, body=body)


def list_files(chat_id: Id, limit: int | None, cursor: str | None) -> Call[Page[ChatFile]]:
    params = _page_params(limit, cursor)
    return Call("GET", f"{_chat(chat_id)}/files", parse_model(Page[ChatFile]), params=params)


def get_file(chat_id: Id, file_id: Id) -> Call[ChatFile]:
    return Call("GET", _file(chat_id, file_id), parse_model(ChatFile))


def download_file(chat_id: Id, file_id: Id, byte_range: ByteRange | None) -> Call[Download]:
    headers = {} if byte_range is None else {"Range": byte_range.header()}
    # identity: the bytes arrive as stored, so Content-Length and Range count stored bytes.
    headers["Accept-Encoding"] = "identity"
    path = f"{_file(chat_id, file_id)}/content"
    return Call("GET", path, Download, headers=headers, stream=True)


def delete_file(chat_id: Id, file_id: Id) -> Call[None]:
    return Call("DELETE", _file(chat_id, file_id), _no_content)


def delete_files(chat_id: Id) -> Call[None]:
    return Call("DELETE", f"{_chat(chat_id)}/files", _no_content)


def rescan_files(chat_id: Id) -> Call[list[ChatFile]]:
    return Call("POST", f"{_chat(chat_id)}/files/rescan", _items)


# Sandbox sessions


def _sessions(chat_id: Id) -> str:
    return f"{_chat(chat_id)}/sandbox-sessions"


def _ttl_body(ttl_seconds: int | None) -> tuple[bytes | None, dict[str, str]]:
    return (None, {}) if ttl_seconds is None else json_body({"ttl_seconds": ttl_seconds})


def start_sandbox_session(chat_id: Id, ttl_seconds: int | None) -> Call[SandboxSession]:
    content, headers = _ttl_body(ttl_seconds)
    return Call(
        "POST",
        _sessions(chat_id),
        parse_model(SandboxSession),
        headers=headers,
        content=content,
    )


def get_active_sandbox_session(chat_id: Id) -> Call[SandboxSession]:
    return Call("GET", f"{_sessions(chat_id)}/active", parse_model(SandboxSession))


def heartbeat_sandbox_session(
    chat_id: Id, session_id: Id, ttl_seconds: int | None
) -> Call[SandboxSession]:
    content, headers = _ttl_body(ttl_seconds)
    path = f"{_sessions(chat_id)}/{_segment(session_id)}/heartbeat"
    return Call("POST", path, parse_model(SandboxSession), headers=headers, content=content)


def end_sandbox_session(chat_id: Id, session_id: Id) -> Call[None]:
    return Call("DELETE", f"{_sessions(chat_id)}/{_segment(session_id)}", _no_content)
