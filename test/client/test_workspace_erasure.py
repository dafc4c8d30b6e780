"""`delete_workspace()` on `Client` and `AsyncClient`, against the real service in process
and over a socket."""

import pytest

from chatstore_client import (
    AsyncClient,
    Chat,
    ChatHasActiveSandboxError,
    Client,
    Upload,
    WorkspaceNotFoundError,
)
from test.client.conftest import Service


def test_delete_workspace_erases_it_and_ensure_workspace_makes_a_new_one(
    client: Client, chat: Chat
) -> None:
    client.put_history(chat.chat_id, "# to be erased\n")
    client.upload_file(chat.chat_id, Upload(b"x" * 100, name="a.bin"))

    client.delete_workspace()

    with pytest.raises(WorkspaceNotFoundError) as raised:
        client.get_workspace()
    assert (raised.value.status, raised.value.code) == (404, "workspace_not_found")
    with pytest.raises(WorkspaceNotFoundError):
        client.get_chat(chat.chat_id)
    new = client.ensure_workspace()
    assert new.workspace_id != chat.workspace_id
    assert client.list_chats().items == []
    assert client.get_workspace_usage().used_bytes == 0


def test_delete_workspace_sends_one_delete_of_the_workspace(
    service: Service, client: Client, chat: Chat
) -> None:
    sent_before = len(service.sent)

    client.delete_workspace()

    [request] = service.sent[sent_before:]
    assert (request.method, request.url.path) == ("DELETE", "/v1/workspace")
    assert request.content == b""


def test_delete_workspace_with_an_active_sandbox_raises_and_erases_nothing(
    client: Client, chat: Chat
) -> None:
    session = client.start_sandbox_session(chat.chat_id)

    with pytest.raises(ChatHasActiveSandboxError) as raised:
        client.delete_workspace()

    assert (raised.value.status, raised.value.code) == (409, "chat_has_active_sandbox")
    assert client.get_chat(chat.chat_id) == chat
    client.end_sandbox_session(chat.chat_id, session.session_id)
    client.delete_workspace()


def test_delete_workspace_without_one_raises_workspace_not_found(client: Client) -> None:
    with pytest.raises(WorkspaceNotFoundError):
        client.delete_workspace()


@pytest.mark.anyio
async def test_async_delete_workspace_erases_it(
    async_client: AsyncClient, async_chat: Chat
) -> None:
    await async_client.put_history(async_chat.chat_id, "# to be erased\n")
    session = await async_client.start_sandbox_session(async_chat.chat_id)
    with pytest.raises(ChatHasActiveSandboxError):
        await async_client.delete_workspace()
    await async_client.end_sandbox_session(async_chat.chat_id, session.session_id)

    await async_client.delete_workspace()

    with pytest.raises(WorkspaceNotFoundError):
        await async_client.get_chat(async_chat.chat_id)
    with pytest.raises(WorkspaceNotFoundError):
        await async_client.delete_workspace()
    new = await async_client.ensure_workspace()
    assert new.workspace_id != async_chat.workspace_id
