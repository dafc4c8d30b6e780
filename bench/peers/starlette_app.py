"""Bare Starlette: what a careful engineer writes without chatstore's checks.

The upload streams the multipart body through python-multipart's push parser straight into
the target file while hashing it (sha256), as chatstore does, but without fsync, staging or
any metadata. Downloads and the 4 KiB history GET use `FileResponse`; the history PUT
writes the file in place. Files live in the directory named by `BENCH_PEER_DIR`.
"""

import hashlib
import os
from pathlib import Path
from typing import BinaryIO

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

ROOT = Path(os.environ.get("BENCH_PEER_DIR", "."))


class _FileSink:
    """Receives the parser's callbacks: the bytes of the part named `file` go to `out`."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.digest = hashlib.sha256()
        self.size = 0

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        self.out.write(chunk)
        self.digest.update(chunk)
        self.size += len(chunk)


async def upload(request: Request) -> Response:
    name = request.path_params["name"]
    _, params = parse_options_header(request.headers["content-type"])
    with (ROOT / name).open("wb") as out:
        sink = _FileSink(out)
        parser = MultipartParser(params[b"boundary"], {"on_part_data": sink.on_part_data})
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    return JSONResponse({"name": name, "size": sink.size, "sha256": sink.digest.hexdigest()})


async def download(request: Request) -> Response:
    return FileResponse(ROOT / request.path_params["name"])


async def get_history(_request: Request) -> Response:
    return FileResponse(ROOT / "history.md", media_type="text/markdown")


async def put_history(request: Request) -> Response:
    (ROOT / "history.md").write_bytes(await request.body())
    return Response(status_code=204)


async def healthz(_request: Request) -> Response:
    return Response("ok")


app = Starlette(
    routes=[
        Route("/upload/{name}", upload, methods=["POST"]),
        Route("/files/{name}", download, methods=["GET"]),
        Route("/history", get_history, methods=["GET"]),
        Route("/history", put_history, methods=["PUT"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
)
