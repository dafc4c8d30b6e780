def strong_etag(sha256: str) -> str:
    """The strong ETag of content named by its sha256."""
    return f'"{sha256}"'


def etag_listed(etag: str, header: str, *, weak: bool = False) -> bool:
    """Whether an If-Match / If-None-Match value names `etag` (`*` names any).

    `weak` comparison (RFC 9110 13.1.2, required for If-None-Match) also accepts the
    weakened `W/"..."` form, which a compressing proxy may have sent on."""
    candidates = (item.strip() for item in header.split(","))
    if weak:
        candidates = (item.removeprefix("W/") for item in candidates)
    return any(candidate in ("*", etag) for candidate in candidates)
