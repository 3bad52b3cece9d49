"""The unsent new-patient form in the database: save, load, clear, its migration."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlite_utils import Database

from rupa_desk.core.validation import PatientForm
from rupa_desk.services.store import (
    PatientFormBusyError,
    PatientFormNotSavedError,
    PatientForms,
    PatientFormStatus,
    Store,
    connect,
)
from rupa_desk.services.store.migrations import MIGRATIONS

FULL = PatientForm(
    first_name="Ada ",  # kept as typed, trailing space and all
    last_name="Lovelace",
    email="ada@example.com",
    birthday="1815-12-10",
    phone="(555) 010-0123",
    gender="female",
    street_1="12 St James's Square",
    street_2="Flat 2",
    city="London",
    state="NY",
    zip="10001",
)
DRAFT_ID = "draft_" + "1" * 32


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2024, 6, 13, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def store() -> Iterator[Store]:
    with Store.in_memory() as store:
        store.patient_forms = PatientForms(store.db, clock=Clock())
        yield store


def rows(store: Store) -> int:
    return int(store.db.execute("SELECT count(*) FROM patient_forms").fetchone()[0])


def test_there_is_no_form_until_something_is_typed(store: Store) -> None:
    assert store.patient_forms.load() is None
    store.patient_forms.save(PatientForm())
    store.patient_forms.save(PatientForm(first_name="   "))
    assert store.patient_forms.load() is None
    assert rows(store) == 0


def test_every_field_is_saved_as_typed_and_loaded_back(store: Store) -> None:
    store.patient_forms.save(FULL)
    saved = store.patient_forms.load()
    assert saved is not None
    assert saved.form == FULL
    assert saved.status is PatientFormStatus.EDITING
    assert saved.field_errors == {}
    assert saved.general_errors == ()
    assert saved.created_at == saved.updated_at == datetime(2024, 6, 13, 9, 0, 1, tzinfo=UTC)


def test_each_save_replaces_the_one_form_and_keeps_when_it_was_started(store: Store) -> None:
    for n in range(1, 6):
        store.patient_forms.save(PatientForm(first_name="Ada"[: n % 3 + 1], email=f"a{n}@x.io"))
    saved = store.patient_forms.load()
    assert saved is not None
    assert saved.form == PatientForm(first_name="Ada", email="a5@x.io")
    assert rows(store) == 1
    assert saved.created_at == datetime(2024, 6, 13, 9, 0, 1, tzinfo=UTC)
    assert saved.updated_at == datetime(2024, 6, 13, 9, 0, 5, tzinfo=UTC)


def test_a_failed_attempt_keeps_its_problems_until_the_next_edit(store: Store) -> None:
    store.patient_forms.save(FULL, status=PatientFormStatus.SENDING)
    sending = store.patient_forms.load()
    assert sending is not None
    assert sending.status is PatientFormStatus.SENDING

    store.patient_forms.save(
        FULL,
        status=PatientFormStatus.FAILED,
        field_errors={"phone": "Phone is not a valid number."},
        general_errors=("The patient was not created: Rupa cannot be reached.",),
    )
    failed = store.patient_forms.load()
    assert failed is not None
    assert failed.form == FULL
    assert failed.status is PatientFormStatus.FAILED
    assert failed.field_errors == {"phone": "Phone is not a valid number."}
    assert failed.general_errors == ("The patient was not created: Rupa cannot be reached.",)

    edited = PatientForm(**{**FULL.as_dict(), "phone": "(555) 010-9999"})
    store.patient_forms.save(edited)
    again = store.patient_forms.load()
    assert again is not None
    assert again.form == edited
    assert again.status is PatientFormStatus.EDITING
    assert (again.field_errors, again.general_errors) == ({}, ())


def test_clear_forgets_the_form_and_emptying_it_does_too(store: Store) -> None:
    store.patient_forms.save(FULL)
    store.patient_forms.clear()
    assert store.patient_forms.load() is None
    store.patient_forms.clear()  # nothing to clear: fine

    store.patient_forms.save(PatientForm(first_name="A"))
    store.patient_forms.save(PatientForm())  # the user deleted the last character
    assert store.patient_forms.load() is None


def test_the_form_survives_closing_and_reopening_the_database(tmp_path: Path) -> None:
    path = tmp_path / "account.sqlite3"
    with Store.open(path) as store:
        store.patient_forms.save(FULL, status=PatientFormStatus.FAILED, general_errors=("x",))
    with Store.open(path) as store:
        saved = store.patient_forms.load()
        assert saved is not None
        assert (saved.form, saved.status, saved.general_errors) == (
            FULL,
            PatientFormStatus.FAILED,
            ("x",),
        )


def test_a_save_that_cannot_write_is_a_typed_error_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "account.sqlite3"
    with Store.open(path) as store:
        store.patient_forms.save(PatientForm(first_name="Ada"))
    other = connect(path)
    impatient = connect(path, busy_timeout_ms=0)
    try:
        forms = PatientForms(impatient)
        other.execute("BEGIN IMMEDIATE")  # another connection holds the write lock
        with pytest.raises(PatientFormNotSavedError, match="free space"):
            forms.save(PatientForm(first_name="Ada L"))
        with pytest.raises(PatientFormNotSavedError):
            forms.clear()
        other.execute("ROLLBACK")
        saved = forms.load()
        assert saved is not None
        assert saved.form == PatientForm(first_name="Ada")
    finally:
        impatient.close()
        other.close()


def test_a_save_that_must_not_wait_fails_at_once_while_another_connection_writes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "account.sqlite3"
    with Store.open(path) as store:
        store.patient_forms.save(PatientForm(first_name="Ada"))
        store.db.execute("PRAGMA busy_timeout = 60000")  # a waiting save: a minute
        other = connect(path)
        try:
            other.execute("BEGIN IMMEDIATE")  # e.g. the catalog sync building its tables
            started = time.monotonic()
            with pytest.raises(PatientFormBusyError):
                store.patient_forms.save(PatientForm(first_name="Ada L"), wait=False)
            with pytest.raises(PatientFormBusyError):
                store.patient_forms.clear(wait=False)
            assert time.monotonic() - started < 30  # they did not wait for the lock
            assert store.db.execute("PRAGMA busy_timeout").fetchone() == (60000,)
            other.execute("COMMIT")
            store.patient_forms.save(PatientForm(first_name="Ada L"), wait=False)
        finally:
            other.close()
        saved = store.patient_forms.load()
        assert saved is not None
        assert saved.form == PatientForm(first_name="Ada L")


def test_migrating_an_older_database_keeps_its_data_and_adds_the_form(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with Database(path) as old:
        MIGRATIONS.apply(old, stop_before="m008_patient_forms")
        assert "patient_forms" not in old.table_names()
        old.execute(
            "INSERT INTO patients (id, first_name, last_name, email, first_key, last_key,"
            " email_key, cached_at) VALUES ('pat_0000001', 'Ada', 'Lovelace',"
            " 'ada@example.com', 'ada', 'lovelace', 'ada@example.com', '2024-01-01')"
        )
        old.execute(
            "INSERT INTO drafts (id, patient_id, notes, status, created_at, updated_at)"
            " VALUES (?, 'pat_0000001', 'keep', 'local', '2024-01-01T00:00:00+00:00',"
            " '2024-01-01T00:00:00+00:00')",
            [DRAFT_ID],
        )
    with Store.open(path) as store:
        assert "m008_patient_forms" in [m.name for m in MIGRATIONS.applied(store.db)]
        assert store.patients.get("pat_0000001").email == "ada@example.com"
        assert store.drafts.get(DRAFT_ID).notes == "keep"
        assert store.patient_forms.load() is None
        store.patient_forms.save(FULL)
        saved = store.patient_forms.load()
        assert saved is not None
        assert saved.form == FULL


def test_the_table_holds_one_form_only(store: Store) -> None:
    store.patient_forms.save(FULL)
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
        store.db.execute(
            "INSERT INTO patient_forms (id, created_at, updated_at) VALUES (2, 'x', 'x')"
        )
