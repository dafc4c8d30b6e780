"""Importing chats over HTTP (api.md `POST /v1/chats/import`): an export archive made new
chats, all or none; every archive that is not one the service exported, or breaks its
limits, refused with its code and leaving nothing behind."""

import stat
import time
import tracemalloc
import zipfile
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import anyio
import httpx
import pytest

from domain.archive_import import archive_bound
from test.api.conftest import (
    MAX_FILE_BYTES,
    MAX_HISTORY_BYTES,
    QUOTA_BYTES,
    START_TEXT,
    Json,
    UserApi,
    assert_problem,
    chat_dir,
    staging_entries,
    upload_file,
)
from test.archives import (
    ChatSpec,
    FileSpec,
    RawEntry,
    deflated,
    deflated_zeros,
    export_archive,
    manifest_bytes,
    manifest_of,
    raw_zip,
    replaced_once,
    sha256,
    stored,
)

pytestmark = pytest.mark.anyio

IMPORT = "/v1/chats/import"
ZIP = {"Content-Type": "application/zip"}
# Names that round-trip through the API (api.md, attachment names): spaces, quotes,
# non-ASCII, percent signs that stay three characters, a leading dot, an emoji.
ODD_NAMES = ['a "quoted" name.txt', "Übersicht (2).png", "%2F stays.txt", ".hidden", "😀.md"]


async def import_archive(user: UserApi, body: bytes) -> httpx.Response:
    return await user.post(IMPORT, content=body, headers=ZIP)


async def imported(user: UserApi, body: bytes) -> list[Json]:
    response = await import_archive(user, body)
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/json"
    items: list[Json] = response.json()["items"]
    return items


async def listed(user: UserApi, url: str) -> list[Json]:
    response = await user.get(url, params={"limit": 1000})
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    items: list[Json] = response.json()["items"]
    return items


def three_chats() -> list[ChatSpec]:
    return [
        ChatSpec(
            "# Trip to Lyon\n\n**user**: trains to Genève?\n".encode(),
            [FileSpec(name, f"bytes of {name}\n".encode() * 20) for name in ODD_NAMES],
            title="Trip to Lyon",
            metadata={"model": "gpt-x", "pinned": "yes"},
        ),
        ChatSpec(b"", title=None),
        ChatSpec(
            b"# data\n" * 100,
            [
                FileSpec("table.csv", b"a,b\n1,2\n" * 500, "text/csv"),
                FileSpec("raw", bytes(range(256)) * 4, None),
            ],
            title="",
            metadata={"k": "v"},
        ),
    ]


async def assert_chat_holds(user: UserApi, made: Json, spec: ChatSpec) -> None:
    """The imported chat answers as its archive said: history, revisions, attachments."""
    chat_id = made["chat_id"]
    assert made["title"] == spec.title
    assert made["metadata"] == dict(spec.metadata)
    assert made["forked_from"] is None
    assert made["created_at"] == made["updated_at"] == START_TEXT
    assert (await user.get(f"/v1/chats/{chat_id}")).json() == made
    history = await user.get(f"/v1/chats/{chat_id}/history")
    assert history.content == spec.history
    assert history.headers["etag"] == f'"{sha256(spec.history)}"'
    revisions = await listed(user, f"/v1/chats/{chat_id}/history/revisions")
    assert [(item["revision"], item["source"]) for item in revisions] == [
        (1, "import"),
        (0, "create"),
    ]
    assert revisions[0]["etag"] == history.headers["etag"]
    files = {item["name"]: item for item in await listed(user, f"/v1/chats/{chat_id}/files")}
    assert set(files) == {file.name for file in spec.files}
    for file in spec.files:
        record = files[file.name]
        assert record["file_id"] != str(file.file_id)
        assert record["chat_id"] == chat_id
        assert (record["content_type"], record["size_bytes"], record["sha256"]) == (
            file.content_type,
            len(file.content),
            sha256(file.content),
        )
        content = await user.get(f"/v1/chats/{chat_id}/files/{record['file_id']}/content")
        assert content.content == file.content


