"""The soak's checker (bench/soak/ledger.py) catches what it is there to catch: a lost
acknowledged write, bytes that differ from their sha256, a delete undone, a record left by
a write that was never acknowledged; and accepts either outcome of a write in doubt."""

import pytest

from bench.soak.content import Blob
from bench.soak.ledger import ChatLedger, SeenChat, SeenFile, Stored, settle

BLOB = Blob(seed=1, size=100)
OTHER = Blob(seed=2, size=100)


def stored(blob: Blob, file_id: str | None = "f1") -> Stored:
    return Stored(blob, blob.sha256(), file_id)


def seen(blob: Blob, file_id: str = "f1", content: Blob | None = None) -> SeenFile:
    return SeenFile(file_id, blob.sha256(), blob.size, (content or blob).sha256())


def ledger(**files: Stored) -> ChatLedger:
    chat = ChatLedger("c1", "w1", history=b"# two\n", etag='"e2"')
    chat.files.update(files)
    return chat


def test_a_chat_as_acknowledged_passes_and_the_ledger_learns_file_ids() -> None:
    chat = ledger(**{"a.bin": stored(BLOB, file_id=None)})

    found = settle(chat, SeenChat(True, b"# two\n", '"e2"', {"a.bin": seen(BLOB)}))

    assert found == []
    assert chat.files["a.bin"].file_id == "f1"


def test_an_acknowledged_upload_that_is_not_listed_is_lost() -> None:
    chat = ledger(**{"a.bin": stored(BLOB)})

    [found] = settle(chat, SeenChat(True, b"# two\n", '"e2"', {}))

    assert "LOST" in found
    assert "'a.bin'" in found


def test_bytes_that_differ_from_their_sha256_are_caught() -> None:
    chat = ledger(**{"a.bin": stored(BLOB)})

    [found] = settle(chat, SeenChat(True, b"# two\n", '"e2"', {"a.bin": seen(BLOB, content=OTHER)}))

    assert "downloads bytes with sha256" in found


def test_a_record_with_another_sha256_than_acknowledged_is_caught() -> None:
    chat = ledger(**{"a.bin": stored(BLOB)})

    [found] = settle(chat, SeenChat(True, b"# two\n", '"e2"', {"a.bin": seen(OTHER)}))

    assert "LOST" in found


def test_an_older_history_than_the_last_acknowledged_is_lost() -> None:
    chat = ledger()

    [found] = settle(chat, SeenChat(True, b"# one\n", '"e1"', {}))

    assert "LOST: history" in found


def test_a_history_with_its_content_but_another_etag_is_caught() -> None:
    [found] = settle(ledger(), SeenChat(True, b"# two\n", '"other"', {}))

    assert "ETag" in found


def test_a_record_no_acknowledged_write_made_is_caught_once() -> None:
    chat = ledger()
    state = SeenChat(True, b"# two\n", '"e2"', {"stray.bin": seen(BLOB)})

    [found] = settle(chat, state)

    assert "'stray.bin' should be absent" in found
    assert settle(chat, state) == []  # said once, not at every check


def test_an_acknowledged_delete_undone_is_caught() -> None:
    chat = ledger()
    chat.deleted = True

    [found] = settle(chat, SeenChat(True, b"# two\n", '"e2"', {}))

    assert "delete undone" in found


def test_a_chat_gone_without_an_acknowledged_delete_is_lost() -> None:
    [found] = settle(ledger(), SeenChat(exists=False))

    assert "LOST" in found


@pytest.mark.parametrize("landed", [True, False], ids=["landed", "did-not-land"])
def test_either_outcome_of_a_history_write_in_doubt_is_accepted(landed: bool) -> None:
    chat = ledger()
    chat.history_in_doubt(b"# two\n# three\n")
    history = b"# two\n# three\n" if landed else b"# two\n"

    assert settle(chat, SeenChat(True, history, '"e3"' if landed else '"e2"', {})) == []
    assert (chat.history, chat.in_doubt) == (history, False)


@pytest.mark.parametrize("landed", [True, False], ids=["landed", "did-not-land"])
def test_either_outcome_of_an_upload_in_doubt_is_accepted(landed: bool) -> None:
    chat = ledger(**{"a.bin": stored(BLOB)})
    chat.upload_in_doubt({"a.bin": stored(OTHER, file_id=None)})
    listed = seen(OTHER, file_id="f2") if landed else seen(BLOB)

    assert settle(chat, SeenChat(True, b"# two\n", '"e2"', {"a.bin": listed})) == []
    assert chat.files["a.bin"].sha256 == (OTHER if landed else BLOB).sha256()


def test_an_upload_in_doubt_that_landed_in_part_is_caught() -> None:
    chat = ledger()
    chat.upload_in_doubt({"a.bin": stored(BLOB, None), "b.bin": stored(OTHER, None)})

    [found] = settle(chat, SeenChat(True, b"# two\n", '"e2"', {"a.bin": seen(BLOB)}))

    assert "landed in part: ['a.bin'] of ['a.bin', 'b.bin']" in found


def test_a_write_in_doubt_allows_its_outcomes_and_nothing_else() -> None:
    chat = ledger(**{"a.bin": stored(BLOB)})
    chat.file_delete_in_doubt("a.bin")

    [found] = settle(chat, SeenChat(True, b"# two\n", '"e2"', {"a.bin": seen(OTHER, "f9")}))

    assert "should be file f1" in found
    assert "or absent" in found


def test_a_violation_names_the_requests_that_were_in_doubt() -> None:
    chat = ledger(**{"a.bin": stored(BLOB)})
    chat.delete_maybe = True
    chat.notes.append("chat_delete soak-w3-17: ReadError")

    [found] = settle(chat, SeenChat(True, b"# two\n", '"e2"', {}))

    assert "(in doubt: chat_delete soak-w3-17: ReadError)" in found
    assert chat.notes == []


def test_a_delete_in_doubt_may_have_removed_the_chat() -> None:
    chat = ledger()
    chat.delete_maybe = True

    assert settle(chat, SeenChat(exists=False)) == []
    assert chat.deleted
