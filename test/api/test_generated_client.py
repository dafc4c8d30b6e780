"""A client generated from the app's own OpenAPI description gets every operation, typed
(api.md, Operations, v1.1).

openapi-python-client runs once per module, from the description of an app built by
`create_app`, written to a file (it reads no network). It must warn about nothing: a
warning means an operation it skipped or a response or body type it could not read. The
generated package is then imported and drives the app in process."""

import importlib
import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import uuid4

import httpx
import pytest

from test.api.conftest import Json, make_settings, openapi_description, running_app
from test.archives import ChatSpec, FileSpec, export_archive

pytestmark = pytest.mark.client_generation

PACKAGE = "chatstore_generated_client"
TOKEN = "generated-client-token"
GENERATOR = Path(sys.executable).with_name("openapi-python-client")
# Generating takes about a second; the machine may be busy.
GENERATOR_TIMEOUT_SECONDS = 300


@dataclass(frozen=True, slots=True)
class Generated:
    description: Json
    package_dir: Path
    exit_code: int
    output: str


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    work = tmp_path_factory.mktemp("generated-client")
    description = openapi_description(work / "data")
    description_path = work / "openapi.json"
    description_path.write_text(json.dumps(description))
    config_path = work / "config.json"
    # No post hooks: the generator would otherwise run ruff over its output. The import's
    # body is `application/zip`, which the generator sends as bytes once told it is binary
    # (its documented knob for vendor types; ADR 0025).
    config = {
        "post_hooks": [],
        "package_name_override": PACKAGE,
        "content_type_overrides": {"application/zip": "application/octet-stream"},
    }
    config_path.write_text(json.dumps(config))
    package_dir = work / "src" / PACKAGE
    result = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(description_path),
            "--output-path",
            str(package_dir),
            "--meta",
            "none",
            "--config",
            str(config_path),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=GENERATOR_TIMEOUT_SECONDS,
        check=False,
        cwd=work,
        env={**os.environ, "NO_COLOR": "1"},
    )
    return Generated(description, package_dir, result.returncode, result.stdout + result.stderr)


def operation_ids(description: Json) -> set[str]:
    return {
        operation["operationId"]
        for item in description["paths"].values()
        for operation in item.values()
    }


def operation_modules(package_dir: Path) -> dict[str, Path]:
    return {
        path.stem: path for path in (package_dir / "api").glob("*/*.py") if path.stem != "__init__"
    }


def test_generator_warns_about_nothing(generated: Generated) -> None:
    assert generated.exit_code == 0, generated.output
    for sign in ("Warning", "WARNING", "Unsupported", "will not be generated", "omitted"):
        assert sign not in generated.output, generated.output


def test_generated_client_has_a_module_for_every_operation(generated: Generated) -> None:
    modules = operation_modules(generated.package_dir)

    assert set(modules) == operation_ids(generated.description)
    assert len(modules) >= 23
    for path in modules.values():
        source = path.read_text()
        for function in ("sync_detailed", "sync", "asyncio_detailed", "asyncio"):
            assert f"def {function}(" in source, (path.name, function)


def test_generated_client_reads_every_documented_status(generated: Generated) -> None:
    modules = operation_modules(generated.package_dir)

    for item in generated.description["paths"].values():
        for operation in item.values():
            source = modules[operation["operationId"]].read_text()
            parsed = {int(code) for code in re.findall(r"response\.status_code == (\d+)", source)}
            documented = {int(status) for status in operation["responses"]}
            assert parsed == documented, operation["operationId"]


@pytest.fixture(scope="module")
def client_package(generated: Generated) -> Iterator[ModuleType]:
    assert generated.exit_code == 0, generated.output
    sys.path.insert(0, str(generated.package_dir.parent))
    importlib.invalidate_caches()
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(generated.package_dir.parent))
        for name in [name for name in sys.modules if name.partition(".")[0] == PACKAGE]:
            del sys.modules[name]


@dataclass(frozen=True, slots=True)
class GeneratedApi:
    """The generated package's modules, and a client of the app in process."""

    package: ModuleType
    client: Any

    def operation(self, tag: str, operation_id: str) -> Any:
        return importlib.import_module(f"{self.package.__name__}.api.{tag}.{operation_id}")

    def model(self, name: str) -> Any:
        return getattr(importlib.import_module(f"{self.package.__name__}.models"), name)

    def file(
        self, payload: BytesIO | bytes, name: str | None = None, mime_type: str | None = None
    ) -> Any:
        types = importlib.import_module(f"{self.package.__name__}.types")
        return types.File(payload=payload, file_name=name, mime_type=mime_type)


