"""The response headers the OpenAPI description declares, one entry per header a route sends.

Each value is an OpenAPI Header Object; routes merge them into `responses[status]["headers"]`.
"""

from typing import Any

Headers = dict[str, dict[str, Any]]


def _header(description: str, **schema: Any) -> dict[str, Any]:
    return {"description": description, "required": True, "schema": {"type": "string", **schema}}


REQUEST_ID: Headers = {
    "X-Request-Id": _header(
        "The request's id, on every answer: the gateway's own `X-Request-Id` when it sent"
        " exactly one of 1 to 128 characters of `A-Z a-z 0-9 . _ : -`, else one the service"
        " made. The service's log lines about the request carry it.",
        pattern=r"^[A-Za-z0-9._:\-]{1,128}$",
    )
}
ETAG: Headers = {
    "ETag": _header(
        "Strong validator of the content: an opaque quoted string, to send back in "
        "If-None-Match or If-Match. Clients must not parse it.",
        pattern=r'^"[^"]*"$',
    )
}
HISTORY_REVISION: Headers = {
    "X-History-Revision": _header(
        "The number of the history revision this change made (or, for a change of nothing,"
        " the current one).",
        pattern=r"^\d+$",
    )
}
LOCATION: Headers = {"Location": _header("Path of the chat just created: /v1/chats/{chat_id}.")}
ACCEPT_RANGES: Headers = {"Accept-Ranges": _header("Always `bytes`.", enum=["bytes"])}
CONTENT_RANGE_UNSATISFIED: Headers = {
    "Content-Range": _header("`bytes */<size>`: the size of the file.", pattern=r"^bytes \*/\d+$")
}
WWW_AUTHENTICATE: Headers = {
    "WWW-Authenticate": {
        "description": "`Bearer`, when the gateway token is missing or wrong.",
        "schema": {"type": "string"},
    }
}

_DOWNLOAD: Headers = {
    **ETAG,
    **ACCEPT_RANGES,
    "Content-Length": _header("Bytes in this answer's body.", pattern=r"^\d+$"),
    "Content-Disposition": _header(
        "`attachment; filename=\"<ASCII fallback>\"; filename*=UTF-8''<percent-encoded name>`."
    ),
    "X-Content-Type-Options": _header("Always `nosniff`.", enum=["nosniff"]),
    "Content-Security-Policy": _header(
        "Always `default-src 'none'; sandbox`.", enum=["default-src 'none'; sandbox"]
    ),
}
DOWNLOAD_WHOLE: Headers = _DOWNLOAD
DOWNLOAD_PART: Headers = {
    **_DOWNLOAD,
    "Content-Range": _header(
        "`bytes <first>-<last>/<size>`: the bytes sent, of the whole file.",
        pattern=r"^bytes \d+-\d+/\d+$",
    ),
}
NOT_MODIFIED: Headers = {**ETAG, **ACCEPT_RANGES}
ARCHIVE: Headers = {
    "Content-Disposition": _header(
        "`attachment; filename=\"chatstore-<id>.zip\"`, with the workspace's or the chat's id.",
        pattern=r'^attachment; filename="chatstore-[0-9a-f-]{36}\.zip"$',
    )
}
