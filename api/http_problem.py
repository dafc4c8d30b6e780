from domain.errors import InvalidInputError


class HttpProblemError(Exception):
    """An HTTP-level refusal raised in the api layer (identity, media type, body syntax)."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail


def invalid_request(detail: str) -> HttpProblemError:
    """`422 validation_error`: a request the HTTP layer cannot read (a body past its bound,
    malformed multipart), with the code the domain gives any other malformed input."""
    return HttpProblemError(422, InvalidInputError.code, detail)