@pytest.fixture
async def generated_api(
    client_package: ModuleType, tmp_path: Path, anyio_backend: str
) -> AsyncIterator[GeneratedApi]:
    settings = make_settings(tmp_path / "data", gateway_token=TOKEN)
    async with running_app(settings) as app:
        client_module = importlib.import_module(f"{client_package.__name__}.client")
        client = client_module.AuthenticatedClient(
            base_url="http://testserver",
            token=TOKEN,
            headers={"X-User-Id": str(uuid4())},
            httpx_args={"transport": httpx.ASGITransport(app=app)},
        )
        async with client:
            yield GeneratedApi(client_package, client)


@pytest.mark.anyio
async def test_generated_client_drives_the_service(generated_api: GeneratedApi) -> None:
    api = generated_api
    client = api.client

    workspace = await api.operation("workspace", "ensure_workspace").asyncio_detailed(client=client)
    assert workspace.status_code == 201
    assert workspace.parsed.created_at.tzinfo is not None

    created = await api.operation("chats", "create_chat").asyncio_detailed(client=client)
    chat_id = created.parsed.chat_id
    assert created.headers["Location"] == f"/v1/chats/{chat_id}"

    # The generated code sends `File.payload` as the body; httpx's AsyncClient refuses a
    # synchronous file object there, so an async caller hands it bytes.
    markdown = "# Hello «world»\n".encode()
    put = await api.operation("history", "put_history").asyncio_detailed(
        chat_id, client=client, body=api.file(markdown)
    )
    assert put.status_code == 204
    history = await api.operation("history", "get_history").asyncio_detailed(chat_id, client=client)
    assert history.parsed == "# Hello «world»\n"
    assert history.headers["ETag"] == put.headers["ETag"]

    body = api.model("UploadFilesBody")(
        file=[
            api.file(BytesIO(b"0123456789"), "notes.txt", "text/plain"),
            api.file(BytesIO(b"\x00\x01"), "raw"),
        ]
    )
    uploaded = await api.operation("files", "upload_files").asyncio(
        chat_id, client=client, body=body
    )
    assert [item.name for item in uploaded.items] == ["notes.txt", "raw"]
    file_id = uploaded.items[0].file_id

    download = api.operation("files", "download_file_content")
    whole = await download.asyncio(chat_id, file_id, client=client)
    assert whole.payload.read() == b"0123456789"
    part = await download.asyncio_detailed(chat_id, file_id, client=client, range_="bytes=2-4")
    assert part.status_code == 206
    assert part.parsed.payload.read() == b"234"
    assert part.headers["Content-Range"] == "bytes 2-4/10"

    session = await api.operation("sandbox_sessions", "start_session").asyncio(
        chat_id, client=client
    )
    assert session.expires_at > session.started_at
    longer = api.model("SandboxSessionRequest")(ttl_seconds=7200)
    beat = await api.operation("sandbox_sessions", "heartbeat_session").asyncio(
        chat_id, session.session_id, client=client, body=longer
    )
    assert beat.session_id == session.session_id
    ended = await api.operation("sandbox_sessions", "end_session").asyncio_detailed(
        chat_id, session.session_id, client=client
    )
    assert ended.status_code == 204

    missing = await api.operation("chats", "get_chat").asyncio(uuid4(), client=client)
    assert missing.code == "chat_not_found"


@pytest.mark.anyio
async def test_generated_client_imports_an_archive(generated_api: GeneratedApi) -> None:
    api = generated_api
    client = api.client
    await api.operation("workspace", "ensure_workspace").asyncio_detailed(client=client)
    chat = ChatSpec(b"# imported\n", [FileSpec("notes.txt", b"n")], title="From elsewhere")

    imported = await api.operation("chats", "import_chats").asyncio_detailed(
        client=client, body=api.file(export_archive([chat]), mime_type="application/zip")
    )

    assert imported.status_code == 201, imported.content
    (made,) = imported.parsed.items
    assert made.title == "From elsewhere"
    refused = await api.operation("chats", "import_chats").asyncio(
        client=client, body=api.file(b"not a zip")
    )
    assert refused.code == "invalid_archive"
