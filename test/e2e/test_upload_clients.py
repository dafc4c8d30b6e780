"""Uploads from real clients over a real socket to a real server (api.md v1.1, "Attachment
names on the wire"): each client's encoding of a name comes back as the name itself, in
the list and in the download's Content-Disposition, with the bytes intact."""

import json
import shutil
import socket
import subprocess
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import pytest

from test.content_disposition import name_in_content_disposition
from test.e2e.client import new_chat, new_user, sha256
from test.e2e.server import RunningServer

pytestmark = pytest.mark.e2e

SAY_HI = 'say "hi".txt'
BOUNDARY = "e2e-framing-boundary"


@pytest.fixture
def user(http: httpx.Client) -> dict[str, str]:
    return new_user(http)


@pytest.fixture
def chat_id(http: httpx.Client, user: dict[str, str]) -> str:
    return new_chat(http, user)


def assert_stored(
    http: httpx.Client, user: dict[str, str], chat_id: str, expected: dict[str, bytes]
) -> None:
    """The chat holds exactly these attachments, each listed under its name and downloaded
    with its bytes and a Content-Disposition that names it."""
    listed = http.get(f"/v1/chats/{chat_id}/files", headers=user).json()["items"]
    assert sorted(item["name"] for item in listed) == sorted(expected)
    for item in listed:
        data = expected[item["name"]]
        assert item["sha256"] == sha256(data)
        url = f"/v1/chats/{chat_id}/files/{item['file_id']}/content"
        download = http.get(url, headers=user)
        assert download.status_code == 200
        assert download.content == data
        assert name_in_content_disposition(download.headers["content-disposition"]) == item["name"]


def test_httpx_files_upload_of_a_name_with_quotes_round_trips(
    http: httpx.Client, user: dict[str, str], chat_id: str
) -> None:
    response = http.post(
        f"/v1/chats/{chat_id}/files",
        headers=user,
        files=[("file", (SAY_HI, b"from httpx\n", "text/plain"))],
    )

    assert response.status_code == 201, response.text
    assert [item["name"] for item in response.json()["items"]] == [SAY_HI]
    assert_stored(http, user, chat_id, {SAY_HI: b"from httpx\n"})


def curl_upload(
    server: RunningServer, user: dict[str, str], chat_id: str, *forms: str
) -> tuple[int, dict[str, object]]:
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed on this machine")
    command = [curl, "-sS", "-o", "-", "-w", "\n%{http_code}"]
    command += [arg for form in forms for arg in ("-F", form)]
    command += ["-H", f"X-User-Id: {user['X-User-Id']}"]
    command.append(f"{server.base_url}/v1/chats/{chat_id}/files")
    done = subprocess.run(command, capture_output=True, check=True, timeout=30)
    body, _, status = done.stdout.decode().rpartition("\n")
    return int(status), json.loads(body)


def test_curl_upload_of_a_name_with_quotes_round_trips(
    server: RunningServer, http: httpx.Client, user: dict[str, str], chat_id: str, tmp_path: Path
) -> None:
    path = tmp_path / "upload.txt"
    path.write_bytes(b"from curl\n")

    status, body = curl_upload(server, user, chat_id, f"file=@{path};filename={SAY_HI}")

    assert status == 201, body
    assert_stored(http, user, chat_id, {SAY_HI: b"from curl\n"})


def test_curl_upload_naming_one_file_twice_is_a_duplicate_and_stores_nothing(
    server: RunningServer, http: httpx.Client, user: dict[str, str], chat_id: str, tmp_path: Path
) -> None:
    path = tmp_path / "upload.txt"
    path.write_bytes(b"twice")
    form = f"file=@{path};filename=twice.txt"

    status, body = curl_upload(server, user, chat_id, form, form)

    assert (status, body["code"]) == (422, "duplicate_attachment_name")
    assert_stored(http, user, chat_id, {})


def raw_post(server: RunningServer, target: str, headers: dict[str, str], body: bytes) -> bytes:
    """One HTTP/1.1 request written byte for byte on a socket; the whole answer."""
    address = urlsplit(server.base_url)
    assert address.hostname is not None
    assert address.port is not None
    head = f"POST {target} HTTP/1.1\r\nHost: {address.netloc}\r\nConnection: close\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    head += f"Content-Length: {len(body)}\r\n\r\n"
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        sock.sendall(head.encode() + body)
        answer = bytearray()
        while chunk := sock.recv(65536):
            answer += chunk
    return bytes(answer)


def test_raw_request_with_preamble_padding_and_epilogue_is_accepted(
    server: RunningServer, http: httpx.Client, user: dict[str, str], chat_id: str
) -> None:
    dash = f"--{BOUNDARY}".encode()
    body = (
        b"This is the preamble; a client that is not MIME-aware shows it.\r\n"
        + dash
        + b" \t \r\n"
        + b'Content-Disposition: form-data; name="file"; filename="one.txt"\r\n'
        + b"Content-Type: text/plain\r\n\r\n"
        + b"first part\r\n"
        + dash
        + b"\t\r\n"
        + b'Content-Disposition: form-data; name="file"; filename="two.bin"\r\n\r\n'
        + b"\x00\r\n--e2e-framing-boundar\xff\r\n"
        + dash
        + b"--  \r\n"
        + b"This is the epilogue.\r\n"
        + dash
        + b"\r\nnot a part\r\n"
    )

    answer = raw_post(
        server,
        f"/v1/chats/{chat_id}/files",
        {**user, "Content-Type": f'multipart/form-data; boundary="{BOUNDARY}"'},
        body,
    )

    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 201 "), answer
    names = [item["name"] for item in json.loads(payload)["items"]]
    assert names == ["one.txt", "two.bin"]
    assert_stored(
        http,
        user,
        chat_id,
        {"one.txt": b"first part", "two.bin": b"\x00\r\n--e2e-framing-boundar\xff"},
    )


def upload_with_disposition(
    http: httpx.Client, user: dict[str, str], chat_id: str, disposition: bytes, data: bytes
) -> httpx.Response:
    dash = f"--{BOUNDARY}".encode()
    body = dash + b"\r\nContent-Disposition: " + disposition + b"\r\n\r\n" + data + b"\r\n"
    return http.post(
        f"/v1/chats/{chat_id}/files",
        headers={**user, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        content=body + dash + b"--\r\n",
    )


def test_quoted_pair_name_round_trips(
    http: httpx.Client, user: dict[str, str], chat_id: str
) -> None:
    disposition = b'form-data; name="file"; filename="say \\"hi\\"; twice.txt"'

    response = upload_with_disposition(http, user, chat_id, disposition, b"quoted")

    assert response.status_code == 201, response.text
    assert_stored(http, user, chat_id, {'say "hi"; twice.txt': b"quoted"})


def test_filename_star_name_with_non_ascii_characters_round_trips(
    http: httpx.Client, user: dict[str, str], chat_id: str
) -> None:
    name = "Résumé 履歴書 📄 (final).pdf"
    disposition = (
        f"form-data; name=file; filename=\"fallback.pdf\"; filename*=utf-8''{quote(name, safe='')}"
    )

    response = upload_with_disposition(http, user, chat_id, disposition.encode(), b"%PDF-1.7")

    assert response.status_code == 201, response.text
    assert_stored(http, user, chat_id, {name: b"%PDF-1.7"})
