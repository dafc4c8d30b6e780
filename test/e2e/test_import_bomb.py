"""A zip bomb sent to a real server (api.md `POST /v1/chats/import`: "a zip bomb costs the
service no more than the bytes it declares"): a member declaring 1 KiB whose deflate
stream inflates to 1 GiB is refused in well under a second, and the server's peak
resident memory barely moves."""

import time
import zlib

import httpx
import pytest

from test.archives import (
    ChatSpec,
    FileSpec,
    RawEntry,
    deflated_zeros,
    manifest_bytes,
    manifest_of,
    raw_zip,
    stored,
)
from test.e2e.client import assert_no_leftovers, assert_problem, json_of, new_user
from test.e2e.forks import chat_ids
from test.e2e.server import RunningServer

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024


def bomb(declared: bytes, inflated_mib: int) -> bytes:
    spec = ChatSpec(b"# bomb\n", [FileSpec("zeros.bin", declared)])
    member = RawEntry(
        spec.file_path(spec.files[0]).encode(),
        deflated_zeros(inflated_mib),
        len(declared),
        zlib.crc32(declared),
        method=8,
    )
    return raw_zip(
        [
            stored(spec.history_path(), spec.history),
            member,
            stored("manifest.json", manifest_bytes(manifest_of([spec]))),
        ]
    )


def test_a_zip_bomb_is_refused_at_once_without_memory(
    server: RunningServer, http: httpx.Client
) -> None:
    headers = new_user(http)
    body = bomb(bytes(1024), inflated_mib=1024)
    server.reset_peak_rss()
    before = server.peak_rss_bytes()

    started = time.monotonic()
    answer = http.post("/v1/chats/import", headers=headers, content=body)
    elapsed = time.monotonic() - started

    assert_problem(answer, 422, "invalid_archive")
    assert "inflates past the 1024 bytes" in answer.json()["detail"]
    assert elapsed < 1.0
    assert server.peak_rss_bytes() - before < 32 * MIB  # inflated whole it were 1 GiB
    assert chat_ids(http, headers) == set()
    assert json_of(http.get("/v1/workspace/usage", headers=headers))["used_bytes"] == 0
    assert_no_leftovers(server.data_dir)
