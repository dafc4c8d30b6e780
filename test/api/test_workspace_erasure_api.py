"""`DELETE /v1/workspace` over HTTP, in process, on each metadata store (memory, SQLite,
PostgreSQL): what an erasure answers, and the proof that it leaves nothing of the workspace
(no path in the data directory, no byte of its ids or its content in any file there, no row
or value of the store naming it) while the other user's data stays byte for byte as it was."""

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI

from adapter.fs.unsettled import UNSETTLED, journal_name
from api.settings import Settings
from test.api.conftest import (
    MULTIPART_HEADERS,
    Json,
    Part,
    UserApi,
    assert_problem,
    in_process_client,
    make_settings,
    multipart_body,
    running_app,
)
from test.fakes import FakeClock
from test.leftovers import (
    Rows,
    files_holding,
    memory_mentions,
    paths_naming,
    postgres_rows,
    rows_mentioning,
    rows_without,
    sqlite_rows,
    traces_of,
    tree,
)
from test.postgres_server import PostgresServer
from test.routes import CHAT_ROUTES

pytestmark = pytest.mark.anyio

# What each user's workspace is made of


@dataclass(slots=True)
class Scene:
    """One user's workspace, and every id and text of it a leftover could name."""

    user: UserApi
    tag: str
    workspace_id: UUID = field(default_factory=uuid4)
    chat_ids: list[UUID] = field(default_factory=list)
    file_ids: list[UUID] = field(default_factory=list)
    session_ids: list[UUID] = field(default_factory=list)

    @property
    def ids(self) -> list[UUID]:
        return [
            self.workspace_id,
            self.user.user_id,
            *self.chat_ids,
            *self.file_ids,
            *self.session_ids,
        ]

    @property
    def texts(self) -> list[str]:
        """Content of the workspace's that nothing else holds: names, history, file bytes."""
        return [f"zebra-{self.tag}", f"turn of {self.tag}", f"sandbox of {self.tag}"]


def chat_path(data_dir: Path, workspace_id: UUID, chat_id: UUID) -> Path:
    return data_dir / "workspaces" / str(workspace_id) / "chats" / str(chat_id)


async def ok(response: Awaitable[httpx.Response], status: int) -> Json:
    answer = await response
    assert answer.status_code == status, answer.text
    body: Json = answer.json() if answer.content else {}
    return body


async def build(user: UserApi, tag: str, data_dir: Path, outside: Path) -> Scene:
    """A workspace of three chats: a history put, appended to and put again (its first run
    kept under `revisions/`), two attachments, a sandbox session during which the sandbox
    wrote a file, a nested directory and a link out of the data directory, then ended (its
    rescan records the file); a fork with copies of the attachments; and an empty chat with
    a title and metadata."""
    workspace = await ok(user.put("/v1/workspace"), 201)
    scene = Scene(user, tag, UUID(workspace["workspace_id"]))
    first = UUID((await ok(user.post("/v1/chats"), 201))["chat_id"])
    history = f"/v1/chats/{first}/history"
    for method, body in [
        ("PUT", f"# {tag}\n"),
        ("POST", f"**user**: turn of {tag}\n"),
        ("PUT", f"# replaced, {tag}\n"),
        ("POST", f"**assistant**: turn of {tag} again\n"),
    ]:
        assert (await user.request(method, history, content=body.encode())).status_code == 204
    uploaded = await user.post(
        f"/v1/chats/{first}/files",
        content=multipart_body(
            Part(f"zebra-{tag}.txt", f"attached by {tag}".encode(), "text/plain"),
            Part("data.bin", hashlib.sha256(tag.encode()).digest() * 64),
        ),
        headers=MULTIPART_HEADERS,
    )
    assert uploaded.status_code == 201, uploaded.text
    session = await ok(user.post(f"/v1/chats/{first}/sandbox-sessions"), 201)
    directory = chat_path(data_dir, scene.workspace_id, first)
    (directory / f"result-{tag}.txt").write_bytes(f"sandbox of {tag}".encode())
    (directory / "work" / "deeper").mkdir(parents=True)
    (directory / "work" / "deeper" / "log.txt").write_bytes(f"sandbox of {tag}, nested".encode())
    (directory / "escape").symlink_to(outside)
    ended = await user.delete(f"/v1/chats/{first}/sandbox-sessions/{session['session_id']}")
    assert ended.status_code == 204, ended.text
    fork = await ok(user.post(f"/v1/chats/{first}/fork", json={"revision": 2}), 201)
    details = {"title": f"zebra-{tag} plans", "metadata": {"topic": f"zebra-{tag} trip"}}
    empty = await ok(user.post("/v1/chats", json=details), 201)
    scene.chat_ids = [first, UUID(fork["chat_id"]), UUID(empty["chat_id"])]
    scene.session_ids = [UUID(session["session_id"])]
    for chat_id in scene.chat_ids:
        files = await ok(user.get(f"/v1/chats/{chat_id}/files"), 200)
        scene.file_ids += [UUID(item["file_id"]) for item in files["items"]]
    assert len(scene.file_ids) == 6  # two uploaded and the sandbox's, copied by the fork
    return scene


