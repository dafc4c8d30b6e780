import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


try:
    from hypothesis import settings as hypothesis_settings
except ImportError:  # a dev dependency; without it only the property tests fail to import
    pass
else:
    # No example database: a run must never write into the repository.
    hypothesis_settings.register_profile("chatstore", database=None)
    hypothesis_settings.load_profile("chatstore")
