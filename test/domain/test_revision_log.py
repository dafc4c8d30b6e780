"""RevisionLog: what each change of a history makes of its kept revisions, and what they
keep on disk beside it (ADR 0022)."""

import hashlib
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from domain.history import EMPTY_HISTORY, HistoryVersion
from domain.history_revision import RevisionSource
from domain.revision_log import RevisionLog

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
CHAT = uuid4()


def content(text: str) -> HistoryVersion:
    data = text.encode()
    return HistoryVersion(hashlib.sha256(data).hexdigest(), len(data))


def new_log(limit: int = 50) -> RevisionLog:
    return RevisionLog.created(CHAT, T0, limit)


def appended(log: RevisionLog, text: str) -> RevisionLog:
    return log.made(RevisionSource.APPEND, content(text), T0, continues=True)


def put(log: RevisionLog, text: str) -> RevisionLog:
    return log.made(RevisionSource.PUT, content(text), T0, continues=False)


def test_a_new_chat_has_revision_0_empty_and_keeps_nothing_beside_it() -> None:
    log = new_log()

    assert log.latest.revision == 0
    assert log.latest.source is RevisionSource.CREATE
    assert log.version == EMPTY_HISTORY
    assert log.revision_bytes == 0
    assert log.next_revision == 1


def test_a_run_of_appends_keeps_nothing_beside_the_history() -> None:
    log = appended(appended(appended(new_log(), "a"), "ab"), "abc")

    assert [kept.revision for kept in log.kept] == [0, 1, 2, 3]
    assert {kept.run for kept in log.kept} == {0}
    assert log.revision_bytes == 0
    assert log.charged_bytes == 3


def test_a_put_keeps_the_run_it_replaces_as_long_as_its_longest_revision() -> None:
    log = put(appended(appended(new_log(), "a"), "abcd"), "xy")

    assert log.latest.run == 3
    assert log.runs_kept_apart() == {0: 4}
    assert log.revision_bytes == 4
    assert log.charged_bytes == 2 + 4


def test_each_put_starts_a_run_and_every_earlier_one_is_kept_apart() -> None:
    log = put(put(put(new_log(), "one"), "three"), "x")

    assert log.runs_kept_apart() == {1: 3, 2: 5}
    assert log.revision_bytes == 8


def test_pruning_to_the_limit_drops_the_oldest_and_what_only_they_kept() -> None:
    log = put(put(put(new_log(limit=2), "one"), "three"), "x")

    assert [kept.revision for kept in log.kept] == [2, 3]
    assert log.runs_kept_apart() == {2: 5}


def test_a_limit_of_one_keeps_only_the_current_revision_and_nothing_apart() -> None:
    log = put(appended(put(new_log(limit=1), "one"), "one two"), "x")

    assert [kept.revision for kept in log.kept] == [3]
    assert log.revision_bytes == 0


def test_pruned_keeps_only_the_latest_and_frees_every_run() -> None:
    log = put(put(new_log(), "one"), "two").pruned()

    assert [kept.revision for kept in log.kept] == [2]
    assert log.revision_bytes == 0
    assert log.next_revision == 3


def test_numbers_are_never_taken_twice_once_revisions_are_lost() -> None:
    log = appended(put(new_log(), "one"), "one two").without_current_run()

    assert [kept.revision for kept in log.kept] == [0]
    assert put(log, "x").latest.revision == 3


def test_losing_the_current_run_keeps_its_empty_revisions() -> None:
    log = appended(appended(new_log(), "a"), "ab").without_current_run()

    assert [kept.revision for kept in log.kept] == [0]


def test_cut_after_a_revision_gives_its_number_back() -> None:
    before = appended(new_log(), "a")
    after = put(put(before, "b"), "c")

    cut = after.cut_after(after.newest_with(content("a")) or before.latest)

    assert cut.kept == before.kept
    assert cut.next_revision == 2


def test_without_runs_drops_their_revisions_but_never_the_latest() -> None:
    log = put(put(new_log(), "one"), "two")

    assert [kept.revision for kept in log.without_runs({1, 2}).kept] == [0, 2]


def test_newest_with_finds_the_newest_revision_of_a_content() -> None:
    log = put(put(put(new_log(), "a"), "b"), "a")

    found = log.newest_with(content("a"))

    assert found is not None
    assert found.revision == 3
    assert log.newest_with(content("zz")) is None


def test_changes_to_lists_what_to_remove_and_to_add() -> None:
    before = put(new_log(limit=2), "one")
    after = put(before, "two")

    removed, added = before.changes_to(after)

    assert [kept.revision for kept in removed] == [0]
    assert [kept.revision for kept in added] == [2]


def test_a_log_never_keeps_nothing_or_less_than_one() -> None:
    with pytest.raises(ValueError, match="at least the current"):
        RevisionLog((), 5, 0)
    with pytest.raises(ValueError, match="at least the current"):
        RevisionLog.created(CHAT, T0, 0)


def test_a_log_read_from_records_in_any_order_is_ordered() -> None:
    log = put(put(new_log(), "one"), "two")

    read = RevisionLog.of(reversed(log.kept), 50)

    assert read == log