async def seen(user: UserApi) -> list[Any]:
    """Everything the user can read of their workspace, bytes included."""
    views: list[Any] = [
        await ok(user.get(path), 200) for path in ("/v1/workspace", "/v1/workspace/usage")
    ]
    chats = (await ok(user.get("/v1/chats"), 200))["items"]
    views.append(chats)
    for chat in chats:
        base = f"/v1/chats/{chat['chat_id']}"
        history = await user.get(f"{base}/history")
        views += [history.content, history.headers["etag"]]
        revisions = (await ok(user.get(f"{base}/history/revisions"), 200))["items"]
        views.append(revisions)
        for revision in revisions:
            views.append(
                (await user.get(f"{base}/history/revisions/{revision['revision']}")).content
            )
        files = (await ok(user.get(f"{base}/files"), 200))["items"]
        views.append(files)
        for item in files:
            views.append((await user.get(f"{base}/files/{item['file_id']}/content")).content)
    return views


def paths_of(data_dir: Path, scene: Scene) -> dict[str, object]:
    """Every entry of the data directory that belongs to the scene's workspace."""
    return {
        path: entry for path, entry in tree(data_dir).items() if str(scene.workspace_id) in path
    }


def plant_crash_leftovers(data_dir: Path, scene: Scene) -> None:
    """What a change of another instance, killed on the workspace's first chat, leaves: its
    mark, the note beside it and a commit journal with what it kept aside."""
    marks = data_dir / UNSETTLED
    name = f"{scene.workspace_id}_{scene.chat_ids[0]}"
    (marks / name).write_bytes(b"")
    (marks / f".{name}.note").write_bytes(f'[{{"file_id": "{scene.file_ids[0]}"}}]'.encode())
    journal = marks / journal_name(scene.workspace_id, scene.chat_ids[0])
    journal.mkdir()
    (journal / "kept").write_bytes(f"attached by {scene.tag}".encode())


# One app per metadata store


@dataclass(frozen=True, slots=True)
class Backend:
    """The app on one metadata store, and how the test reads that store's every record."""

    app: FastAPI
    data_dir: Path
    read_rows: Callable[[], Awaitable[Rows]] | None

    def memory_store(self) -> object:
        return self.app.state.use_cases.erase_workspace.metadata

    async def rows(self) -> Rows:
        assert self.read_rows is not None
        return await self.read_rows()


async def no_rows() -> Rows:
    return {}


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def backend(
    request: pytest.FixtureRequest, data_dir: Path, clock: FakeClock, anyio_backend: str
) -> AsyncIterator[Backend]:
    settings: Settings = make_settings(data_dir)
    read_rows: Callable[[], Awaitable[Rows]] | None = None
    if request.param == "memory":
        settings = settings.model_copy(update={"metadata_url": "memory://"})
    elif request.param == "sqlite":

        async def read_sqlite() -> Rows:
            return sqlite_rows(data_dir / "metadata.db")

        read_rows = read_sqlite
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        url = server.create_database()
        settings = settings.model_copy(update={"metadata_url": url})

        async def read_postgres() -> Rows:
            return await postgres_rows(url)

        read_rows = read_postgres
    async with running_app(settings, clock=clock) as app:
        yield Backend(app, data_dir, read_rows)


