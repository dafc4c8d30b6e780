import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from uuid import UUID, uuid4

import httpx
import pytest

from test.api.conftest import (
    BOUNDARY,
    MAX_FILE_BYTES,
    QUOTA_BYTES,
    START_TEXT,
    Json,
    Part,
    UserApi,
    assert_problem,
    directory_state,
    list_files,
    multipart_body,
    put_history,
    sha256,
    staging_entries,
    unchanged,
    upload,
    upload_file,
    used_bytes,
)
from test.attachment_names import kept_names, name_bytes, refusals
from test.fakes import FakeClock

pytestmark = pytest.mark.anyio


def files_url(chat_id: str) -> str:
    return f"/v1/chats/{chat_id}/files"


async def test_upload_of_one_part_answers_its_record(
    user: UserApi, chat_id: str, chat_path: Path
) -> None:
    data = b"hello, attachment\n"

    response = await upload(user, chat_id, Part("notes.txt", data, "text/plain"))

    assert response.status_code == 201
    (item,) = response.json()["items"]
    assert set(response.json()) == {"items"}
    assert set(item) == {
        "file_id",
        "chat_id",
        "name",
        "content_type",
        "size_bytes",
        "sha256",
        "created_at",
    }
    UUID(item["file_id"])
    assert item["chat_id"] == chat_id
    assert item["name"] == "notes.txt"
    assert item["content_type"] == "text/plain"
    assert item["size_bytes"] == len(data)
    assert item["sha256"] == sha256(data)
    assert item["created_at"] == START_TEXT
    assert (chat_path / "notes.txt").read_bytes() == data


async def test_upload_of_several_parts_answers_them_in_part_order(
    user: UserApi, chat_id: str
) -> None:
    names = ["zeta.txt", "alpha.txt", "mid.bin", "beta.md"]

    response = await upload(
        user, chat_id, *(Part(name, name.encode() * 3, "text/plain") for name in names)
    )

    assert response.status_code == 201
    items = response.json()["items"]
    assert [item["name"] for item in items] == names
    assert [item["size_bytes"] for item in items] == [len(name) * 3 for name in names]
    assert len({item["file_id"] for item in items}) == 4
    assert sorted(item["name"] for item in await list_files(user, chat_id)) == sorted(names)


async def test_upload_accepts_a_body_encoded_by_a_standard_client(
    user: UserApi, chat_id: str
) -> None:
    response = await user.client.post(
        files_url(chat_id),
        headers={"X-User-Id": str(user.user_id)},
        files=[
            ("file", ("one.txt", b"first", "text/plain")),
            ("file", ("two.csv", b"a,b\n", "text/csv")),
        ],
        data={"comment": "ignored"},
    )

    assert response.status_code == 201, response.text
    items = response.json()["items"]
    assert [(item["name"], item["content_type"]) for item in items] == [
        ("one.txt", "text/plain"),
        ("two.csv", "text/csv"),
    ]


async def test_other_form_fields_are_ignored(user: UserApi, chat_id: str) -> None:
    response = await upload(
        user,
        chat_id,
        Part(None, b"just a field", None, name="comment"),
        Part("a.txt", b"A"),
        Part(None, b"another", None, name="note"),
    )

    assert response.status_code == 201
    assert [item["name"] for item in response.json()["items"]] == ["a.txt"]


async def test_same_name_upload_replaces_previous_file(
    user: UserApi, chat_id: str, chat_path: Path, clock: FakeClock
) -> None:
    old = await upload_file(user, chat_id, "report.txt", b"version one")
    clock.advance(5)

    new = await upload_file(user, chat_id, "report.txt", b"v2")

    assert new["file_id"] != old["file_id"]
    assert [item["file_id"] for item in await list_files(user, chat_id)] == [new["file_id"]]
    old_url = f"{files_url(chat_id)}/{old['file_id']}"
    assert_problem(await user.get(old_url), 404, "chat_file_not_found")
    assert_problem(await user.get(f"{old_url}/content"), 404, "chat_file_not_found")
    content = await user.get(f"{files_url(chat_id)}/{new['file_id']}/content")
    assert content.content == b"v2"
    assert (chat_path / "report.txt").read_bytes() == b"v2"
    assert await used_bytes(user) == 2


