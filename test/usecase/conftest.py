from pathlib import Path

import pytest

from domain.chat import Chat
from test.usecase.service import Service, open_service


@pytest.fixture
async def service(tmp_path: Path, anyio_backend: str) -> Service:
    return await open_service(tmp_path / "data")


@pytest.fixture
async def chat(service: Service) -> Chat:
    """A chat of USER, in the workspace made for it."""
    return await service.new_chat()
