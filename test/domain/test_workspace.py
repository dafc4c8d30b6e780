from uuid import UUID

import pytest

from domain.workspace import WorkspaceUsage

WORKSPACE_ID = UUID("00000000-0000-4000-8000-0000000000a1")

ADMITTED = [
    pytest.param(0, 0, 10, 10, id="fills-empty-workspace-exactly"),
    pytest.param(4, 0, 10, 6, id="fills-the-rest-exactly"),
    pytest.param(2, 2, 10, 6, id="fills-the-rest-beside-revisions-exactly"),
    pytest.param(10, 0, 10, 0, id="nothing-at-full"),
    pytest.param(10, 0, 10, -3, id="shrinking-at-full"),
    pytest.param(15, 0, 10, -1, id="shrinking-over-quota"),
    pytest.param(15, 0, 10, 0, id="nothing-over-quota"),
    pytest.param(5, 10, 10, -1, id="shrinking-over-quota-by-revisions"),
]

REFUSED = [
    pytest.param(0, 0, 10, 11, id="one-past-quota-from-empty"),
    pytest.param(4, 0, 10, 7, id="one-past-the-rest"),
    pytest.param(2, 2, 10, 7, id="one-past-the-rest-beside-revisions"),
    pytest.param(10, 0, 10, 1, id="any-growth-at-full"),
    pytest.param(0, 10, 10, 1, id="any-growth-with-revisions-filling-the-quota"),
    pytest.param(15, 0, 10, 1, id="any-growth-over-quota"),
    pytest.param(0, 0, 0, 1, id="zero-quota"),
]


@pytest.mark.parametrize(("used", "revision", "quota", "delta"), ADMITTED)
def test_usage_admits_growth_within_quota_and_any_shrinking(
    used: int, revision: int, quota: int, delta: int
) -> None:
    assert WorkspaceUsage(WORKSPACE_ID, used, revision, quota).admits(delta)


@pytest.mark.parametrize(("used", "revision", "quota", "delta"), REFUSED)
def test_usage_refuses_growth_past_quota(used: int, revision: int, quota: int, delta: int) -> None:
    assert not WorkspaceUsage(WORKSPACE_ID, used, revision, quota).admits(delta)


def test_usage_charges_used_and_revision_bytes_together() -> None:
    assert WorkspaceUsage(WORKSPACE_ID, 7, 5, 100).charged_bytes == 12
