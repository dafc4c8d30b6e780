"""Ids in a request path: only the 36-character UUID form, as in `X-User-Id`."""

from typing import Annotated, Any
from uuid import UUID

from pydantic import BeforeValidator

from domain.identifier import parse_uuid


def _strict_uuid(value: Any) -> Any:
    # A path parameter arrives as text; anything else (a UUID in a test) passes through.
    return parse_uuid(value) if isinstance(value, str) else value


PathUuid = Annotated[UUID, BeforeValidator(_strict_uuid)]
"""A UUID path parameter; other text answers 422 validation_error, like any bad path value."""
