class HttpProblemError(Exception):
    """An HTTP-level refusal raised in the api layer (identity, media type, body syntax)."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
