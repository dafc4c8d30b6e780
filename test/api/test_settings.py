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
