"""SQLite's environmental failures reach callers as typed `StoreWriteError`s, never raw.

Each failure is a real one: a second connection holding the write lock ("database is locked"
after the busy timeout) and a database at its page limit (SQLite's own "database or disk is
full", the error a full disk gives).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from rupa_desk.services.store import (
    DatabaseBusyError,
    Store,
    StoreDiskFullError,
    StoreError,
    StoreWriteError,
    connect,
    typed_sqlite_errors,
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "db.sqlite3") as opened:
        opened.db.execute("PRAGMA busy_timeout = 50")  # fail fast; the app waits 5 s
        yield opened


LONG_NOTES = "n" * 9_999  # more than two pages of text


def fill_to_the_page_limit(store: Store) -> None:
    """Cap the file at its current size: the next page it needs is refused (SQLITE_FULL)."""
    assert store.db.execute("PRAGMA freelist_count").fetchone()[0] == 0
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages}")


def test_a_write_while_another_connection_holds_the_lock_is_a_busy_error(store: Store) -> None:
    assert store.path is not None
    draft_id = store.drafts.create(notes="before")
    other = connect(store.path)
    other.execute("BEGIN IMMEDIATE")  # e.g. the catalog sync swapping its catalog in
    try:
        with pytest.raises(DatabaseBusyError) as caught:
            store.drafts.edit(draft_id, notes="after")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert isinstance(caught.value, StoreWriteError)
    assert "busy" in str(caught.value)
    assert "try again" in str(caught.value)
    assert caught.value.reason == "database is locked"
    assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
    assert store.drafts.get(draft_id).notes == "before"
    assert not store.db.conn.in_transaction


def test_a_full_disk_is_a_disk_full_error_and_nothing_is_saved(store: Store) -> None:
    draft_id = store.drafts.create(notes="short")
    fill_to_the_page_limit(store)
    with pytest.raises(StoreDiskFullError) as caught:
        store.drafts.edit(draft_id, notes=LONG_NOTES)
    assert "disk of this computer is full" in str(caught.value)
    assert "Free some space" in str(caught.value)
    assert store.drafts.get(draft_id).notes == "short"
    assert not store.db.conn.in_transaction


def test_a_full_disk_inside_a_nested_transaction_is_typed_once(store: Store) -> None:
    fill_to_the_page_limit(store)
    with pytest.raises(StoreDiskFullError), store.db.atomic():
        store.drafts.create(notes=LONG_NOTES)  # its own atomic(): a savepoint
    assert store.drafts.all() == []


def test_a_bug_is_not_disguised_as_an_environmental_failure(store: Store) -> None:
    store.db.execute("INSERT INTO sync_state (resource) VALUES ('x')")
    with pytest.raises(sqlite3.IntegrityError), store.db.atomic():
        store.db.execute("INSERT INTO sync_state (resource) VALUES ('x')")
    with pytest.raises(sqlite3.OperationalError, match="no such table"), typed_sqlite_errors():
        store.db.execute("SELECT * FROM no_such_table")
    with pytest.raises(LookupError), typed_sqlite_errors():
        raise LookupError("not SQLite's")


def test_typed_errors_are_store_errors_the_callers_already_catch() -> None:
    assert issubclass(StoreWriteError, StoreError)
