"""Settings from the environment: each one read, and a bad value named in one line."""

import pytest

from api.settings import SettingsError, load_settings


def test_history_revisions_default_to_50_and_read_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings().history_revisions == 50
    monkeypatch.setenv("CHATSTORE_HISTORY_REVISIONS", "3")

    assert load_settings().history_revisions == 3


@pytest.mark.parametrize("value", ["0", "-1", "many"])
def test_history_revisions_below_one_stop_start_up_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("CHATSTORE_HISTORY_REVISIONS", value)

    with pytest.raises(SettingsError, match=r"^invalid setting CHATSTORE_HISTORY_REVISIONS: "):
        load_settings()


def test_shutdown_seconds_default_to_30_and_read_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings().shutdown_seconds == 30.0
    monkeypatch.setenv("CHATSTORE_SHUTDOWN_SECONDS", "2.5")

    assert load_settings().shutdown_seconds == 2.5


@pytest.mark.parametrize("value", ["0", "-1", "3601", "nan", "inf", "soon", ""])
def test_a_shutdown_deadline_not_above_zero_or_past_an_hour_stops_start_up_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("CHATSTORE_SHUTDOWN_SECONDS", value)

    with pytest.raises(SettingsError, match=r"^invalid setting CHATSTORE_SHUTDOWN_SECONDS: "):
        load_settings()


def test_uvicorns_access_log_is_off_unless_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().access_log is False
    monkeypatch.setenv("CHATSTORE_ACCESS_LOG", "true")

    assert load_settings().access_log is True


def test_an_access_log_setting_that_is_no_boolean_stops_start_up_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHATSTORE_ACCESS_LOG", "loud")

    with pytest.raises(SettingsError, match=r"^invalid setting CHATSTORE_ACCESS_LOG: "):
        load_settings()


def test_one_worker_by_default_and_the_environment_asks_for_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings().workers == 1
    monkeypatch.setenv("CHATSTORE_WORKERS", "4")

    assert load_settings().workers == 4


@pytest.mark.parametrize("value", ["0", "-2", "2.5", "two", "", "1e3", "65", "100000"])
def test_a_worker_count_below_one_not_whole_or_absurd_stops_start_up_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("CHATSTORE_WORKERS", value)

    with pytest.raises(SettingsError, match=r"^invalid setting CHATSTORE_WORKERS: "):
        load_settings()


def test_several_workers_on_the_in_memory_store_stop_start_up_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHATSTORE_METADATA_URL", "memory://")
    assert load_settings().workers == 1
    monkeypatch.setenv("CHATSTORE_WORKERS", "2")

    with pytest.raises(SettingsError, match=r"^invalid setting CHATSTORE_WORKERS: .*memory://"):
        load_settings()


@pytest.mark.parametrize("url", ["sqlite:///data/metadata.db", "postgresql://db/chatstore"])
def test_several_workers_share_a_sqlite_or_postgresql_store(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("CHATSTORE_METADATA_URL", url)
    monkeypatch.setenv("CHATSTORE_WORKERS", "8")

    assert load_settings().workers == 8
