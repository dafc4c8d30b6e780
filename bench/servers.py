"""The five servers under test, each behind one small interface the jobs drive.

Every server listens on 127.0.0.1 on a free port, runs as one worker process pinned to the
server core, and keeps its files in its own directory under the run's work directory.
"""

import json
import os
import secrets
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.clients import sha256_file
from bench.payloads import MIB, Payload, jupyter_text_model
from bench.procs import Fleet, Server, free_port, pinned

REPO = Path(__file__).resolve().parent.parent
GIB = 1024 * MIB


@dataclass
class Peer:
    """One server under test. Subclasses say how to upload, download and touch the history."""

    key: str
    label: str
    server: Server
    root: Path  # where the server keeps the files it stores

    def upload_args(self, payload: Payload, name: str) -> list[str]:
        raise NotImplementedError

    def check_upload(self, payload: Payload, name: str, answer: bytes) -> None:
        """Raise unless the server stored exactly the payload's bytes."""
        _ = answer
        digest = sha256_file(self.stored_path(name))
        if digest != payload.sha256:
            raise RuntimeError(f"{self.label} stored {name} with sha256 {digest}, not the payload")

    def stored_path(self, name: str) -> Path:
        return self.root / name

    def download_args(self, name: str) -> list[str]:
        raise NotImplementedError

    # S1 and S2: the 4 KiB history.
    def history_url(self) -> str:
        raise NotImplementedError

    def headers(self) -> dict[str, str]:
        return {}

    def history_put_body(self, text: str) -> str:
        """The request body that stores `text` as the history."""
        return text

    def history_get_text(self, client: httpx.Client) -> str:
        """The history as a client of S1 receives it."""
        answer = client.get(self.history_url(), headers=self.headers())
        answer.raise_for_status()
        return answer.text

    def put_history(self, client: httpx.Client, text: str) -> None:
        answer = client.put(
            self.history_url(), content=self.history_put_body(text), headers=self.headers()
        )
        answer.raise_for_status()

    def stored_history(self, client: httpx.Client) -> bytes:
        _ = client
        return (self.root / "history.md").read_bytes()


def _curl_headers(headers: dict[str, str]) -> list[str]:
    return [arg for key, value in headers.items() for arg in ("-H", f"{key}: {value}")]


@dataclass
class Chatstore(Peer):
    user_id: str = ""
    chat_id: str = ""
    workspace_id: str = ""
    file_ids: dict[str, str] = field(default_factory=dict)

    def headers(self) -> dict[str, str]:
        return {"X-User-Id": self.user_id}

    def prepare(self, client: httpx.Client) -> None:
        self.user_id = str(uuid.uuid4())
        workspace = client.put(f"{self.server.base_url}/v1/workspace", headers=self.headers())
        workspace.raise_for_status()
        self.workspace_id = workspace.json()["workspace_id"]
        chat = client.post(f"{self.server.base_url}/v1/chats", headers=self.headers())
        chat.raise_for_status()
        self.chat_id = chat.json()["chat_id"]

    @property
    def chat_url(self) -> str:
        return f"{self.server.base_url}/v1/chats/{self.chat_id}"

    def upload_args(self, payload: Payload, name: str) -> list[str]:
        return [
            *_curl_headers(self.headers()),
            "-F",
            f"file=@{payload.path};filename={name};type=application/octet-stream",
            f"{self.chat_url}/files",
        ]

    def check_upload(self, payload: Payload, name: str, answer: bytes) -> None:
        (item,) = json.loads(answer)["items"]
        if item["sha256"] != payload.sha256 or item["size_bytes"] != payload.size:
            raise RuntimeError(f"chatstore answered {item} for {name}, not the payload")
        self.file_ids[name] = item["file_id"]
        super().check_upload(payload, name, answer)

    def stored_path(self, name: str) -> Path:
        return self.root / "workspaces" / self.workspace_id / "chats" / self.chat_id / name

    def download_args(self, name: str) -> list[str]:
        return [
            *_curl_headers(self.headers()),
            f"{self.chat_url}/files/{self.file_ids[name]}/content",
        ]

    def history_url(self) -> str:
        return f"{self.chat_url}/history"

    def stored_history(self, client: httpx.Client) -> bytes:
        _ = client
        return self.stored_path("history.md").read_bytes()


