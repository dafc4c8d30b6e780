from collections.abc import AsyncIterable, AsyncIterator, Callable

from domain.errors import DomainError


async def limited(
    chunks: AsyncIterable[bytes],
    *,
    max_bytes: int,
    too_large: Callable[[], DomainError],
    budget_bytes: int,
    over_budget: Callable[[], DomainError],
    inspect: Callable[[bytes], None] | None = None,
) -> AsyncIterator[bytes]:
    """Pass chunks through, failing the moment the running total passes a limit.

    `max_bytes` is the size limit of one body; `budget_bytes` what the quota has left."""
    total = 0
    async for chunk in chunks:
        total += len(chunk)
        if total > max_bytes:
            raise too_large()
        if total > budget_bytes:
            raise over_budget()
        if inspect is not None:
            inspect(chunk)
        yield chunk