async def test_part_without_content_type_is_stored_as_null_and_served_as_octet_stream(
    user: UserApi, chat_id: str
) -> None:
    item = await upload_file(user, chat_id, "blob", b"\x00\x01\x02", content_type=None)

    assert item["content_type"] is None
    fetched = await user.get(f"{files_url(chat_id)}/{item['file_id']}")
    assert fetched.json()["content_type"] is None
    content = await user.get(f"{files_url(chat_id)}/{item['file_id']}/content")
    assert content.headers["content-type"] == "application/octet-stream"


async def test_part_content_type_is_stored_as_sent(user: UserApi, chat_id: str) -> None:
    item = await upload_file(user, chat_id, "page.html", b"<p>", "text/html; charset=utf-8")

    assert item["content_type"] == "text/html; charset=utf-8"


async def test_empty_file_is_stored(user: UserApi, chat_id: str, chat_path: Path) -> None:
    item = await upload_file(user, chat_id, "empty.txt", b"")

    assert item["size_bytes"] == 0
    assert item["sha256"] == sha256(b"")
    assert (chat_path / "empty.txt").read_bytes() == b""


async def test_file_of_exactly_the_maximum_size_is_accepted(user: UserApi, chat_id: str) -> None:
    item = await upload_file(user, chat_id, "max.bin", b"m" * MAX_FILE_BYTES)

    assert item["size_bytes"] == MAX_FILE_BYTES


def sent_as_is(name: str) -> bool:
    """Whether `Part`, which writes a name's bytes raw between quotes as browsers do, carries
    it unchanged (api.md, "Attachment names on the wire"): it has bytes; no quote, CR or LF;
    no backslash before another or at the end, where it escapes one; no `%22`, `%0D` or
    `%0A`, which read as the characters they encode."""
    return (
        name_bytes(name) is not None
        and not any(char in name for char in '"\r\n')
        and "\\\\" not in name
        and not name.endswith("\\")
        and not any(escape in name.upper() for escape in ("%22", "%0D", "%0A"))
    )


@pytest.mark.parametrize("name", kept_names(sent_as_is))
async def test_valid_name_round_trips(
    user: UserApi, chat_id: str, chat_path: Path, name: str
) -> None:
    item = await upload_file(user, chat_id, name, b"named")

    assert item["name"] == name
    fetched = await user.get(f"{files_url(chat_id)}/{item['file_id']}")
    assert fetched.json()["name"] == name
    assert [listed["name"] for listed in await list_files(user, chat_id)] == [name]
    assert (chat_path / name).read_bytes() == b"named"


@pytest.mark.parametrize(("name", "code"), refusals(sent_as_is))
async def test_invalid_name_is_refused_and_leaves_no_trace(
    user: UserApi, chat: Json, chat_id: str, data_dir: Path, name: str, code: str
) -> None:
    await upload_file(user, chat_id, "keep.txt", b"kept")
    async with unchanged(user, chat, data_dir):
        response = await upload(user, chat_id, Part(name_bytes(name), b"payload"))

    assert_problem(response, 422, code)


async def nothing_first(user: UserApi, chat_id: str) -> None:
    pass


async def history_first(user: UserApi, chat_id: str) -> None:
    await put_history(user, chat_id, b"# real history\n")


async def big_bin_first(user: UserApi, chat_id: str) -> None:
    await upload_file(user, chat_id, "big.bin", b"kept")


