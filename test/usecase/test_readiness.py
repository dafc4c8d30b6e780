import pytest

from domain.errors import StorageUnavailableError
from test.usecase.service import Service

pytestmark = pytest.mark.anyio


async def test_ready_service_reports_no_failure(service: Service) -> None:
    assert await service.run.check_readiness() == {}


async def test_unwritable_data_directory_is_reported_by_name(service: Service) -> None:
    service.storage.fail("check_writable", StorageUnavailableError("read-only file system"))

    assert await service.run.check_readiness() == {"data_dir": "read-only file system"}