async def test_an_erased_workspace_leaves_no_byte_or_record_and_the_other_is_untouched(
    backend: Backend, outside_file: Path
) -> None:
    data_dir = backend.data_dir
    async with in_process_client(backend.app) as client:
        mine = await build(UserApi(client, uuid4()), "alpha", data_dir, outside_file)
        theirs = await build(UserApi(client, uuid4()), "omega", data_dir, outside_file)
        plant_crash_leftovers(data_dir, mine)
        their_view, their_paths = await seen(theirs.user), paths_of(data_dir, theirs)
        outside_before = tree(outside_file.parent)
        rows_before = await backend.rows() if backend.read_rows else {}
        assert rows_mentioning(rows_before, mine.ids) or not backend.read_rows

        erased = await mine.user.delete("/v1/workspace")

        assert erased.status_code == 204, erased.text
        assert erased.content == b""
        # Not a path, nor a byte of its ids or its content, in any file of the data
        # directory (the SQLite store's own files among them).
        assert paths_naming(data_dir, mine.ids) == []
        assert files_holding(data_dir, traces_of(mine.ids, *mine.texts)) == {}
        # Not a record of it in the store; every other record as it was.
        if backend.read_rows:
            rows_after = await backend.rows()
            assert rows_mentioning(rows_after, mine.ids) == {}
            assert rows_after == rows_without(rows_before, mine.ids)
        else:
            assert memory_mentions(backend.memory_store(), mine.ids) == []
        # The other user's workspace, through the API and on disk, and what the link named.
        assert await seen(theirs.user) == their_view
        assert paths_of(data_dir, theirs) == their_paths
        assert files_holding(data_dir, traces_of([theirs.workspace_id], *theirs.texts))
        assert tree(outside_file.parent) == outside_before
        for service_owned in ("trash", "erasures"):
            assert list((data_dir / service_owned).iterdir()) == []


async def test_after_an_erasure_the_workspace_is_not_found_and_put_makes_a_new_one(
    backend: Backend, outside_file: Path
) -> None:
    async with in_process_client(backend.app) as client:
        mine = await build(UserApi(client, uuid4()), "alpha", backend.data_dir, outside_file)
        user = mine.user
        assert (await user.delete("/v1/workspace")).status_code == 204

        for path in ("/v1/workspace", "/v1/workspace/usage", "/v1/chats"):
            assert_problem(await user.get(path), 404, "workspace_not_found")
        assert_problem(await user.post("/v1/chats"), 404, "workspace_not_found")
        assert_problem(await user.delete("/v1/workspace"), 404, "workspace_not_found")
        ids = {
            "chat_id": mine.chat_ids[0],
            "file_id": mine.file_ids[0],
            "session_id": mine.session_ids[0],
        }
        for method, path, name in CHAT_ROUTES:
            # An upload's body is read as far as its first part before the workspace is.
            body = multipart_body(Part("x.txt", b"x")) if name == "upload" else None
            headers = MULTIPART_HEADERS if name == "upload" else None
            answer = await user.request(method, path.format(**ids), content=body, headers=headers)
            assert_problem(answer, 404, "workspace_not_found")

        new = await ok(user.put("/v1/workspace"), 201)
        assert UUID(new["workspace_id"]) != mine.workspace_id
        assert new["user_id"] == str(user.user_id)
        assert (await ok(user.get("/v1/chats"), 200))["items"] == []
        usage = await ok(user.get("/v1/workspace/usage"), 200)
        assert (usage["used_bytes"], usage["revision_bytes"]) == (0, 0)
        assert_problem(await user.get(f"/v1/chats/{mine.chat_ids[0]}"), 404, "chat_not_found")


async def test_an_active_sandbox_session_refuses_the_erasure_and_nothing_changes(
    backend: Backend, outside_file: Path
) -> None:
    async with in_process_client(backend.app) as client:
        mine = await build(UserApi(client, uuid4()), "alpha", backend.data_dir, outside_file)
        user = mine.user
        chat_id = mine.chat_ids[2]
        session = await ok(user.post(f"/v1/chats/{chat_id}/sandbox-sessions"), 201)
        view, paths = await seen(user), paths_of(backend.data_dir, mine)

        refused = await user.delete("/v1/workspace")

        body = assert_problem(refused, 409, "chat_has_active_sandbox")
        assert str(chat_id) in body["detail"]
        assert await seen(user) == view
        assert paths_of(backend.data_dir, mine) == paths
        assert list((backend.data_dir / "erasures").iterdir()) == []
        ended = await user.delete(f"/v1/chats/{chat_id}/sandbox-sessions/{session['session_id']}")
        assert ended.status_code == 204
        assert (await user.delete("/v1/workspace")).status_code == 204


async def test_erasing_without_a_workspace_is_workspace_not_found(
    user: UserApi,
) -> None:
    assert_problem(await user.delete("/v1/workspace"), 404, "workspace_not_found")
