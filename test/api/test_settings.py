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