async def test_an_export_archive_becomes_new_chats_in_manifest_order(
    user: UserApi, workspace: Json, data_dir: Path
) -> None:
    chats = three_chats()

    items = await imported(user, export_archive(chats))

    assert len(items) == 3
    for made, spec in zip(items, chats, strict=True):
        assert made["chat_id"] != str(spec.chat_id)
        assert made["workspace_id"] == workspace["workspace_id"]
        await assert_chat_holds(user, made, spec)
        on_disk = chat_dir(data_dir, made)
        assert (on_disk / "history.md").read_bytes() == spec.history
        for file in spec.files:
            assert (on_disk / file.name).read_bytes() == file.content
    assert {chat["chat_id"] for chat in await listed(user, "/v1/chats")} == {
        made["chat_id"] for made in items
    }
    usage = (await user.get("/v1/workspace/usage")).json()
    assert usage["used_bytes"] == sum(
        len(spec.history) + sum(len(file.content) for file in spec.files) for spec in chats
    )
    assert usage["revision_bytes"] == 0
    assert staging_entries(data_dir) == []
    assert list((data_dir / "unsettled").iterdir()) == []


@dataclass(frozen=True)
class Writer:
    """One way an exporter may write the archive."""

    manifest_first: bool = False
    compression: int = zipfile.ZIP_DEFLATED
    streamed: bool = True
    zip64: bool = False


WRITERS = [
    pytest.param(Writer(), id="deflated-streamed-manifest-last"),
    pytest.param(Writer(manifest_first=True), id="manifest-first"),
    pytest.param(Writer(compression=zipfile.ZIP_STORED), id="stored"),
    pytest.param(Writer(streamed=False), id="seekable-no-data-descriptors"),
    pytest.param(Writer(zip64=True), id="zip64-records"),
    pytest.param(
        Writer(compression=zipfile.ZIP_STORED, streamed=False, zip64=True),
        id="stored-zip64-no-descriptors",
    ),
]


@pytest.mark.parametrize("writer", WRITERS)
async def test_every_way_an_exporter_may_write_the_archive_is_read(
    user: UserApi, workspace: Json, writer: Writer
) -> None:
    chats = three_chats()
    body = export_archive(
        chats,
        manifest_first=writer.manifest_first,
        compression=writer.compression,
        streamed=writer.streamed,
        zip64=writer.zip64,
    )

    items = await imported(user, body)

    for made, spec in zip(items, chats, strict=True):
        await assert_chat_holds(user, made, spec)


async def test_an_archive_of_no_chats_imports_none(user: UserApi, workspace: Json) -> None:
    assert await imported(user, export_archive([])) == []
    assert await listed(user, "/v1/chats") == []


async def test_an_import_needs_a_workspace(user: UserApi) -> None:
    assert_problem(
        await import_archive(user, export_archive([ChatSpec()])), 404, "workspace_not_found"
    )


async def test_an_imported_chat_is_a_chat_like_any_other(user: UserApi, workspace: Json) -> None:
    [made] = await imported(user, export_archive([ChatSpec(b"# start\n")]))
    chat_id = made["chat_id"]

    appended = await user.post(f"/v1/chats/{chat_id}/history", content=b"more\n")
    await upload_file(user, chat_id, "later.txt", b"later")

    assert appended.headers["x-history-revision"] == "2"
    assert (await user.get(f"/v1/chats/{chat_id}/history")).content == b"# start\nmore\n"
    assert (await user.delete(f"/v1/chats/{chat_id}")).status_code == 204


async def test_the_same_archive_imported_twice_makes_two_sets_of_chats(
    user: UserApi, workspace: Json
) -> None:
    body = export_archive([ChatSpec(b"# once\n", [FileSpec("a.txt", b"a")])])

    first, second = await imported(user, body), await imported(user, body)

    assert first[0]["chat_id"] != second[0]["chat_id"]
    assert len(await listed(user, "/v1/chats")) == 2


