"""Naive FastAPI: the first thing the tutorials show, with no checks at all.

The upload takes an `UploadFile` (which Starlette spools to a temporary file) and copies it
to the target with `shutil.copyfileobj`; downloads and the 4 KiB history GET use
`FileResponse`; the history PUT writes the file in place. Files live in the directory named
by `BENCH_PEER_DIR`.
"""

import os
import shutil
from pathlib import Path

from fastapi import FastAPI, Request, Response, UploadFile
from fastapi.responses import FileResponse

ROOT = Path(os.environ.get("BENCH_PEER_DIR", "."))

app = FastAPI()


@app.post("/upload/{name}")
async def upload(name: str, file: UploadFile) -> dict[str, str]:
    with (ROOT / name).open("wb") as out:
        shutil.copyfileobj(file.file, out)
    return {"name": name}


@app.get("/files/{name}")
async def download(name: str) -> FileResponse:
    return FileResponse(ROOT / name)


@app.get("/history")
async def get_history() -> FileResponse:
    return FileResponse(ROOT / "history.md", media_type="text/markdown")


@app.put("/history", status_code=204)
async def put_history(request: Request) -> Response:
    (ROOT / "history.md").write_bytes(await request.body())
    return Response(status_code=204)


@app.get("/healthz")
async def healthz() -> str:
    return "ok"