REFUSED_UPLOADS = [
    pytest.param(
        nothing_first,
        [Part(None, b"payload")],
        422,
        "invalid_attachment_name",
        id="part-without-a-filename-is-an-invalid-name",
    ),
    pytest.param(
        history_first,
        [Part("history.md", b"# overwritten")],
        422,
        "reserved_attachment_name",
        id="history-md-is-reserved-and-the-history-untouched",
    ),
    pytest.param(
        big_bin_first,
        [Part("big.bin", b"b" * (MAX_FILE_BYTES + 1))],
        413,
        "file_too_large",
        id="file-over-the-maximum-size",
    ),
    pytest.param(
        nothing_first,
        [Part("a.txt", b"wrong field", name="attachment")],
        422,
        "validation_error",
        id="multipart-without-a-file-part",
    ),
    pytest.param(nothing_first, [], 422, "validation_error", id="multipart-with-no-parts"),
    pytest.param(
        nothing_first,
        [Part("twice.txt", b"one"), Part("twice.txt", b"two")],
        422,
        "duplicate_attachment_name",
        id="duplicate-name-within-one-request",
    ),
]


@pytest.mark.parametrize(("first", "parts", "status", "code"), REFUSED_UPLOADS)
async def test_refused_upload_answers_its_problem_and_leaves_no_trace(
    user: UserApi,
    chat: Json,
    chat_id: str,
    data_dir: Path,
    first: Callable[[UserApi, str], Awaitable[None]],
    parts: list[Part],
    status: int,
    code: str,
) -> None:
    """What is stored `first` is left as it was, and nothing of the request is stored."""
    await first(user, chat_id)

    async with unchanged(user, chat, data_dir):
        response = await upload(user, chat_id, *parts)

    assert_problem(response, status, code)


async def test_request_that_passes_the_quota_is_refused_and_leaves_no_trace(
    user: UserApi, chat: Json, chat_id: str, data_dir: Path
) -> None:
    await upload_file(user, chat_id, "keep.txt", b"kept")
    part_bytes = 250 * 1024
    parts = [Part(f"part-{index}.bin", b"q" * part_bytes) for index in range(5)]
    assert len(parts) * part_bytes > QUOTA_BYTES

    async with unchanged(user, chat, data_dir):
        response = await upload(user, chat_id, *parts)

    assert_problem(response, 507, "workspace_quota_exceeded")