# What a refused import must leave alone


@dataclass(frozen=True)
class State:
    chats: list[Json]
    usage: Json
    staging: list[str]
    paths: set[str]


async def state(user: UserApi, data_dir: Path) -> State:
    paths = {
        str(path.relative_to(data_dir))
        for top in ("workspaces", "revisions", "unsettled", "trash")
        if (data_dir / top).exists()
        for path in (data_dir / top).rglob("*")
    }
    return State(
        chats=await listed(user, "/v1/chats"),
        usage=(await user.get("/v1/workspace/usage")).json(),
        staging=staging_entries(data_dir),
        paths=paths,
    )


@asynccontextmanager
async def leaves_nothing(user: UserApi, data_dir: Path) -> AsyncIterator[None]:
    """On leaving the block: no chat, record, byte on disk or usage more than on entering
    it, and staging empty."""
    before = await state(user, data_dir)
    yield
    after = await state(user, data_dir)
    assert after == before
    assert after.staging == []


@pytest.fixture
async def existing(user: UserApi, workspace: Json) -> Json:
    """A chat of the workspace's own, which a refused import must leave as it was."""
    [made] = await imported(user, export_archive([ChatSpec(b"# mine\n", [FileSpec("m", b"m")])]))
    return made


async def assert_refused(
    user: UserApi, data_dir: Path, body: bytes, status: int, code: str
) -> Json:
    async with leaves_nothing(user, data_dir):
        response = await import_archive(user, body)
        return assert_problem(response, status, code)


ONE = ChatSpec(b"# one\n", [FileSpec("a.txt", b"alpha" * 10)], title="One")


def with_manifest(change: Callable[[dict[str, Any]], object]) -> bytes:
    """ONE's archive, its manifest changed in place by `change`."""
    document = manifest_of([ONE])
    change(document)
    return export_archive([ONE], manifest=document)


def chat_of(document: dict[str, Any]) -> dict[str, Any]:
    chat: dict[str, Any] = document["chats"][0]
    return chat


def file_of(document: dict[str, Any]) -> dict[str, Any]:
    file: dict[str, Any] = chat_of(document)["files"][0]
    return file


def raw_export(*extra: RawEntry, chats: tuple[ChatSpec, ...] = (ONE,)) -> bytes:
    """The chats' archive written byte by byte (stored, no descriptors), then `extra`."""
    entries = [stored(path, content) for chat in chats for path, content in chat.entries()]
    manifest = stored("manifest.json", manifest_bytes(manifest_of(list(chats))))
    return raw_zip([*entries, manifest, *extra])


def symlink(name: str, target: bytes) -> RawEntry:
    return stored(name, target, external_attr=(stat.S_IFLNK | 0o777) << 16)


def stored_bytes_changed() -> bytes:
    """The file's stored bytes changed, its CRC-32 as declared: only the CRC tells."""
    changed = b"ALPHA" * 10
    spec = ChatSpec(ONE.history, [FileSpec("a.txt", changed)], title="One")
    archive = raw_export(chats=(spec,))
    # The manifest names the changed bytes; the entry keeps the CRC-32 of the first ones.
    crc_changed = zlib.crc32(changed).to_bytes(4, "little")
    crc_first = zlib.crc32(b"alpha" * 10).to_bytes(4, "little")
    return archive.replace(crc_changed, crc_first)


def inflating_to(written: bytes) -> bytes:
    """ONE's archive whose file's deflated bytes inflate to `written`, where the entry and
    the manifest declare ONE's 50 bytes (and their CRC-32)."""
    declared = b"alpha" * 10
    entry = deflated(ONE.file_path(ONE.files[0]), written)
    entry.size, entry.crc = len(declared), zlib.crc32(declared)
    history = stored(ONE.history_path(), ONE.history)
    manifest = stored("manifest.json", manifest_bytes(manifest_of([ONE])))
    return raw_zip([history, entry, manifest])


