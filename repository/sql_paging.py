"""Keyset paging on (created_at, id), or (updated_at, id) newest first: every page is one
index range scan, however deep."""

from domain.paging import PageRequest, RecentPageRequest
from repository.sql_database import SqlCodec


def page_clause(
    codec: SqlCodec, page: PageRequest, first_param: int, id_column: str
) -> tuple[str, tuple[object, ...]]:
    """The `AND ... ORDER BY ... LIMIT ...` tail of a list query and its parameters, whose
    placeholders are numbered from `first_param`."""
    n = first_param
    if page.after is None:
        return f" ORDER BY created_at, {id_column} LIMIT ${n}", (page.limit,)
    after_time = codec.time(page.after.created_at)
    # `created_at >= $n` bounds the index range; the OR picks the rows strictly after.
    clause = (
        f" AND created_at >= ${n}"
        f" AND (created_at > ${n} OR {id_column} > ${n + 1})"
        f" ORDER BY created_at, {id_column} LIMIT ${n + 2}"
    )
    return clause, (after_time, codec.uuid(page.after.item_id), page.limit)


def recent_page_clause(
    codec: SqlCodec, page: RecentPageRequest, first_param: int, id_column: str
) -> tuple[str, tuple[object, ...]]:
    """As `page_clause`, for a list newest first by (updated_at, id): the same index range
    scanned backwards."""
    n = first_param
    order = f" ORDER BY updated_at DESC, {id_column} DESC LIMIT"
    if page.after is None:
        return f"{order} ${n}", (page.limit,)
    after_time = codec.time(page.after.updated_at)
    clause = (
        f" AND updated_at <= ${n} AND (updated_at < ${n} OR {id_column} < ${n + 1}){order} ${n + 2}"
    )
    return clause, (after_time, codec.uuid(page.after.item_id), page.limit)
