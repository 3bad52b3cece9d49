"""Quitting the app while signed in (issue 5): the account's work stops, its database is
closed, and no edit is lost. (Quitting while signed out: `test_sign_in.py`.)

The app's real `Authenticator` and `RupaClient` run; Rupa's endpoints are `FakeRupa` and the
browser is `FakeBrowser`.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from rupa_desk.core.validation import PatientForm
from rupa_desk.services.store import Store
from rupa_desk.settings import Environment, production
from rupa_desk.ui.pages.drafts import DraftsPage
from rupa_desk.ui.pages.patients import PatientsPage
from tests.fixtures.desk import MakeDesk, first_download_done, signed_in_desk
from tests.fixtures.fake_signin import FakeRupa

NEW_PATIENT = PatientForm(first_name="Mary", last_name="Jackson", email="mj@example.com")
#: How long another connection holds the database's write lock while the app quits.
LOCK_HELD_S = 1.0


@pytest.fixture
def environment() -> Environment:
    return production("desk-client")


@pytest.fixture
def rupa(environment: Environment) -> FakeRupa:
    return FakeRupa(environment)


def opens_exclusively(database: Path) -> bool:
    """Whether another connection can take the database file for itself: no connection of
    the app holds it any more (an open WAL connection keeps it locked)."""
    other = sqlite3.connect(database, timeout=0, isolation_level=None)
    try:
        other.execute("PRAGMA locking_mode = EXCLUSIVE")
        other.execute("BEGIN EXCLUSIVE")
        other.execute("COMMIT")
    except sqlite3.OperationalError:
        return False
    finally:
        other.close()
    return True


class WriteLock:
    """Another connection holding the database's write lock, released after `seconds` from
    its own thread (as the catalog sync's build holds it for a while)."""

    def __init__(self, database: Path, seconds: float) -> None:
        self._connection = sqlite3.connect(
            database, timeout=0, isolation_level=None, check_same_thread=False
        )
        self._connection.execute("BEGIN IMMEDIATE")
        self._release = threading.Timer(seconds, self._commit)
        self._release.start()

    def _commit(self) -> None:
        self._connection.execute("COMMIT")
        self._connection.close()

    def join(self) -> None:
        self._release.join()


async def test_closing_the_app_while_signed_in_stops_the_account_and_saves_every_edit(
    qtbot: QtBot, make_desk: MakeDesk, environment: Environment, rupa: FakeRupa
) -> None:
    desk = await signed_in_desk(make_desk, environment, rupa)
    await first_download_done(desk)  # it fails: the fake Rupa has no patients or catalog
    workspace = desk.workspace
    assert workspace is not None
    database = workspace.store.path
    assert database is not None
    # the account has work under way to stop: the order tracker runs until it is cancelled
    assert "order-tracking" in {task.get_name() for task in workspace.tasks.running}
    assert not opens_exclusively(database)  # the check below can fail

    # A draft order's notes, typed in the Draft orders pane: saved keystroke by keystroke.
    drafts = workspace.panes["drafts"]
    assert isinstance(drafts, DraftsPage)
    drafts.new_button.click()
    draft_id = drafts.editor.draft_id
    assert draft_id is not None
    qtbot.keyClicks(drafts.editor.notes, "Fasting 12h")

    # A new patient typed while another connection holds the write lock: the edit waits.
    lock = WriteLock(database, LOCK_HELD_S)
    try:
        patients = workspace.panes["patients"]
        assert isinstance(patients, PatientsPage)
        patients.new_button.click()
        for name in ("first_name", "last_name", "email"):
            qtbot.keyClicks(patients.form.fields[name], getattr(NEW_PATIENT, name))
        assert not workspace.patients.form_saved  # waiting for the busy database

        await desk.close()  # the user quits at once
    finally:
        lock.join()

    assert desk.workspace is None
    assert workspace.tasks.running == []
    assert desk.tasks.running == []
    with pytest.raises(sqlite3.ProgrammingError):  # the account's connection is closed
        workspace.store.db.execute("SELECT 1")
    assert opens_exclusively(database)  # and no other connection of the app is left
    with Store.open(database) as reopened:
        assert reopened.drafts.get(draft_id).notes == "Fasting 12h"
        saved_form = reopened.patient_forms.load()
        assert saved_form is not None
        assert saved_form.form == NEW_PATIENT
