"""RFC 2046 framing an upload may carry (api.md v1.1): a preamble before the first
boundary, transport padding after a boundary and an epilogue after the last are accepted
and ignored; a preamble past its bound is refused and stores nothing."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from api.multipart import MultipartStream
from test.api.conftest import (
    BOUNDARY,
    MULTIPART_HEADERS,
    Json,
    UserApi,
    assert_problem,
    list_files,
    sha256,
    unchanged,
)

pytestmark = pytest.mark.anyio


def framed_body(preamble: bytes, padding: bytes, epilogue: bytes) -> bytes:
    dash = b"--" + BOUNDARY.encode()
    parts = [
        (b'form-data; name="file"; filename="one.txt"', b"first"),
        (b'form-data; name="note"', b"a field"),
        (b'form-data; name="file"; filename="two.bin"', b"\r\n--not the boundary\r\n"),
    ]
    out = preamble + b"\r\n"
    for disposition, data in parts:
        out += dash + padding + b"\r\nContent-Disposition: " + disposition + b"\r\n\r\n"
        out += data + b"\r\n"
    return out + dash + b"--" + padding + b"\r\n" + epilogue


FRAMED = framed_body(
    b"This is the preamble. It is to be ignored.",
    b" \t ",
    b"This is the epilogue.\r\n--" + BOUNDARY.encode() + b"\r\nnot a part either",
)


async def in_chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for offset in range(0, len(data), size):
        yield data[offset : offset + size]


@pytest.mark.parametrize("chunk_size", [7, len(FRAMED)], ids=["chunks-of-7", "one-chunk"])
async def test_preamble_padding_and_epilogue_are_accepted_and_ignored(
    user: UserApi, chat_id: str, chat_path: Path, chunk_size: int
) -> None:
    response = await user.client.post(
        f"/v1/chats/{chat_id}/files",
        headers={"X-User-Id": str(user.user_id), **MULTIPART_HEADERS},
        content=in_chunks(FRAMED, chunk_size),
    )

    assert response.status_code == 201, response.text
    items = response.json()["items"]
    assert [(item["name"], item["sha256"]) for item in items] == [
        ("one.txt", sha256(b"first")),
        ("two.bin", sha256(b"\r\n--not the boundary\r\n")),
    ]
    assert sorted(item["name"] for item in await list_files(user, chat_id)) == [
        "one.txt",
        "two.bin",
    ]
    assert (chat_path / "two.bin").read_bytes() == b"\r\n--not the boundary\r\n"


async def test_preamble_past_its_bound_is_refused_and_leaves_no_trace(
    user: UserApi, chat: Json, chat_id: str, data_dir: Path
) -> None:
    body = framed_body(b"p" * MultipartStream.MAX_PREAMBLE_BYTES, b"", b"")

    async with unchanged(user, chat, data_dir):
        response = await user.post(
            f"/v1/chats/{chat_id}/files", content=body, headers=MULTIPART_HEADERS
        )

    problem = assert_problem(response, 422, "validation_error")
    assert f"{MultipartStream.MAX_PREAMBLE_BYTES} bytes" in problem["detail"]
