def strong_etag(sha256: str) -> str:
    """The strong ETag of content named by its sha256."""
    return f'"{sha256}"'


def etag_listed(etag: str, header: str) -> bool:
    """Whether an If-Match / If-None-Match value names `etag` (`*` names any)."""
    candidates = [item.strip() for item in header.split(",")]
    return "*" in candidates or etag in candidates
