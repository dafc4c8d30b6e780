"""Looking at a data directory the way a test needs to, whatever its internal layout."""

from pathlib import Path


def staged_files(data_dir: Path) -> list[str]:
    """Every file waiting in a staging area (`staging/<area>/`), of any process."""
    staging = data_dir / "staging"
    return sorted(
        entry.name
        for area in staging.iterdir()
        if area.is_dir() and not area.is_symlink()
        for entry in area.iterdir()
    )
