"""Keyset paging on (created_at, id): every page is one index range scan, however deep."""

from domain.paging import PageRequest
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