async def test_upload_that_fills_the_quota_exactly_is_accepted(user: UserApi, chat_id: str) -> None:
    sizes = [MAX_FILE_BYTES] * (QUOTA_BYTES // MAX_FILE_BYTES)
    parts = [Part(f"fill-{index}.bin", b"f" * size) for index, size in enumerate(sizes)]

    response = await upload(user, chat_id, *parts)

    assert response.status_code == 201
    assert await used_bytes(user) == QUOTA_BYTES
    assert_problem(
        await upload(user, chat_id, Part("one-more", b"x")), 507, "workspace_quota_exceeded"
    )


async def test_replacing_a_file_in_a_full_workspace_counts_only_the_difference(
    user: UserApi, chat_id: str
) -> None:
    sizes = [MAX_FILE_BYTES] * (QUOTA_BYTES // MAX_FILE_BYTES)
    parts = [Part(f"fill-{index}.bin", b"f" * size) for index, size in enumerate(sizes)]
    assert (await upload(user, chat_id, *parts)).status_code == 201

    item = await upload_file(user, chat_id, "fill-0.bin", b"g" * MAX_FILE_BYTES)

    assert item["size_bytes"] == MAX_FILE_BYTES
    assert await used_bytes(user) == QUOTA_BYTES


SECOND_PART_FAILURES = [
    pytest.param(Part("../x", b"bad"), 422, "invalid_attachment_name", id="bad-name"),
    pytest.param(Part("history.md", b"bad"), 422, "reserved_attachment_name", id="reserved"),
    pytest.param(Part("big", b"b" * (MAX_FILE_BYTES + 1)), 413, "file_too_large", id="too-big"),
    pytest.param(
        Part("first.txt", b"again"), 422, "duplicate_attachment_name", id="duplicate-name"
    ),
    pytest.param(
        Part("typed.txt", b"x", "text/plain\x01"), 422, "validation_error", id="bad-content-type"
    ),
]


@pytest.mark.parametrize(("second", "status", "code"), SECOND_PART_FAILURES)
async def test_request_whose_second_part_is_bad_stores_neither_part(
    user: UserApi,
    chat: Json,
    chat_id: str,
    data_dir: Path,
    second: Part,
    status: int,
    code: str,
) -> None:
    await upload_file(user, chat_id, "keep.txt", b"kept")
    async with unchanged(user, chat, data_dir):
        response = await upload(user, chat_id, Part("first.txt", b"good bytes"), second)

    assert_problem(response, status, code)


async def test_replacement_in_a_refused_request_keeps_the_old_file(
    user: UserApi, chat: Json, chat_id: str, data_dir: Path
) -> None:
    old = await upload_file(user, chat_id, "keep.txt", b"kept")
    async with unchanged(user, chat, data_dir):
        response = await upload(user, chat_id, Part("keep.txt", b"replacement"), Part("..", b""))

    assert_problem(response, 422, "invalid_attachment_name")
    fetched = await user.get(f"{files_url(chat_id)}/{old['file_id']}/content")
    assert fetched.content == b"kept"


async def test_upload_that_is_not_multipart_is_unsupported(
    user: UserApi, chat: Json, chat_id: str, data_dir: Path
) -> None:
    async with unchanged(user, chat, data_dir):
        response = await user.post(
            files_url(chat_id), content=b"raw bytes", headers={"Content-Type": "text/plain"}
        )

    assert_problem(response, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-content-type"),
        pytest.param({"Content-Type": "application/json"}, id="json"),
        pytest.param({"Content-Type": "application/x-www-form-urlencoded"}, id="urlencoded"),
        pytest.param({"Content-Type": f"multipart/mixed; boundary={BOUNDARY}"}, id="mixed"),
    ],
)
async def test_upload_with_another_media_type_is_unsupported(
    user: UserApi, chat_id: str, headers: dict[str, str]
) -> None:
    response = await user.post(
        files_url(chat_id), content=multipart_body(Part("a.txt", b"A")), headers=headers
    )

    assert_problem(response, 415, "unsupported_media_type")


MALFORMED_BODIES = [
    pytest.param(
        multipart_body(Part("a.txt", b"complete"))[:-30],
        f"multipart/form-data; boundary={BOUNDARY}",
        id="truncated",
    ),
    pytest.param(b"", f"multipart/form-data; boundary={BOUNDARY}", id="empty-body"),
    pytest.param(
        b"this is not multipart at all", f"multipart/form-data; boundary={BOUNDARY}", id="garbage"
    ),
    pytest.param(
        multipart_body(Part("a.txt", b"A")), "multipart/form-data", id="no-boundary-parameter"
    ),
    pytest.param(
        multipart_body(Part("a.txt", b"A")),
        "multipart/form-data; boundary=some-other-boundary",
        id="wrong-boundary",
    ),
    pytest.param(
        f"--{BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nbody\r\n--{BOUNDARY}--\r\n".encode(),
        f"multipart/form-data; boundary={BOUNDARY}",
        id="part-without-disposition",
    ),
]


@pytest.mark.parametrize(("body", "content_type"), MALFORMED_BODIES)
async def test_malformed_multipart_body_is_a_validation_error_and_leaves_no_trace(
    user: UserApi, chat: Json, chat_id: str, data_dir: Path, body: bytes, content_type: str
) -> None:
    await upload_file(user, chat_id, "keep.txt", b"kept")
    async with unchanged(user, chat, data_dir):
        response = await user.post(
            files_url(chat_id), content=body, headers={"Content-Type": content_type}
        )

    assert_problem(response, 422, "validation_error")


async def test_truncated_second_part_stores_nothing(
    user: UserApi, chat: Json, chat_id: str, data_dir: Path
) -> None:
    body = multipart_body(Part("a.txt", b"complete first"), Part("b.txt", b"second" * 100))

    async with unchanged(user, chat, data_dir):
        response = await upload_raw(user, chat_id, body[: len(body) - 200])

    assert_problem(response, 422, "validation_error")


async def upload_raw(user: UserApi, chat_id: str, body: bytes) -> httpx.Response:
    return await user.post(
        files_url(chat_id),
        content=body,
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )


async def test_duplicate_as_the_last_of_large_parts_stores_nothing_and_keeps_usage(
    user: UserApi, chat: Json, chat_id: str, data_dir: Path
) -> None:
    await upload_file(user, chat_id, "keep.txt", b"kept")
    large = [Part(f"large-{index}.bin", b"L" * (MAX_FILE_BYTES - index)) for index in range(3)]

    async with unchanged(user, chat, data_dir):
        response = await upload(user, chat_id, *large, Part("large-1.bin", b"again"))

    problem = assert_problem(response, 422, "duplicate_attachment_name")
    assert "large-1.bin" in problem["detail"]
    assert await used_bytes(user) == len(b"kept")


async def test_upload_to_an_unknown_chat_is_not_found(user: UserApi, workspace: Json) -> None:
    response = await upload(user, str(uuid4()), Part("a.txt", b"A"))

    assert_problem(response, 404, "chat_not_found")


async def test_list_of_a_new_chat_is_empty(user: UserApi, chat_id: str) -> None:
    response = await user.get(files_url(chat_id))

    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(
    ("limit", "sizes"),
    [
        pytest.param(2, [2, 2, 1], id="short-last-page"),
        pytest.param(5, [5], id="exactly-one-page"),
        pytest.param(1, [1, 1, 1, 1, 1], id="one-per-page"),
    ],
)
async def test_files_page_in_creation_order_with_a_cursor(
    user: UserApi, chat_id: str, clock: FakeClock, limit: int, sizes: list[int]
) -> None:
    stored = []
    for index in range(5):
        stored.append(await upload_file(user, chat_id, f"f{4 - index}.txt", b"x"))
        clock.advance(1)

    pages: list[list[Json]] = []
    params: dict[str, str | int] = {"limit": limit}
    while len(pages) < 10:
        response = await user.get(files_url(chat_id), params=params)
        assert response.status_code == 200
        pages.append(response.json()["items"])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
        params = {"limit": limit, "cursor": cursor}

    assert [len(page) for page in pages] == sizes
    assert [item for page in pages for item in page] == stored


async def test_files_list_defaults_to_pages_of_100(user: UserApi, chat_id: str) -> None:
    parts = [Part(f"n{index:03}", b"") for index in range(101)]
    assert (await upload(user, chat_id, *parts)).status_code == 201

    response = await user.get(files_url(chat_id))

    assert len(response.json()["items"]) == 100
    assert response.json()["next_cursor"] is not None


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"limit": 0}, id="limit-0"),
        pytest.param({"limit": 1001}, id="limit-1001"),
        pytest.param({"limit": "x"}, id="limit-not-an-int"),
        pytest.param({"cursor": "garbage"}, id="cursor-garbage"),
    ],
)
async def test_bad_files_paging_parameter_is_a_validation_error(
    user: UserApi, chat_id: str, params: dict[str, str | int]
) -> None:
    response = await user.get(files_url(chat_id), params=params)

    assert_problem(response, 422, "validation_error")


