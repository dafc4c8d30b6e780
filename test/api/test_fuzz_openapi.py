"""Schemathesis fuzzing of every operation against the app's own OpenAPI description.

The app runs in process on a scratch data directory with small limits, its lifespan
entered on an event loop this module owns (an anyio blocking portal); the document is read
from its /openapi.json. Hypothesis drives the examples synchronously and each request
crosses into that loop. (`schemathesis.openapi.from_asgi` would start the lifespan on
Schemathesis's own loop and keep it running until the interpreter exits.) Every response
must pass `CHECKS`: no 5xx, and a status code, a content type and a body that the
operation documents.

Each operation gets `EXAMPLES_PER_OPERATION` examples, positive (data the schema allows)
or negative (data it forbids, which must be refused with a documented status). Most come
from the workspace's owner and name a real chat, file and sandbox session made just
before, so they reach the code behind the identity and lookup checks; the rest come from
another user, from a user with no workspace yet, or with whatever `X-User-Id` (if any)
Schemathesis generated, and keep the generated ids. Derandomized: every run sends the same
examples.
"""

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from enum import Enum
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
import requests
import schemathesis
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, BaseSchema, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.settings import Settings
from test.api.conftest import make_settings, running_app
from test.archives import ChatSpec, FileSpec, export_archive

pytestmark = pytest.mark.fuzz

# 25 operations: about 30 s on two cores (40 s when they are busy).
EXAMPLES_PER_OPERATION = 50
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
BASE_URL = "http://testserver"
OWNER = "6f1c3a52-6d0e-4a8e-9d1b-2b1a4a7d5e10"
NEIGHBOUR = "0b7e8a9c-2f4d-4c1e-8a3b-5d6f7a8b9c0d"

Operation = APIOperation[Any, Any, Any, Any]


class Caller(Enum):
    """Who sends an example's request."""

    OWNER = "the owner of the workspace holding the real chat"
    NEIGHBOUR = "another user, with a workspace of their own"
    NEWCOMER = "a user with no workspace yet"
    GENERATED = "whatever X-User-Id Schemathesis generated, if any"


# sampled_from draws uniformly: the owner is listed thrice to send most requests.
CALLERS = st.sampled_from(
    [Caller.OWNER, Caller.OWNER, Caller.OWNER, Caller.NEIGHBOUR, Caller.NEWCOMER, Caller.GENERATED]
)
# Real ids three times in four; generated ones (random, or malformed when negative) otherwise.
REAL_IDS = st.sampled_from([True, True, True, False])
# A generated Range header is almost never one the service honours: most downloads ask for
# a well-formed range instead (None keeps the generated header), within the real file or
# past its end.
BYTE_RANGES = st.one_of(
    st.from_regex(r"bytes=([0-9]{1,2}-[0-9]{0,2}|-[0-9]{1,2})", fullmatch=True), st.none()
)
# Small enough for generated bodies to cross (413); the rest as in the other API tests.
MAX_BODY_BYTES = 256


@st.composite
def import_bodies(draw: st.DrawFn) -> bytes:
    """An import body: an export archive of a few chats (their histories and files drawn,
    so not always UTF-8 or within the limits), whole, cut short or with one byte changed."""
    chats = draw(
        st.lists(
            st.builds(
                ChatSpec,
                history=st.binary(max_size=64),
                files=st.lists(
                    st.builds(
                        FileSpec,
                        name=st.sampled_from(["a.txt", "b", "history.md"]),
                        content=st.binary(max_size=300),
                        file_id=st.uuids(),
                    ),
                    max_size=2,
                    unique_by=lambda file: file.name,
                ),
                title=st.none() | st.text(max_size=10),
                chat_id=st.uuids(),
            ),
            max_size=3,
        )
    )
    archive = export_archive(chats)
    damage = draw(st.sampled_from(["none", "cut", "flip"]))
    at = draw(st.integers(min_value=0, max_value=len(archive) - 1))
    if damage == "cut":
        return archive[:at]
    if damage == "flip":
        return archive[:at] + bytes([archive[at] ^ 0xFF]) + archive[at + 1 :]
    return archive