def names_differ() -> bytes:
    """The local header names another path than the central directory, of the same
    length: a reader that trusts one and extracts by the other is fooled."""
    path = ONE.file_path(ONE.files[0])
    other = path.replace("a.txt", "b.txt")
    entries = [
        stored(ONE.history_path(), ONE.history),
        stored(path, b"alpha" * 10, local_name=other.encode()),
        stored("manifest.json", manifest_bytes(manifest_of([ONE]))),
    ]
    return raw_zip(entries)


def with_bytes_between() -> bytes:
    """Bytes hidden between two members, every offset still right."""
    manifest = stored("manifest.json", manifest_bytes(manifest_of([ONE])), before=b"hidden")
    return raw_zip([*(stored(path, data) for path, data in ONE.entries()), manifest])


def encrypted() -> bytes:
    return raw_export(stored("chats/x", b"", flags=0x0801))


def bzip2() -> bytes:
    document = manifest_of([ONE])
    return export_archive([ONE], manifest=document, compression=zipfile.ZIP_BZIP2)


def manifest_of_size(size: int) -> bytes:
    """A manifest declaring `size` bytes (a deflate stream of 65 MiB of zeros)."""
    return raw_zip([RawEntry(b"manifest.json", deflated_zeros(65), size, 0, method=8)])


def too_many_entries() -> bytes:
    """100,001 empty members: an archive that really holds one entry over the limit."""
    empty = zlib.crc32(b"")
    return raw_zip(RawEntry(f"e{index}".encode(), b"", 0, empty) for index in range(100_001))