async def test_get_file_answers_its_record(user: UserApi, chat_id: str) -> None:
    item = await upload_file(user, chat_id, "a.txt", b"abc")

    response = await user.get(f"{files_url(chat_id)}/{item['file_id']}")

    assert response.status_code == 200
    assert response.json() == item


async def test_file_of_another_chat_is_not_found_through_this_chat(
    user: UserApi, chat_id: str
) -> None:
    other = (await user.post("/v1/chats")).json()["chat_id"]
    item = await upload_file(user, other, "a.txt", b"abc")

    response = await user.get(f"{files_url(chat_id)}/{item['file_id']}")
    content = await user.get(f"{files_url(chat_id)}/{item['file_id']}/content")
    deleted = await user.delete(f"{files_url(chat_id)}/{item['file_id']}")

    assert_problem(response, 404, "chat_file_not_found")
    assert_problem(content, 404, "chat_file_not_found")
    assert_problem(deleted, 404, "chat_file_not_found")
    assert (await user.get(f"{files_url(other)}/{item['file_id']}")).status_code == 200


async def test_file_of_another_user_answers_like_a_file_that_does_not_exist(
    user: UserApi, chat_id: str, other_user: UserApi
) -> None:
    theirs = (await other_user.post("/v1/chats")).json()["chat_id"]
    item = await upload_file(other_user, theirs, "a.txt", b"abc")

    via_my_chat = await user.get(f"{files_url(chat_id)}/{item['file_id']}")
    via_their_chat = await user.get(f"{files_url(theirs)}/{item['file_id']}")

    assert_problem(via_my_chat, 404, "chat_file_not_found")
    assert_problem(via_their_chat, 404, "chat_not_found")


