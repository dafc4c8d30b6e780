import os
import tempfile
from pathlib import Path

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


try:
    from hypothesis import settings as hypothesis_settings
except ImportError:  # a dev dependency; without it only the property tests fail to import
    pass
else:
    # A run must write nothing into the repository: no example database, and Hypothesis's
    # caches (read lazily, on first use) go to the system's temporary directory.
    os.environ.setdefault(
        "HYPOTHESIS_STORAGE_DIRECTORY", str(Path(tempfile.gettempdir()) / "chatstore-hypothesis")
    )
    hypothesis_settings.register_profile("chatstore", database=None)
    hypothesis_settings.load_profile("chatstore")