HOSTILE = [
    pytest.param(b"", "too short to be a ZIP", id="empty-body"),
    pytest.param(b"not a zip, just words " * 10, "no ZIP end of central directory", id="not-a-zip"),
    pytest.param(b"PK\x05\x06" + bytes(18), "no manifest.json", id="end-record-only-past-nothing"),
    pytest.param(export_archive([ONE])[:-300], "no ZIP end of central directory", id="cut-short"),
    pytest.param(
        export_archive([ONE])[:200], "no ZIP end of central directory", id="cut-to-its-first-member"
    ),
    pytest.param(
        b"junk" + export_archive([ONE]),
        "not where its end record says",
        id="bytes-before-the-first-member",
    ),
    pytest.param(
        export_archive([ONE]) + b"junk",
        "no ZIP end of central directory",
        id="bytes-after-the-end-record",
    ),
    pytest.param(with_bytes_between(), "no entry accounts for", id="bytes-hidden-between-members"),
    pytest.param(raw_export(stored("../evil.txt", b"x")), "with '..'", id="dot-dot-path"),
    pytest.param(
        raw_export(stored("chats/../../evil.txt", b"x")), "with '..'", id="dot-dot-inside"
    ),
    pytest.param(raw_export(stored("/etc/evil", b"x")), "absolute entry path", id="absolute-path"),
    pytest.param(
        raw_export(stored("C:/evil", b"x")), "absolute entry path", id="drive-letter-path"
    ),
    pytest.param(raw_export(stored("chats\\evil", b"x")), "backslash", id="backslash-path"),
    pytest.param(
        raw_export(stored("chats/x/\x07bell", b"x")), "control byte", id="control-character-path"
    ),
    pytest.param(
        raw_export(symlink("link", b"/etc/passwd")), "is a symbolic link", id="symlink-entry"
    ),
    pytest.param(
        raw_export(stored("dev", b"", external_attr=(stat.S_IFCHR | 0o600) << 16)),
        "is a character device",
        id="character-device-entry",
    ),
    pytest.param(
        raw_export(stored("fifo", b"", external_attr=(stat.S_IFIFO | 0o600) << 16)),
        "is a FIFO",
        id="fifo-entry",
    ),
    pytest.param(raw_export(stored("chats/", b"")), "is a directory", id="directory-entry"),
    pytest.param(
        raw_export(stored("dos-dir", b"", external_attr=0x10, made_by=20)),
        "is a directory",
        id="dos-directory-entry",
    ),
    pytest.param(
        raw_export(stored("extra.txt", b"unnamed")),
        "manifest does not name",
        id="entry-the-manifest-does-not-name",
    ),
    pytest.param(
        raw_export(stored(ONE.file_path(ONE.files[0]), b"alpha" * 10)), "twice", id="one-path-twice"
    ),
    pytest.param(
        names_differ(), "names another path", id="local-header-and-directory-disagree-on-the-name"
    ),
    pytest.param(encrypted(), "is encrypted", id="encrypted-entry"),
    pytest.param(bzip2(), "compression method 12", id="bzip2-entry"),
    pytest.param(stored_bytes_changed(), "CRC-32", id="crc-mismatch"),
    pytest.param(
        inflating_to(b"alpha" * 20),
        "inflates past the 50 bytes",
        id="inflates-past-its-declared-size",
    ),
    pytest.param(
        inflating_to(b"alpha" * 4), "inflates to 20 bytes", id="inflates-short-of-its-declared-size"
    ),
    pytest.param(too_many_entries(), "100001 entries", id="100001-entries"),
    pytest.param(
        raw_zip([stored(ONE.history_path(), ONE.history)]), "no manifest.json", id="no-manifest"
    ),
    pytest.param(
        manifest_of_size(64 * 1024 * 1024 + 1), "at most 67108864", id="manifest-over-64-mib"
    ),
    pytest.param(
        raw_zip([stored("manifest.json", b"{not json")]), "not JSON", id="manifest-not-json"
    ),
    pytest.param(
        raw_zip([stored("manifest.json", b"\xff\xfe{}")]), "not JSON", id="manifest-not-utf-8"
    ),
    pytest.param(
        raw_zip([stored("manifest.json", b"[]")]), "must be an object", id="manifest-not-an-object"
    ),
    pytest.param(
        raw_zip([stored("manifest.json", b"[" * 100_000)]),
        "not JSON",
        id="manifest-nested-too-deep",
    ),
    pytest.param(
        with_manifest(lambda doc: doc.update(format="other-export")),
        "format must be",
        id="manifest-wrong-format",
    ),
    pytest.param(
        with_manifest(lambda doc: doc.update(version=2)),
        "version 2 is not 1",
        id="manifest-version-2",
    ),
    pytest.param(
        with_manifest(lambda doc: doc.update(version=True)),
        "version True is not 1",
        id="manifest-version-true",
    ),
    pytest.param(
        with_manifest(lambda doc: doc.pop("exported_at")),
        "no 'exported_at'",
        id="manifest-no-exported-at",
    ),
    pytest.param(
        with_manifest(lambda doc: doc["workspace"].update(created_at="yesterday")),
        "RFC 3339",
        id="manifest-bad-time",
    ),
    pytest.param(
        with_manifest(lambda doc: chat_of(doc)["chat"].update(chat_id="not-a-uuid")),
        "must be a UUID",
        id="manifest-bad-chat-id",
    ),
    pytest.param(
        with_manifest(lambda doc: chat_of(doc)["chat"].update(workspace_id=str(ONE.chat_id))),
        "not of the exported workspace",
        id="manifest-chat-of-another-workspace",
    ),
    pytest.param(
        with_manifest(lambda doc: chat_of(doc)["history"].update(size_bytes="6")),
        "whole number",
        id="manifest-size-as-string",
    ),
    pytest.param(
        with_manifest(lambda doc: chat_of(doc)["history"].update(size_bytes=-1)),
        "whole number",
        id="manifest-negative-size",
    ),
    pytest.param(
        with_manifest(lambda doc: chat_of(doc)["history"].update(sha256="ABC")),
        "64 lowercase hex",
        id="manifest-malformed-sha256",
    ),
    pytest.param(
        with_manifest(lambda doc: file_of(doc).update(chat_id=str(uuid4()))),
        "not a file of its chat",
        id="manifest-file-of-another-chat",
    ),
    pytest.param(
        with_manifest(lambda doc: doc["chats"].append({**doc["chats"][0], "files": []})),
        "names chat",
        id="manifest-names-a-chat-twice",
    ),
    pytest.param(
        with_manifest(lambda doc: chat_of(doc)["chat"].update(metadata=[])),
        "metadata must be an object",
        id="manifest-metadata-not-an-object",
    ),
    pytest.param(
        with_manifest(lambda doc: file_of(doc).update(sha256=sha256(b"other bytes"))),
        "does not hold the bytes",
        id="manifest-sha256-mismatch",
    ),
    pytest.param(
        with_manifest(lambda doc: chat_of(doc)["history"].update(sha256=sha256(b"other"))),
        "does not hold the bytes",
        id="manifest-history-sha256-mismatch",
    ),
    pytest.param(
        with_manifest(lambda doc: file_of(doc).update(size_bytes=49)),
        "declares 50 bytes; its manifest says 49",
        id="manifest-size-differs-from-the-entry",
    ),
    pytest.param(
        with_manifest(
            lambda doc: chat_of(doc)["files"].append(
                {**file_of(doc), "name": "missing.txt", "file_id": str(ONE.chat_id)}
            )
        ),
        "lacks",
        id="manifest-names-an-entry-the-archive-lacks",
    ),
]


