"""Who is calling: the gateway (by its shared token) on behalf of a user (by id)."""

import hmac
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.http_problem import HttpProblemError
from domain.identifier import parse_uuid

# The OpenAPI security schemes of every /v1 operation. They never refuse a request
# (`auto_error=False`): `caller` reads both headers itself, as the contract rules them.
USER_ID_SCHEME = APIKeyHeader(
    name="X-User-Id",
    scheme_name="UserId",
    description="The end user the gateway acts for: a UUID, 8-4-4-4-12 hex digits.",
    auto_error=False,
)
GATEWAY_TOKEN_SCHEME = HTTPBearer(
    scheme_name="GatewayToken",
    description="The gateway's shared token, when CHATSTORE_GATEWAY_TOKEN is set.",
    auto_error=False,
)


def _check_gateway_token(expected: str | None, authorizations: list[str]) -> None:
    if expected is None:
        return
    # Two Authorization lines are refused whatever their order: which one a proxy on the
    # way would have read is not ours to guess.
    authorization = authorizations[0] if len(authorizations) == 1 else ""
    scheme, _, token = authorization.partition(" ")
    presented = token.strip().encode() if scheme.lower() == "bearer" else b""
    # compare_digest takes time independent of where the tokens differ.
    if not hmac.compare_digest(presented, expected.encode()):
        raise HttpProblemError(401, "unauthorized", "a valid gateway token is required")


def _user_id(values: list[str]) -> UUID:
    if not values:
        raise HttpProblemError(401, "user_id_required", "the X-User-Id header is required")
    if len(values) > 1:
        # The gateway names the user; a second line is a client's attempt to.
        raise HttpProblemError(400, "invalid_user_id", "X-User-Id is given more than once")
    try:
        return parse_uuid(values[0])
    except ValueError:
        raise HttpProblemError(400, "invalid_user_id", "X-User-Id is not a UUID") from None


# `async def`, though it awaits nothing: FastAPI runs a plain `def` dependency in a worker
# thread, a hop per request that cost S1 about 14% of the event loop's time. The headers are
# read from the request's header section as a list, so a repeated field is seen as such; the
# parameters below only name them in OpenAPI, as security schemes.
async def caller(
    request: Request,
    x_user_id: Annotated[str | None, Security(USER_ID_SCHEME)],  # noqa: ARG001
    authorization: Annotated[  # noqa: ARG001
        HTTPAuthorizationCredentials | None, Security(GATEWAY_TOKEN_SCHEME)
    ],
) -> UUID:
    headers = request.headers
    _check_gateway_token(request.app.state.settings.gateway_token, headers.getlist("authorization"))
    return _user_id(headers.getlist("x-user-id"))


Caller = Annotated[UUID, Depends(caller)]
