from pathlib import Path
from uuid import UUID

import pytest

from adapter.fs.usage import FilesystemUsageReader

WORKSPACE_ID = UUID("00000000-0000-4000-8000-00000000000a")
CHAT_ID = UUID("00000000-0000-4000-8000-00000000000c")


@pytest.fixture
def root(data_dir: Path) -> Path:
    """The data directory, made as the service makes it on start."""
    data_dir.mkdir()
    return data_dir


@pytest.fixture
def chat(root: Path) -> Path:
    path = root / "workspaces" / str(WORKSPACE_ID) / "chats" / str(CHAT_ID)
    path.mkdir(parents=True)
    (path / "history.md").write_bytes(b"12345")
    return path


@pytest.mark.anyio
async def test_usage_sums_regular_files_at_any_depth(
    root: Path, chat: Path, anyio_backend: str
) -> None:
    (chat / "a.txt").write_bytes(b"x" * 10)
    deep = chat.joinpath(*[f"level{depth}" for depth in range(40)])
    deep.mkdir(parents=True)
    (deep / "deep.bin").write_bytes(b"y" * 100)
    (chat / "level0" / "sibling").mkdir()
    (chat / "level0" / "sibling" / "b.txt").write_bytes(b"z" * 1000)

    used = await FilesystemUsageReader(root).chat_used_bytes(WORKSPACE_ID, CHAT_ID)

    assert used == 5 + 10 + 100 + 1000


@pytest.mark.anyio
async def test_usage_never_counts_links_or_what_they_point_at(
    root: Path, chat: Path, outside_dir: Path, anyio_backend: str
) -> None:
    big = outside_dir / "big.bin"
    big.write_bytes(b"b" * 100_000)
    (outside_dir / "other.bin").write_bytes(b"o" * 50_000)
    (chat / "big-link").symlink_to(big)
    (chat / "dir-link").symlink_to(outside_dir)
    (chat / "sub").mkdir()
    (chat / "sub" / "loop").symlink_to(chat)

    used = await FilesystemUsageReader(root).chat_used_bytes(WORKSPACE_ID, CHAT_ID)

    assert used == 5


@pytest.mark.anyio
async def test_usage_of_a_chat_without_a_directory_is_zero(root: Path, anyio_backend: str) -> None:
    assert await FilesystemUsageReader(root).chat_used_bytes(WORKSPACE_ID, CHAT_ID) == 0