def _latin1(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("latin-1")


@dataclass(frozen=True, slots=True)
class InProcessApi:
    """The running app, called from synchronous code through the portal's event loop."""

    portal: BlockingPortal
    client: httpx.AsyncClient

    def send(self, request: requests.PreparedRequest) -> httpx.Response:
        """Send exactly what `requests` prepared; headers travel as latin-1, as on the wire."""
        assert request.method is not None
        assert request.url is not None
        body = request.body.encode() if isinstance(request.body, str) else request.body
        assert body is None or isinstance(body, bytes)
        headers = [(_latin1(name), _latin1(value)) for name, value in request.headers.items()]
        call = partial(
            self.client.request, request.method, request.url, headers=headers, content=body
        )
        return self.portal.call(call)

    def call(self, method: str, url: str, user: str, **kwargs: Any) -> httpx.Response:
        call = partial(self.client.request, method, url, headers={"X-User-Id": user}, **kwargs)
        return self.portal.call(call)

    def real_ids(self, operation: Operation) -> dict[str, str]:
        """A fresh chat of the owner's with one file and, for the operations naming one, an
        active sandbox session: whatever an earlier example deleted or changed is not reused
        (the workspace itself made anew when an example erased it)."""
        workspace = self.call("PUT", "/v1/workspace", OWNER)
        assert workspace.status_code in {200, 201}, workspace.text
        chat = self.call("POST", "/v1/chats", OWNER)
        assert chat.status_code == 201, chat.text
        chat_id = str(chat.json()["chat_id"])
        upload = self.call(
            "POST",
            f"/v1/chats/{chat_id}/files",
            OWNER,
            files={"file": ("notes.txt", b"fuzz target\n", "text/plain")},
        )
        assert upload.status_code == 201, upload.text
        ids = {"chat_id": chat_id, "file_id": str(upload.json()["items"][0]["file_id"])}
        if "{session_id}" in operation.path or operation.path.endswith("/active"):
            session = self.call("POST", f"/v1/chats/{chat_id}/sandbox-sessions", OWNER)
            assert session.status_code == 201, session.text
            ids["session_id"] = str(session.json()["session_id"])
        return ids


def fuzz_settings(data_dir: Path) -> Settings:
    limits = {"max_file_bytes": MAX_BODY_BYTES, "max_history_bytes": MAX_BODY_BYTES}
    return make_settings(data_dir).model_copy(update=limits)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[InProcessApi]:
    with ExitStack() as stack:
        portal = stack.enter_context(start_blocking_portal())
        app = stack.enter_context(
            portal.wrap_async_context_manager(running_app(fuzz_settings(tmp_path / "data")))
        )
        # A 500 must come back as a response, for `not_a_server_error` to report with the
        # request that caused it (the problem handler logs the traceback), not be raised.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        client = httpx.AsyncClient(transport=transport, base_url=BASE_URL)
        api = InProcessApi(portal, stack.enter_context(portal.wrap_async_context_manager(client)))
        for user in (OWNER, NEIGHBOUR):
            response = api.call("PUT", "/v1/workspace", user)
            assert response.status_code == 201, response.text
        yield api


def operations_of(schema: BaseSchema) -> list[Operation]:
    operations = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        operations.append(result.ok())
    return operations


def distinct_file_names(parts: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """Number the file names of the `file` parts.

    Schemathesis names every part of the array `file` either `file` or `file.<ext>`, and the
    service refuses a request naming one attachment twice (422); numbered, a positive upload
    of several files is stored, so the fuzzing reaches the storage code too."""
    return [
        (field, (f"{index}-{part[0]}", *part[1:]))
        if field == "file" and isinstance(part, tuple) and part[0]
        else (field, part)
        for index, (field, part) in enumerate(parts)
    ]


def fuzz(api: InProcessApi, operation: Operation) -> None:
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        # Filters out every example of an operation with nothing to break (GET /healthz).
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(
        case=cases,
        caller=CALLERS,
        real_ids=REAL_IDS,
        newcomer=st.uuids(),
        byte_range=BYTE_RANGES,
    )
    def example(
        case: Case[Any], caller: Caller, real_ids: bool, newcomer: UUID, byte_range: str | None
    ) -> None:
        user_ids = {Caller.OWNER: OWNER, Caller.NEIGHBOUR: NEIGHBOUR, Caller.NEWCOMER: newcomer}
        if caller in user_ids:
            case.headers["X-User-Id"] = str(user_ids[caller])
        if real_ids and case.path_parameters:
            ids = api.real_ids(operation)
            case.path_parameters = {
                name: ids.get(name, value) for name, value in case.path_parameters.items()
            }
        if byte_range is not None and operation.path.endswith("/content"):
            case.headers["Range"] = byte_range
        kwargs = case.as_transport_kwargs(base_url=BASE_URL)
        if kwargs.get("files"):
            kwargs["files"] = distinct_file_names(kwargs["files"])
        response = api.send(requests.Request(**kwargs).prepare())
        case.validate_response(response, checks=CHECKS)

    example()


def test_every_operation_keeps_its_openapi_contract(
    api: InProcessApi, subtests: pytest.Subtests
) -> None:
    # The import's body is application/zip: archives, often damaged, and random bytes.
    schemathesis.openapi.media_type(
        "application/zip", st.one_of(import_bodies(), st.binary(max_size=512))
    )
    response = api.portal.call(api.client.get, "/openapi.json")
    assert response.status_code == 200, response.text
    operations = operations_of(schemathesis.openapi.from_dict(response.json()))
    # 24: HEAD is no operation of its own since every GET answers it (api.head).
    assert len(operations) >= 24, [operation.label for operation in operations]

    for operation in operations:
        with subtests.test(operation.label):
            fuzz(api, operation)