@pytest.mark.parametrize(("body", "reason"), HOSTILE)
async def test_an_archive_the_service_did_not_export_is_refused_and_leaves_nothing(
    user: UserApi, existing: Json, data_dir: Path, body: bytes, reason: str
) -> None:
    problem = await assert_refused(user, data_dir, body, 422, "invalid_archive")
    assert reason in problem["detail"]


async def test_a_manifest_with_a_key_twice_is_refused(
    user: UserApi, existing: Json, data_dir: Path
) -> None:
    manifest = replaced_once(
        manifest_bytes(manifest_of([ONE])), b'"version": 1', b'"version": 1, "version": 1'
    )
    body = raw_zip(
        [*(stored(path, data) for path, data in ONE.entries()), stored("manifest.json", manifest)]
    )

    await assert_refused(user, data_dir, body, 422, "invalid_archive")


def named(name: str) -> bytes:
    """ONE's archive with its file named `name`, in the manifest and in the archive."""
    spec = ChatSpec(ONE.history, [FileSpec(name, b"bytes")])
    return raw_export(chats=(spec,))


RULE_BREAKERS = [
    pytest.param(named("history.md"), 422, "reserved_attachment_name", id="history-md"),
    pytest.param(named(".."), 422, "invalid_attachment_name", id="dot-dot-name"),
    pytest.param(named("a\\b"), 422, "invalid_attachment_name", id="backslash-name"),
    pytest.param(named("bell\x07"), 422, "invalid_attachment_name", id="control-character"),
    pytest.param(named("x" * 256), 422, "invalid_attachment_name", id="256-bytes"),
    pytest.param(
        with_manifest(
            lambda doc: chat_of(doc)["files"].append({**file_of(doc), "file_id": str(uuid4())})
        ),
        422,
        "duplicate_attachment_name",
        id="two-files-one-name",
    ),
    pytest.param(
        export_archive([ChatSpec(b"", title="t" * 257)]), 422, "validation_error", id="long-title"
    ),
    pytest.param(
        export_archive([ChatSpec(b"", title="a\nb")]),
        422,
        "validation_error",
        id="title-with-a-control-character",
    ),
    pytest.param(
        export_archive([ChatSpec(b"", metadata={f"k{n}": "v" for n in range(17)})]),
        422,
        "validation_error",
        id="17-metadata-keys",
    ),
    pytest.param(
        export_archive([ChatSpec(b"", metadata={"k": "v" * 513})]),
        422,
        "validation_error",
        id="long-metadata-value",
    ),
    pytest.param(
        export_archive([ChatSpec(b"", [FileSpec("a", b"a", "not a media type")])]),
        422,
        "validation_error",
        id="bad-content-type",
    ),
    pytest.param(
        export_archive([ChatSpec(b"\xff\xfe not utf-8")]),
        422,
        "invalid_history_encoding",
        id="history-not-utf-8",
    ),
    pytest.param(
        export_archive([ChatSpec(b"h" * (MAX_HISTORY_BYTES + 1))]),
        413,
        "history_too_large",
        id="history-too-large",
    ),
    pytest.param(
        export_archive([ChatSpec(b"", [FileSpec("big", b"b" * (MAX_FILE_BYTES + 1))])]),
        413,
        "file_too_large",
        id="file-too-large",
    ),
    pytest.param(
        export_archive(
            [ChatSpec(b"", [FileSpec(f"f{n}", b"q" * MAX_FILE_BYTES)]) for n in range(4)]
        ),
        507,
        "workspace_quota_exceeded",
        id="whole-import-over-the-quota",
    ),
]


