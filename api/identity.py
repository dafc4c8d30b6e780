"""Who is calling: the gateway (by its shared token) on behalf of a user (by id)."""

import hmac
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Header, Request

from api.http_problem import HttpProblemError


def _check_gateway_token(expected: str | None, authorization: str | None) -> None:
    if expected is None:
        return
    scheme, _, token = (authorization or "").partition(" ")
    presented = token.strip().encode() if scheme.lower() == "bearer" else b""
    # compare_digest takes time independent of where the tokens differ.
    if not hmac.compare_digest(presented, expected.encode()):
        raise HttpProblemError(401, "unauthorized", "a valid gateway token is required")


# `async def`, though it awaits nothing: FastAPI runs a plain `def` dependency in a worker
# thread, a hop per request that cost S1 about 14% of the event loop's time.
async def caller(
    request: Request,
    x_user_id: Annotated[
        str | None, Header(description="The end user the gateway acts for (a UUID).")
    ] = None,
    authorization: Annotated[
        str | None,
        Header(description="`Bearer <token>` when CHATSTORE_GATEWAY_TOKEN is set."),
    ] = None,
) -> UUID:
    _check_gateway_token(request.app.state.settings.gateway_token, authorization)
    if x_user_id is None:
        raise HttpProblemError(401, "user_id_required", "the X-User-Id header is required")
    try:
        return UUID(x_user_id)
    except ValueError:
        raise HttpProblemError(400, "invalid_user_id", "X-User-Id is not a UUID") from None


Caller = Annotated[UUID, Depends(caller)]
