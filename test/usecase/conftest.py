from pathlib import Path

import pytest

from test.usecase.service import Service, open_service


@pytest.fixture
async def service(tmp_path: Path, anyio_backend: str) -> Service:
    return await open_service(tmp_path / "data")