@pytest.mark.parametrize(("body", "status", "code"), RULE_BREAKERS)
async def test_a_value_that_breaks_its_rule_answers_that_rules_code_and_leaves_nothing(
    user: UserApi, existing: Json, data_dir: Path, body: bytes, status: int, code: str
) -> None:
    await assert_refused(user, data_dir, body, status, code)


async def test_the_quota_counts_what_the_workspace_already_uses(
    user: UserApi, existing: Json, data_dir: Path
) -> None:
    used = (await user.get("/v1/workspace/usage")).json()["used_bytes"]
    fits = QUOTA_BYTES - used
    part = fits // 4
    rest = fits - 4 * part
    one_over = [ChatSpec(b"h" * (rest + 1), [FileSpec(f"f{n}", b"f" * part) for n in range(4)])]

    await assert_refused(user, data_dir, export_archive(one_over), 507, "workspace_quota_exceeded")

    exact = [ChatSpec(b"h" * rest, [FileSpec(f"f{n}", b"f" * part) for n in range(4)])]
    assert len(await imported(user, export_archive(exact))) == 1
    assert (await user.get("/v1/workspace/usage")).json()["used_bytes"] == QUOTA_BYTES
    await assert_refused(
        user, data_dir, export_archive([ChatSpec(b"x")]), 507, "workspace_quota_exceeded"
    )
    # An archive of no chats takes nothing: a full workspace still takes it.
    assert await imported(user, export_archive([])) == []


# The body's bound


async def test_a_body_declared_past_the_bound_is_refused_before_it_is_read(
    user: UserApi, existing: Json, data_dir: Path
) -> None:
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(4):
            sent += 1
            yield b"x" * 1024

    used = (await user.get("/v1/workspace/usage")).json()["used_bytes"]
    bound = archive_bound(QUOTA_BYTES - used)
    async with leaves_nothing(user, data_dir):
        response = await user.client.post(
            IMPORT,
            content=body(),
            headers={"X-User-Id": str(user.user_id), "Content-Length": str(bound + 1)},
        )
    assert_problem(response, 507, "workspace_quota_exceeded")


async def test_a_body_that_streams_past_the_bound_is_refused_as_it_passes(
    user: UserApi, existing: Json, data_dir: Path
) -> None:
    """No Content-Length (chunked): the body is cut off the moment it passes what the
    quota leaves plus the archive's overhead, and what was staged is removed."""
    used = (await user.get("/v1/workspace/usage")).json()["used_bytes"]
    bound = archive_bound(QUOTA_BYTES - used)
    chunk = bytes(1024 * 1024)
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        while sent <= bound + len(chunk):
            sent += len(chunk)
            yield chunk

    async with leaves_nothing(user, data_dir):
        response = await user.client.post(
            IMPORT, content=body(), headers={"X-User-Id": str(user.user_id)}
        )
    assert_problem(response, 507, "workspace_quota_exceeded")
    assert bound < sent <= bound + 2 * len(chunk)


