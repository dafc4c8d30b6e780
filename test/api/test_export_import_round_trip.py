"""A workspace exported, erased and imported back (issue 13's walk): the import of the
service's own export makes the same chats again, file by file, under new ids."""

from pathlib import Path

import pytest

from test.api.conftest import Json, UserApi, create_chat, put_history, upload_file
from test.export_archives import Archive

pytestmark = pytest.mark.anyio


async def chat_contents(user: UserApi, chat: Json) -> Json:
    """What a user sees of a chat, without its ids and times."""
    chat_id = chat["chat_id"]
    history = await user.get(f"/v1/chats/{chat_id}/history")
    files = (await user.get(f"/v1/chats/{chat_id}/files")).json()["items"]
    contents = {}
    for record in files:
        body = await user.get(f"/v1/chats/{chat_id}/files/{record['file_id']}/content")
        contents[record["name"]] = (record["content_type"], record["sha256"], body.content)
    return {
        "title": chat["title"],
        "metadata": chat["metadata"],
        "history": history.content,
        "files": contents,
    }


async def test_a_workspace_exported_erased_and_imported_back_holds_the_same_chats(
    user: UserApi, workspace: Json, data_dir: Path
) -> None:
    first = (
        await user.post("/v1/chats", json={"title": "Trip to Lyon", "metadata": {"model": "m-1"}})
    ).json()
    await put_history(user, first["chat_id"], "# Trip\n\n**user**: Genève?\n".encode())
    await user.post(f"/v1/chats/{first['chat_id']}/history", content=b"**assistant**: 07:02\n")
    await upload_file(user, first["chat_id"], "timetable.csv", b"dep,arr\n07:02,08:45\n" * 50)
    await upload_file(user, first["chat_id"], 'a "quoted" name.bin', bytes(range(256)), None)
    second = await create_chat(user)
    await upload_file(user, second["chat_id"], "notes.md", b"# notes\n")
    chats = (await user.get("/v1/chats")).json()["items"]
    before = [await chat_contents(user, chat) for chat in chats]

    exported = await user.get("/v1/workspace/export")
    assert exported.status_code == 200, exported.text
    archive = Archive(exported.content)
    archive.assert_agrees()
    assert (await user.delete("/v1/workspace")).status_code == 204
    assert not (data_dir / "workspaces" / workspace["workspace_id"]).exists()
    new_workspace = (await user.put("/v1/workspace")).json()
    imported = await user.post(
        "/v1/chats/import", content=exported.content, headers={"content-type": "application/zip"}
    )

    assert imported.status_code == 201, imported.text
    made = imported.json()["items"]
    assert [chat["workspace_id"] for chat in made] == [new_workspace["workspace_id"]] * 2
    assert {chat["chat_id"] for chat in made}.isdisjoint(chat["chat_id"] for chat in chats)
    assert [await chat_contents(user, chat) for chat in made] == before
    usage = (await user.get("/v1/workspace/usage")).json()
    assert usage["used_bytes"] == sum(
        len(chat["history"]) + sum(len(body) for _, _, body in chat["files"].values())
        for chat in before
    )
    # Exported again: the same contents (the imported chats share one creation time, so
    # the export lists them in id order, not necessarily the first archive's).
    again = Archive((await user.get("/v1/workspace/export")).content)
    assert sorted(map(exported_contents, again.manifest["chats"])) == sorted(
        map(exported_contents, archive.manifest["chats"])
    )


def exported_contents(entry: Json) -> tuple[str, str, list[tuple[str, str]]]:
    files = sorted((record["name"], record["sha256"]) for record in entry["files"])
    return entry["chat"]["title"] or "", entry["history"]["sha256"], files