@dataclass
class Nginx(Peer):
    def upload_args(self, payload: Payload, name: str) -> list[str]:
        return ["-T", str(payload.path), f"{self.server.base_url}/{name}"]

    def download_args(self, name: str) -> list[str]:
        return [f"{self.server.base_url}/{name}"]

    def history_url(self) -> str:
        return f"{self.server.base_url}/history.md"


@dataclass
class Jupyter(Peer):
    token: str = ""

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def upload_args(self, payload: Payload, name: str) -> list[str]:
        return [
            *_curl_headers({**self.headers(), "Content-Type": "application/json"}),
            "-T",
            str(payload.jupyter_json()),
            f"{self.server.base_url}/api/contents/{name}",
        ]

    def download_args(self, name: str) -> list[str]:
        return [*_curl_headers(self.headers()), f"{self.server.base_url}/files/{name}"]

    def history_url(self) -> str:
        return f"{self.server.base_url}/api/contents/history.md"

    def history_put_body(self, text: str) -> str:
        return jupyter_text_model(text)

    def history_get_text(self, client: httpx.Client) -> str:
        answer = client.get(self.history_url(), headers=self.headers())
        answer.raise_for_status()
        content: str = answer.json()["content"]
        return content


@dataclass
class UvicornPeer(Peer):
    """Bare Starlette and naive FastAPI share their routes' shape."""

    def upload_args(self, payload: Payload, name: str) -> list[str]:
        return [
            "-F",
            f"file=@{payload.path};filename={name};type=application/octet-stream",
            f"{self.server.base_url}/upload/{name}",
        ]

    def check_upload(self, payload: Payload, name: str, answer: bytes) -> None:
        reported = json.loads(answer).get("sha256")
        if reported is not None and reported != payload.sha256:
            raise RuntimeError(f"{self.label} hashed {name} as {reported}, not the payload")
        super().check_upload(payload, name, answer)

    def download_args(self, name: str) -> list[str]:
        return [f"{self.server.base_url}/files/{name}"]

    def history_url(self) -> str:
        return f"{self.server.base_url}/history"


@dataclass(frozen=True)
class Tools:
    """Where the bench's own environments live."""

    server_python: Path
    jupyter_bin: Path
    core: int  # the server core
    chatstore_dir: Path = REPO  # where `python -m api` runs: another checkout for an A/B


def start_chatstore(
    fleet: Fleet,
    tools: Tools,
    work: Path,
    name: str = "chatstore",
    *,
    source: Path | None = None,
    label: str = "chatstore",
) -> Chatstore:
    """chatstore as `make run` starts it, from `source` (default: `tools.chatstore_dir`)."""
    data = work / name
    data.mkdir()
    port = free_port()
    env = {
        "CHATSTORE_DATA_DIR": str(data),
        "CHATSTORE_HOST": "127.0.0.1",
        "CHATSTORE_PORT": str(port),
        "CHATSTORE_MAX_FILE_BYTES": str(2 * GIB),
        "CHATSTORE_WORKSPACE_QUOTA_BYTES": str(64 * GIB),
    }
    env.pop("CHATSTORE_METADATA_URL", None)
    server = fleet.start(
        name,
        pinned(tools.core, [tools.server_python, "-m", "api"]),
        base_url=f"http://127.0.0.1:{port}",
        ready=lambda client: client.get(f"http://127.0.0.1:{port}/readyz").status_code == 200,
        log_path=work / f"{name}.log",
        env=env,
        cwd=source or tools.chatstore_dir,
    )
    peer = Chatstore(name, label, server, data)
    with httpx.Client(timeout=30) as client:
        peer.prepare(client)
    return peer