# Bombs


async def test_a_zip_bomb_costs_no_more_than_the_bytes_it_declares(
    user: UserApi, existing: Json, data_dir: Path
) -> None:
    """A member declaring 1 KiB whose deflate stream inflates to 1 GiB: refused as soon as
    it passes 1 KiB, in well under a second and without memory to speak of."""
    declared = bytes(1024)
    spec = ChatSpec(ONE.history, [FileSpec("a.txt", declared)])
    bomb = RawEntry(
        spec.file_path(spec.files[0]).encode(),
        deflated_zeros(1024),
        len(declared),
        zlib.crc32(declared),
        method=8,
    )
    body = raw_zip(
        [
            stored(spec.history_path(), spec.history),
            bomb,
            stored("manifest.json", manifest_bytes(manifest_of([spec]))),
        ]
    )
    assert len(body) < 2 * 1024 * 1024

    async with leaves_nothing(user, data_dir):
        tracemalloc.start()
        try:
            started = time.monotonic()
            response = await import_archive(user, body)
            elapsed = time.monotonic() - started
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

    problem = assert_problem(response, 422, "invalid_archive")
    assert "inflates past" in problem["detail"]
    assert elapsed < 1.0
    assert peak < 16 * 1024 * 1024  # the body itself is 1 MiB; inflated whole it were 1 GiB


async def test_a_member_declaring_more_than_the_limits_is_refused_before_inflating(
    user: UserApi, existing: Json, data_dir: Path
) -> None:
    """Sizes are checked as declared, before any member is inflated: a member declaring
    1 GiB (its deflate stream would inflate to that) costs nothing but reading the
    directory."""
    size = 1024 * 1024 * 1024
    spec = ChatSpec(b"", [FileSpec("big", b"")])
    document = manifest_of([spec])
    file_of(document).update(size_bytes=size)
    bomb = RawEntry(spec.file_path(spec.files[0]).encode(), deflated_zeros(1024), size, 0, method=8)
    body = raw_zip(
        [
            stored(spec.history_path(), b""),
            bomb,
            stored("manifest.json", manifest_bytes(document)),
        ]
    )

    started = time.monotonic()
    await assert_refused(user, data_dir, body, 413, "file_too_large")
    assert time.monotonic() - started < 1.0


async def test_a_refused_import_after_some_entries_were_inflated_leaves_nothing(
    user: UserApi, existing: Json, data_dir: Path
) -> None:
    """The last chat's history is not UTF-8: everything inflated before it goes too."""
    chats = [*three_chats(), ChatSpec(b"\xc3\x28")]

    await assert_refused(user, data_dir, export_archive(chats), 422, "invalid_history_encoding")


@pytest.mark.parametrize("rounds", [6])
async def test_an_import_racing_the_erasure_of_its_workspace_ends_as_a_serial_order(
    user: UserApi, data_dir: Path, rounds: int
) -> None:
    """An import of several chats holds its workspace's lock once while it makes them (an
    erasure takes that lock after every chat's): either it lands whole and the erasure then
    removes it, or the erasure goes first and the import finds no workspace."""
    archive = export_archive(three_chats())

    async def send(answers: dict[str, httpx.Response], name: str, request: Any) -> None:
        answers[name] = await request

    for _ in range(rounds):
        workspace = (await user.put("/v1/workspace")).json()
        answers: dict[str, httpx.Response] = {}
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(send, answers, "import", import_archive(user, archive))
            tasks.start_soon(send, answers, "erase", user.delete("/v1/workspace"))

        assert answers["erase"].status_code == 204, answers["erase"].text
        assert answers["import"].status_code in (201, 404), answers["import"].text
        if answers["import"].status_code == 404:
            assert_problem(answers["import"], 404, "workspace_not_found")
        assert (await user.get("/v1/workspace")).status_code == 404
        assert not (data_dir / "workspaces" / workspace["workspace_id"]).exists()
        assert staging_entries(data_dir) == []
