"""Signing out through the whole app: "remove patient data" removes every piece of it (rows,
bytes on disk, result PDFs, the checkout's saved sign-in) and keeps exactly what the dialog
says it keeps; and a sign-out leaves nothing of the account in the status bar."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from PySide6.QtCore import QTimer
from pytestqt.qtbot import QtBot

from rupa_desk.core.drafts import DraftState
from rupa_desk.core.models import Order, OrderedTest, Patient
from rupa_desk.core.validation import PatientForm
from rupa_desk.paths import AppPaths
from rupa_desk.services.store import Store
from rupa_desk.settings import Environment, ManagedSettings, production
from rupa_desk.ui.components.sign_out_dialog import (
    KEPT_WITH_PATIENT_DATA,
    REMOVED_WITH_PATIENT_DATA,
    SignOutDialog,
)
from rupa_desk.ui.messages import Level, Message
from rupa_desk.ui.pages.drafts import DraftsPage
from rupa_desk.ui.presenters.session import SessionState
from tests.fixtures.desk import MakeDesk, first_download_done, signed_in_desk
from tests.fixtures.fake_signin import FakeRupa
from tests.fixtures.qt import unnamed_controls, wait_until

PATIENT = Patient(
    id="pat_Secr001",
    first_name="Wilhelmina",
    last_name="Quarterfield",
    email="wilhelmina.q@example.com",
    birthday=date(1931, 2, 17),
)
SECRETS = (b"Wilhelmina", b"Quarterfield", b"wilhelmina.q@example.com", b"1931-02-17")


@pytest.fixture
def environment() -> Environment:
    return production("desk-client")


@pytest.fixture
def rupa(environment: Environment) -> FakeRupa:
    return FakeRupa(environment)


def an_order(order_id: str, status: str) -> Order:
    return Order(
        id=order_id,
        status=status,
        patient_id=PATIENT.id,
        total_price=Decimal("99.00"),
        date_submitted=datetime(2024, 6, 13, 9, 0, tzinfo=UTC),
        ordered_tests=(OrderedTest(id=f"ordt_{order_id}", lab_test_id="labts_0000001"),),
        raw={"attributes": {"patient_email": PATIENT.email, "status": status}},
    )


def database_bytes(path: Path) -> bytes:
    files = (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"))
    return b"".join(f.read_bytes() for f in files if f.exists())


async def test_removing_patient_data_removes_all_of_it_and_keeps_unsent_drafts(
    make_desk: MakeDesk, environment: Environment, rupa: FakeRupa, app_paths: AppPaths
) -> None:
    desk = await signed_in_desk(make_desk, environment, rupa)
    await first_download_done(desk)  # it fails: the fake Rupa has no patients or catalog
    workspace = desk.workspace
    assert workspace is not None
    account = workspace.account.id
    store = workspace.store
    # What a day at the front desk leaves behind:
    store.patients.upsert([PATIENT])
    store.patient_forms.save(PatientForm(first_name="Wilhelmina", last_name="Quarterfield"))
    store.orders.save(an_order("ord_AAA0001", "Pending Payment"))
    store.orders.save(an_order("ord_AAA0001", "Complete"))  # status history
    unsent = store.drafts.create(patient_id=PATIENT.id, notes="fasting since 8 pm")
    done = store.drafts.create(patient_id=PATIENT.id, notes="checked out")
    store.db.execute(
        "UPDATE drafts SET status = ?, order_intent_id = 'ordin_1', order_id = 'ord_AAA0001'"
        " WHERE id = ?",
        [DraftState.CHECKED_OUT.value, done],
    )
    results = app_paths.results_dir(environment.name, account)
    results.mkdir(parents=True)
    (results / "ord_AAA0001-ordt_1.pdf").write_bytes(b"%PDF-1.4 results of Wilhelmina")
    profile = app_paths.web_profile_dir(environment.name, account)
    (profile / "Default").mkdir(parents=True)
    (profile / "Default" / "Cookies").write_bytes(b"rupa session cookie")
    database = store.path
    assert database is not None
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert SECRETS[2] in database_bytes(database)  # the check below can fail
    messages: list[Message] = []
    desk.bridge.message_shown.connect(messages.append)

    desk.window.sign_out_requested.emit()
    dialog = desk.window.findChild(SignOutDialog)
    assert dialog is not None
    assert unnamed_controls(dialog) == []
    shown = dialog.what_goes.text()
    assert REMOVED_WITH_PATIENT_DATA in shown
    assert KEPT_WITH_PATIENT_DATA in shown
    dialog.remove_patient_data.setChecked(True)
    dialog.sign_out_button.click()
    await wait_until(lambda: desk.session.view.state is SessionState.SIGNED_OUT)

    # Removed: patients; orders with their tests, history and raw JSON; checked-out drafts;
    # result PDFs; the checkout's saved sign-in. Nothing is left in the files' bytes.
    assert not results.exists()
    assert not profile.exists()
    assert not [s for s in SECRETS if s in database_bytes(database)]
    with Store.open(database) as after:
        for table in (
            "patients",
            "patient_forms",
            "orders",
            "ordered_tests",
            "order_status_history",
        ):
            count = after.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            assert count == 0, table
        # Kept, as the dialog says: the unsent draft, its notes and the patient's Rupa id.
        kept = after.drafts.all()
        assert [d.id for d in kept] == [unsent]
        assert kept[0].notes == "fasting since 8 pm"
        assert kept[0].patient_id == PATIENT.id
    assert [m.text for m in messages if m.level is Level.INFO] == [
        "Patient data removed from this computer."
    ]
    assert not [m for m in messages if m.level is not Level.INFO]


async def test_what_cannot_be_removed_is_said(
    make_desk: MakeDesk, environment: Environment, rupa: FakeRupa, app_paths: AppPaths
) -> None:
    desk = await signed_in_desk(make_desk, environment, rupa)
    await first_download_done(desk)
    workspace = desk.workspace
    assert workspace is not None
    results = app_paths.results_dir(environment.name, workspace.account.id)
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text("a file where the results folder should be")  # rmtree refuses it
    messages: list[Message] = []
    desk.bridge.message_shown.connect(messages.append)
    desk.bridge.warning(f"The draft for {PATIENT.first_name} is waiting to be sent.")
    assert any(PATIENT.first_name in text for text in desk.window.banner.texts)

    await desk.session.sign_out(remove_patient_data=True)

    errors = [m.text for m in messages if m.level is Level.ERROR]
    assert len(errors) == 1
    assert "could not be removed" in errors[0]
    assert "result PDFs" in errors[0]
    assert "sign out again" in errors[0]
    assert desk.session.view.state is SessionState.SIGNED_OUT
    # The account's messages went with it; what the sign-out itself says stays on screen.
    assert desk.window.banner.texts == [errors[0]]


class StalledCatalogRupa(FakeRupa):
    """The fake Rupa, whose catalog never answers: the first sync stays in progress."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self.catalog_asked = asyncio.Event()

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle_async)

    async def _handle_async(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/lab_companies"):
            self.catalog_asked.set()
            await asyncio.Event().wait()
        return self._handle(request)


async def test_signing_out_during_the_first_sync_leaves_nothing_in_the_status_bar(
    make_desk: MakeDesk, environment: Environment
) -> None:
    rupa = StalledCatalogRupa(environment)
    desk = await signed_in_desk(make_desk, environment, rupa)
    await asyncio.wait_for(rupa.catalog_asked.wait(), 30)
    await wait_until(lambda: "Catalog sync progress" in desk.status_bar.texts())
    assert "Catalog" in desk.status_bar.texts()

    await desk.session.sign_out(remove_patient_data=False)

    texts = desk.status_bar.texts()
    assert "Catalog sync progress" not in texts
    assert "Catalog" not in texts  # the account's catalog age went with the account
    assert texts["Signed-in practitioner"] == "Not signed in"
    assert desk.sign_in_page.isVisible()


async def test_on_a_shared_pc_removing_patient_data_is_ticked_and_can_be_unticked(
    make_desk: MakeDesk, environment: Environment, rupa: FakeRupa, app_paths: AppPaths
) -> None:
    desk = await signed_in_desk(
        make_desk, environment, rupa, managed=ManagedSettings(shared_pc=True)
    )
    desk.window.sign_out_requested.emit()
    dialog = desk.window.findChild(SignOutDialog)
    assert dialog is not None
    assert dialog.remove_patient_data.isChecked()
    assert dialog.remove_patient_data.isEnabled()
    assert "shared" in dialog.remove_patient_data.toolTip()
    dialog.remove_patient_data.click()  # still the user's choice
    assert not dialog.remove_patient_data.isChecked()
    dialog.reject()


async def test_on_a_pc_not_marked_shared_removing_patient_data_starts_unticked(
    make_desk: MakeDesk, environment: Environment, rupa: FakeRupa
) -> None:
    desk = await signed_in_desk(make_desk, environment, rupa)
    desk.window.sign_out_requested.emit()
    dialog = desk.window.findChild(SignOutDialog)
    assert dialog is not None
    assert not dialog.remove_patient_data.isChecked()
    dialog.reject()


async def test_a_search_typed_just_before_closing_does_not_read_the_closed_database(
    qtbot: QtBot, make_desk: MakeDesk, environment: Environment
) -> None:
    """A test search waits a moment after the last key: the account closing in that moment
    (quit, sign-out) must leave nothing in its panes to run against the closed database
    (pytest-qt fails the test on an exception in the event loop)."""
    desk = await signed_in_desk(make_desk, environment, download=True)
    workspace = desk.workspace
    assert workspace is not None
    drafts = desk.window.pane("drafts")
    assert isinstance(drafts, DraftsPage)
    desk.window.show_pane("drafts")
    drafts.new_button.click()
    search = drafts.editor.test_search
    await wait_until(lambda: search.isEnabled())
    qtbot.keyClicks(search, "lip")
    qtbot.keyClicks(search, "i")  # the last key: its search waits for the pause

    def pending() -> list[QTimer]:
        return [t for t in drafts.findChildren(QTimer) if t.isActive()]

    assert pending()  # the search is still to run
    await workspace.close(remove_patient_data=False)  # as quitting and signing out do
    desk.workspace = None  # closed here, not again by the fixture
    assert pending() == []
    assert not drafts.isEnabled()
    await asyncio.sleep(3 * search.settle_ms / 1000)  # past the pause: nothing ran