_NGINX_CONF = """\
user root;
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {work}/nginx-body;
    proxy_temp_path {work}/nginx-proxy;
    fastcgi_temp_path {work}/nginx-fastcgi;
    uwsgi_temp_path {work}/nginx-uwsgi;
    scgi_temp_path {work}/nginx-scgi;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        client_max_body_size 0;
        location / {{
            dav_methods PUT;
            dav_access user:rw;
        }}
    }}
}}
"""


def start_nginx(fleet: Fleet, tools: Tools, work: Path) -> Nginx:
    root = work / "nginx"
    root.mkdir()
    port = free_port()
    conf = work / "nginx.conf"
    conf.write_text(_NGINX_CONF.format(work=work, root=root, port=port))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    server = fleet.start(
        "nginx",
        pinned(
            tools.core,
            [nginx, "-p", work, "-e", work / "nginx-error.log", "-c", conf, "-g", "daemon off;"],
        ),
        base_url=f"http://127.0.0.1:{port}",
        ready=lambda client: client.get(f"http://127.0.0.1:{port}/").status_code < 500,
        log_path=work / "nginx.log",
    )
    return Nginx("nginx", "nginx", server, root)


def start_jupyter(fleet: Fleet, tools: Tools, work: Path) -> Jupyter:
    root = work / "jupyter"
    root.mkdir()
    port = free_port()
    token = secrets.token_hex(16)
    limit = str(8 * GIB)
    headers = {"Authorization": f"token {token}"}
    # As it ships: its request log writes successful requests at DEBUG, so the default
    # (INFO) writes no line per 2xx request; nothing to turn off.
    server = fleet.start(
        "jupyter",
        pinned(
            tools.core,
            [
                tools.jupyter_bin,
                "server",
                "--no-browser",
                "--ip=127.0.0.1",
                f"--port={port}",
                "--port-retries=0",
                f"--IdentityProvider.token={token}",
                *(["--allow-root"] if os.geteuid() == 0 else []),
                f"--ServerApp.root_dir={root}",
                f"--ServerApp.max_body_size={limit}",
                f"--ServerApp.max_buffer_size={limit}",
            ],
        ),
        base_url=f"http://127.0.0.1:{port}",
        ready=lambda client: (
            client.get(f"http://127.0.0.1:{port}/api/status", headers=headers).status_code == 200
        ),
        log_path=work / "jupyter.log",
        env={
            "JUPYTER_CONFIG_DIR": str(work / "jupyter-config"),
            "JUPYTER_DATA_DIR": str(work / "jupyter-data"),
            "JUPYTER_RUNTIME_DIR": str(work / "jupyter-runtime"),
        },
    )
    return Jupyter("jupyter", "Jupyter", server, root, token=token)


def start_uvicorn_peer(fleet: Fleet, tools: Tools, work: Path, key: str) -> UvicornPeer:
    module, label = {
        "starlette": ("bench.peers.starlette_app", "Starlette"),
        "fastapi": ("bench.peers.naive_fastapi", "naive FastAPI"),
    }[key]
    root = work / key
    root.mkdir()
    port = free_port()
    server = fleet.start(
        key,
        pinned(
            tools.core,
            [
                tools.server_python,
                "-m",
                "uvicorn",
                f"{module}:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                # As their users would run them (issue 14): the fast loop and parser, and
                # no access log, which chatstore's default does not write either.
                "--no-access-log",
                "--loop",
                "uvloop",
                "--http",
                "httptools",
            ],
        ),
        base_url=f"http://127.0.0.1:{port}",
        ready=lambda client: client.get(f"http://127.0.0.1:{port}/healthz").status_code == 200,
        log_path=work / f"{key}.log",
        env={"BENCH_PEER_DIR": str(root)},
        cwd=REPO,
    )
    return UvicornPeer(key, label, server, root)
