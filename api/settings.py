from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "CHATSTORE_"
SUPPORTED_METADATA_SCHEMES = ("memory://", "sqlite:///", "postgresql://", "postgres://")
# More server processes than this on one host is a typo, not a plan (ADR 0033).
MAX_WORKERS = 64


class SettingsError(Exception):
    """An invalid setting; its message is one line naming the variable."""


class Settings(BaseSettings):
    """Every setting of the service, read from `CHATSTORE_*` environment variables."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")

    data_dir: Path = Path("./data")
    # None: the SQLite file `metadata.db` in the data directory.
    metadata_url: str | None = None
    workspace_quota_bytes: Annotated[int, Field(ge=0)] = 1_073_741_824
    max_file_bytes: Annotated[int, Field(ge=1)] = 268_435_456
    max_history_bytes: Annotated[int, Field(ge=1)] = 16_777_216
    history_revisions: Annotated[int, Field(ge=1)] = 50
    gateway_token: str | None = None
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65_535)] = 8000
    # On SIGTERM, how long requests in flight may run on before they are cancelled (ADR 0029).
    shutdown_seconds: Annotated[float, Field(gt=0, le=3_600, allow_inf_nan=False)] = 30.0
    # uvicorn's own access log, beside the service's JSON line per request (ADR 0028).
    access_log: bool = False
    # Server processes sharing one listening socket, data directory and store (ADR 0033).
    workers: Annotated[int, Field(ge=1, le=MAX_WORKERS)] = 1

    @field_validator("metadata_url")
    @classmethod
    def _known_store(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(SUPPORTED_METADATA_SCHEMES):
            supported = ", ".join(SUPPORTED_METADATA_SCHEMES)
            raise ValueError(f"unsupported metadata store; supported: {supported}")
        if value.startswith("sqlite:///") and not value.removeprefix("sqlite:///"):
            raise ValueError("sqlite:/// needs a file path, e.g. sqlite:///data/metadata.db")
        return value

    @property
    def metadata_store_url(self) -> str:
        """The metadata store to use: the setting, else `sqlite:///<data_dir>/metadata.db`."""
        return self.metadata_url or f"sqlite:///{self.data_dir / 'metadata.db'}"

    @field_validator("workers")
    @classmethod
    def _one_store_for_every_worker(cls, value: int, info: ValidationInfo) -> int:
        metadata_url = info.data.get("metadata_url")
        if value > 1 and metadata_url is not None and metadata_url.startswith("memory://"):
            raise ValueError(
                "memory:// keeps the metadata in one process's memory, so every worker would "
                "have its own; use 1 worker, or a SQLite or PostgreSQL store"
            )
        return value

    @field_validator("gateway_token")
    @classmethod
    def _non_empty_token(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be empty when set (unset it to disable the check)")
        return value


def load_settings(**values: object) -> Settings:
    """Settings from the environment (and `values`), or SettingsError naming the variable."""
    try:
        return Settings(**values)  # type: ignore[arg-type]
    except ValidationError as error:
        first = error.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "settings"
        raise SettingsError(
            f"invalid setting {ENV_PREFIX}{field.upper()}: {first['msg']}"
        ) from None