async def test_delete_file_answers_204_then_404(
    user: UserApi, chat_id: str, chat_path: Path
) -> None:
    kept = await upload_file(user, chat_id, "kept.txt", b"k" * 10)
    item = await upload_file(user, chat_id, "gone.txt", b"g" * 100)
    url = f"{files_url(chat_id)}/{item['file_id']}"

    deleted = await user.delete(url)

    assert deleted.status_code == 204
    assert deleted.content == b""
    assert_problem(await user.get(url), 404, "chat_file_not_found")
    assert_problem(await user.get(f"{url}/content"), 404, "chat_file_not_found")
    assert_problem(await user.delete(url), 404, "chat_file_not_found")
    assert not (chat_path / "gone.txt").exists()
    assert await list_files(user, chat_id) == [kept]
    assert await used_bytes(user) == 10


async def test_delete_all_files_keeps_the_history(
    user: UserApi, chat_id: str, chat_path: Path
) -> None:
    await put_history(user, chat_id, b"# keep me\n")
    first = await upload_file(user, chat_id, "a.txt", b"a" * 100)
    await upload_file(user, chat_id, "b.txt", b"b" * 200)

    response = await user.delete(files_url(chat_id))

    assert response.status_code == 204
    assert response.content == b""
    assert await list_files(user, chat_id) == []
    assert directory_state(chat_path) == {"history.md": b"# keep me\n"}
    history = await user.get(f"/v1/chats/{chat_id}/history")
    assert history.content == b"# keep me\n"
    assert await used_bytes(user) == 10
    assert_problem(
        await user.get(f"{files_url(chat_id)}/{first['file_id']}"), 404, "chat_file_not_found"
    )


async def test_delete_all_files_of_an_empty_chat_answers_204(user: UserApi, chat_id: str) -> None:
    response = await user.delete(files_url(chat_id))

    assert response.status_code == 204


async def test_concurrent_uploads_that_together_pass_the_quota_store_only_one(
    user: UserApi, chat_id: str, data_dir: Path
) -> None:
    def request(tag: str) -> list[Part]:
        return [Part(f"{tag}-{index}.bin", b"c" * (200 * 1024)) for index in range(3)]

    responses = await asyncio.gather(
        upload(user, chat_id, *request("one")), upload(user, chat_id, *request("two"))
    )

    assert sorted(response.status_code for response in responses) == [201, 507]
    (stored,) = [response for response in responses if response.status_code == 201]
    assert {item["name"] for item in await list_files(user, chat_id)} == {
        item["name"] for item in stored.json()["items"]
    }
    assert await used_bytes(user) == 3 * 200 * 1024
    assert staging_entries(data_dir) == []


async def test_concurrent_same_name_uploads_leave_one_record_matching_the_bytes(
    user: UserApi, chat_id: str, chat_path: Path
) -> None:
    bodies = [bytes([index]) * (1000 + index) for index in range(5)]

    responses = await asyncio.gather(
        *(upload(user, chat_id, Part("same.bin", body)) for body in bodies)
    )

    assert [response.status_code for response in responses] == [201] * 5
    (record,) = await list_files(user, chat_id)
    on_disk = (chat_path / "same.bin").read_bytes()
    assert record["sha256"] == sha256(on_disk)
    assert record["size_bytes"] == len(on_disk)
    assert await used_bytes(user) == len(on_disk)
