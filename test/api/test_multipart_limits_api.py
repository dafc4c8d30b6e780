"""A crafted multipart body cannot make the parser hold much in memory or work long: part
count, header count, header size and form-field size are bounded, and going past any of
them is a validation error that stores nothing."""

import pytest

from api.multipart import MultipartStream
from test.api.conftest import (
    BOUNDARY,
    MULTIPART_HEADERS,
    Part,
    UserApi,
    assert_problem,
    multipart_body,
    upload,
)

pytestmark = pytest.mark.anyio


def with_extra_headers(count: int, value: bytes = b"x") -> bytes:
    """One file part carrying `count` extra headers besides its Content-Disposition."""
    head = b"--" + BOUNDARY.encode() + b"\r\n"
    head += b'Content-Disposition: form-data; name="file"; filename="a.txt"\r\n'
    head += b"".join(b"X-Extra-%d: " % index + value + b"\r\n" for index in range(count))
    return head + b"\r\ndata\r\n--" + BOUNDARY.encode() + b"--\r\n"


async def assert_refused_leaving_nothing(
    user: UserApi, chat_id: str, body: bytes, detail: str
) -> None:
    response = await user.post(
        f"/v1/chats/{chat_id}/files", content=body, headers=MULTIPART_HEADERS
    )

    problem = assert_problem(response, 422, "validation_error")
    assert detail in problem["detail"]
    listed = await user.get(f"/v1/chats/{chat_id}/files")
    assert listed.json()["items"] == []
    usage = await user.get("/v1/workspace/usage")
    assert usage.json()["used_bytes"] == 0


async def test_more_parts_than_the_limit_are_refused(user: UserApi, chat_id: str) -> None:
    fields = [Part(None, b"n", None, name="note") for _ in range(MultipartStream.MAX_PARTS)]
    body = multipart_body(Part("a.txt", b"kept?"), *fields)

    await assert_refused_leaving_nothing(
        user, chat_id, body, f"more than {MultipartStream.MAX_PARTS} parts"
    )


async def test_as_many_parts_as_the_limit_are_served(user: UserApi, chat_id: str) -> None:
    fields = [Part(None, b"n", None, name="note") for _ in range(MultipartStream.MAX_PARTS - 1)]

    response = await upload(user, chat_id, Part("a.txt", b"kept"), *fields)

    assert response.status_code == 201


async def test_more_headers_in_a_part_than_the_limit_are_refused(
    user: UserApi, chat_id: str
) -> None:
    body = with_extra_headers(MultipartStream.MAX_HEADER_COUNT)

    await assert_refused_leaving_nothing(user, chat_id, body, "header")


async def test_a_header_larger_than_the_limit_is_refused(user: UserApi, chat_id: str) -> None:
    body = with_extra_headers(1, b"v" * MultipartStream.MAX_HEADER_BYTES)

    await assert_refused_leaving_nothing(user, chat_id, body, "header")


async def test_a_form_field_larger_than_the_limit_is_refused(user: UserApi, chat_id: str) -> None:
    field = Part(None, b"f" * (MultipartStream.MAX_FIELD_BYTES + 1), None, name="note")
    body = multipart_body(Part("a.txt", b"kept?"), field)

    await assert_refused_leaving_nothing(
        user, chat_id, body, f"larger than {MultipartStream.MAX_FIELD_BYTES} bytes"
    )
