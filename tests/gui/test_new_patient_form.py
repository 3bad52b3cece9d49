"""The new-patient form is saved as it is typed: reopening restores it, creating clears it, a
failed create keeps it with its problems, Cancel asks before discarding what was typed.

The pane runs on a database file (opened again as the app does at its next start) and a real
client against the simulator over loopback HTTP.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

import pytest
import pytest_asyncio
import shiboken6
from PySide6.QtWidgets import QComboBox, QLineEdit
from pytestqt.qtbot import QtBot

from rupa_desk.core.models import Address, Page, Patient
from rupa_desk.core.validation import PatientForm
from rupa_desk.paths import AppPaths
from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.services.api import RupaClient
from rupa_desk.services.listings import Listing
from rupa_desk.services.store import PatientFormStatus, Store, connect
from rupa_desk.services.store.patient_forms import SavedPatientForm
from rupa_desk.settings import demo
from rupa_desk.ui.messages import MessageBridge
from rupa_desk.ui.pages.patients import PatientsPage
from rupa_desk.ui.presenters.connectivity import Connectivity
from rupa_desk.ui.presenters.patients import FORM_RETRY_MS, PatientsPresenter
from tests.fixtures.catalog_sync import SimulatorTokens, api_requests
from tests.fixtures.qt import settle, wait_until

KATHERINE = PatientForm(
    first_name="Katherine",
    last_name="Johnson",
    email="katherine.j@example.com",
    birthday="1918-08-26",
    phone="(555) 010-0123",
    gender="female",
    street_1="1 Main St",
    city="Hampton",
    state="VA",
    zip="23669",
)

T = TypeVar("T")


class WatchedClient:
    """The real client, noting what the database held when each request went out."""

    def __init__(self, client: RupaClient, bench: Bench) -> None:
        self._client = client
        self._bench = bench
        self.requests: list[tuple[str, SavedPatientForm | None]] = []

    async def iterate(self, listing: Listing[T]) -> AsyncIterator[T]:
        self.requests.append(("GET /patients", self._bench.saved()))
        async for item in self._client.iterate(listing):
            yield item

    async def create_patient(
        self,
        first_name: str,
        last_name: str,
        email: str,
        *,
        birthday: date | None = None,
        phone: str | None = None,
        gender: str | None = None,
        address: Address | None = None,
    ) -> tuple[Patient, bool]:
        self.requests.append(("POST /patients", self._bench.saved()))
        return await self._client.create_patient(
            first_name,
            last_name,
            email,
            birthday=birthday,
            phone=phone,
            gender=gender,
            address=address,
        )

    async def first_page(self, listing: Listing[T]) -> Page[T]:
        return await self._client.first_page(listing)


@dataclass
class Pane:
    page: PatientsPage
    presenter: PatientsPresenter
    store: Store


class Bench:
    """Opens the Patients pane on one account database, as the app does at each start."""

    def __init__(self, qtbot: QtBot, path: Path, sandbox: SandboxServer) -> None:
        self.qtbot = qtbot
        self.path = path
        self.sandbox = sandbox
        # One attempt per request: "offline" fails at once instead of after the backoff.
        environment = demo(sandbox.url)
        limits = dataclasses.replace(environment.limits, max_attempts=1)
        self.client = RupaClient(
            dataclasses.replace(environment, limits=limits), SimulatorTokens(sandbox.url)
        )
        self.source = WatchedClient(self.client, self)
        self.bridge = MessageBridge()
        self.bridge.attach()
        self.pane: Pane | None = None

    async def open(self) -> Pane:
        store = Store.open(self.path)
        presenter = PatientsPresenter(
            store.patients,
            store.drafts,
            store.patient_forms,
            self.source,
            self.bridge,
            Connectivity(),
        )
        page = PatientsPage(presenter)
        self.qtbot.addWidget(page)
        page.resize(1000, 700)
        page.show()
        await presenter.search("")
        self.pane = Pane(page, presenter, store)
        return self.pane

    async def close(self) -> None:
        """Close the pane and its database (the app quits)."""
        if self.pane is None:
            return
        pane, self.pane = self.pane, None
        try:
            await settle()
            await pane.presenter.close()
            if shiboken6.isValid(pane.page):  # at teardown, pytest-qt may have deleted it
                pane.page.close()
        finally:
            pane.store.close()

    async def reopen(self) -> Pane:
        await self.close()
        return await self.open()

    def saved(self) -> SavedPatientForm | None:
        """The form the database holds now."""
        assert self.pane is not None
        return self.pane.store.patient_forms.load()

    def posted(self) -> list[dict[str, object]]:
        return [
            r
            for r in api_requests(self.sandbox.url)
            if r["method"] == "POST" and r["path"] == "/patients"
        ]


@pytest_asyncio.fixture
async def bench(qtbot: QtBot, app_paths: AppPaths, sandbox: SandboxServer) -> AsyncIterator[Bench]:
    bench = Bench(qtbot, app_paths.data_dir / "account.sqlite3", sandbox)
    await bench.open()
    try:
        yield bench
    finally:
        try:
            await bench.close()
        finally:
            await bench.client.aclose()


@pytest.fixture(autouse=True)
def _no_patient_data_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Whatever these tests do, nothing they type reaches the log."""
    yield
    logged = "\n".join(r.getMessage() for r in caplog.get_records("call"))
    for value in (*KATHERINE.as_dict().values(), "Ada", "ada@example.org"):
        if value:
            assert value not in logged


def choose_gender(page: PatientsPage, value: str) -> None:
    """Pick a gender in the list, as a user would."""
    combo = page.form.fields["gender"]
    assert isinstance(combo, QComboBox)
    combo.setFocus()
    combo.setCurrentIndex(combo.findData(value))


def type_form(qtbot: QtBot, page: PatientsPage, form: PatientForm) -> None:
    """Type each field as a user would, key by key."""
    for name, value in form.as_dict().items():
        if name == "gender":
            choose_gender(page, value)
        elif value:
            qtbot.keyClicks(page.form.fields[name], value)


async def test_every_keystroke_is_saved(qtbot: QtBot, bench: Bench) -> None:
    assert bench.pane is not None
    page = bench.pane.page
    page.new_button.click()
    typed = ""
    for char in "Ada":
        qtbot.keyClicks(page.form.fields["first_name"], char)
        typed += char
        saved = bench.saved()
        assert saved is not None
        assert saved.form == PatientForm(first_name=typed)
        assert saved.status is PatientFormStatus.EDITING
    qtbot.keyClicks(page.form.fields["email"], "ada@example.org")
    choose_gender(page, "other")
    saved = bench.saved()
    assert saved is not None
    assert saved.form == PatientForm(first_name="Ada", email="ada@example.org", gender="other")
    assert bench.source.requests == []  # typing sends nothing


async def test_typing_does_not_wait_for_a_busy_database_and_saves_once_it_is_free(
    qtbot: QtBot, bench: Bench
) -> None:
    assert bench.pane is not None
    page = bench.pane.page
    page.new_button.click()
    qtbot.keyClicks(page.form.fields["first_name"], "Ad")
    bench.pane.store.db.execute("PRAGMA busy_timeout = 60000")  # a waiting save: a minute
    other = connect(bench.path)
    try:
        other.execute("BEGIN IMMEDIATE")  # e.g. the catalog sync building its tables
        started = time.monotonic()
        qtbot.keyClicks(page.form.fields["first_name"], "a")
        assert time.monotonic() - started < 30  # it did not wait for the lock
        assert not bench.pane.presenter.form_saved
        await asyncio.sleep(3 * FORM_RETRY_MS / 1000)  # tried again meanwhile: still busy
        assert not bench.pane.presenter.form_saved
        other.execute("COMMIT")
    finally:
        other.close()
    await wait_until(lambda: bench.pane is not None and bench.pane.presenter.form_saved)
    saved = bench.saved()
    assert saved is not None
    assert saved.form == PatientForm(first_name="Ada")


async def test_reopening_the_app_restores_the_unsent_form(qtbot: QtBot, bench: Bench) -> None:
    assert bench.pane is not None
    bench.pane.page.new_button.click()
    type_form(qtbot, bench.pane.page, KATHERINE)

    pane = await bench.reopen()
    assert not pane.page.showing_form
    pane.page.new_button.click()
    assert pane.page.showing_form
    assert pane.page.form.form() == KATHERINE
    assert pane.page.form.notice.isVisible()
    assert "Restored the new patient you had not sent" in pane.page.form.notice.text()
    # restoring is not an edit: nothing was written or sent
    saved = bench.saved()
    assert saved is not None
    assert saved.form == KATHERINE
    assert bench.source.requests == []


async def test_create_saves_first_then_clears_the_form_once_the_patient_is_on_rupa(
    qtbot: QtBot, bench: Bench
) -> None:
    assert bench.pane is not None
    page = bench.pane.page
    page.new_button.click()
    page.form.fill(KATHERINE)  # filled from code: not saved yet
    assert bench.saved() is None
    page.form.create_button.click()
    await wait_until(lambda: not page.showing_form)

    # the lookup-first check and the POST each went out with the form already saved
    [(lookup, at_lookup), (post, at_post)] = bench.source.requests
    assert lookup == "GET /patients"
    assert at_lookup is not None
    assert at_lookup.form == KATHERINE
    assert at_lookup.status is PatientFormStatus.EDITING
    assert post == "POST /patients"
    assert at_post is not None
    assert at_post.form == KATHERINE
    assert at_post.status is PatientFormStatus.SENDING

    assert bench.saved() is None
    assert [r["status"] for r in bench.posted()] == [201]
    [cached] = bench.pane.store.patients.search("katherine.j@example.com")
    assert cached.id.startswith("pat_")
    pane = await bench.reopen()
    pane.page.new_button.click()
    assert pane.page.form.form() == PatientForm()
    assert not pane.page.form.notice.isVisible()


async def test_a_create_that_fails_offline_keeps_the_form_with_the_error(
    qtbot: QtBot, bench: Bench
) -> None:
    assert bench.pane is not None
    page = bench.pane.page
    page.new_button.click()
    type_form(qtbot, page, KATHERINE)
    bench.sandbox.stop()  # Rupa cannot be reached
    page.form.create_button.click()
    await wait_until(lambda: not page.form.general_error.isHidden())
    assert "cannot reach Rupa" in page.form.general_error.text()
    assert page.showing_form
    assert page.form.form() == KATHERINE
    saved = bench.saved()
    assert saved is not None
    assert saved.form == KATHERINE
    assert saved.status is PatientFormStatus.FAILED
    assert "cannot reach Rupa" in saved.general_errors[0]

    pane = await bench.reopen()
    pane.page.new_button.click()
    assert pane.page.form.form() == KATHERINE
    assert "did not succeed" in pane.page.form.notice.text()
    assert "cannot reach Rupa" in pane.page.form.general_error.text()


async def test_a_create_rupa_rejects_keeps_the_form_with_the_error_on_its_field(
    qtbot: QtBot, bench: Bench
) -> None:
    assert bench.pane is not None
    page = bench.pane.page
    page.new_button.click()
    # 7 digits pass Rupa Desk's own check (a local number) but not the server's.
    rejected = dataclasses.replace(KATHERINE, phone="555-0100")
    type_form(qtbot, page, rejected)
    page.form.create_button.click()
    await wait_until(lambda: page.form.field_error("phone") != "")
    assert [r["status"] for r in bench.posted()] == [400]  # Rupa: validation error
    saved = bench.saved()
    assert saved is not None
    assert saved.form == rejected
    assert saved.status is PatientFormStatus.FAILED
    assert "phone" in saved.field_errors

    pane = await bench.reopen()
    pane.page.new_button.click()
    assert pane.page.form.form() == rejected
    assert pane.page.form.field_error("phone") == saved.field_errors["phone"]

    # fixing the field is an edit: saved, and the old problem no longer applies
    phone = pane.page.form.fields["phone"]
    assert isinstance(phone, QLineEdit)
    phone.setFocus()
    phone.selectAll()
    qtbot.keyClicks(phone, "(555) 010-0123")
    again = bench.saved()
    assert again is not None
    assert again.form == KATHERINE
    assert again.status is PatientFormStatus.EDITING
    assert again.field_errors == {}


async def test_a_form_killed_while_sending_says_so_and_finds_the_patient_first(
    qtbot: QtBot, bench: Bench
) -> None:
    assert bench.pane is not None
    # What a kill during POST /patients leaves: the form saved as "sending", the patient
    # perhaps already created on Rupa.
    patient, created = await bench.client.create_patient(
        KATHERINE.first_name, KATHERINE.last_name, KATHERINE.email
    )
    assert created
    bench.pane.store.patient_forms.save(KATHERINE, status=PatientFormStatus.SENDING)

    pane = await bench.reopen()
    pane.page.new_button.click()
    assert "may already be on Rupa" in pane.page.form.notice.text()
    pane.page.form.create_button.click()
    await wait_until(lambda: pane.page.duplicate_dialog is not None)
    dialog = pane.page.duplicate_dialog
    assert dialog is not None
    assert "same email" in dialog.matches.item(0).text()
    dialog.use_button.click()
    await wait_until(lambda: pane.page.selected_patient_id() == patient.id)
    assert len(bench.posted()) == 1  # the one before the "kill": not created twice
    assert bench.saved() is None  # using the existing patient settles the form


async def test_cancel_on_an_empty_form_asks_nothing(bench: Bench) -> None:
    assert bench.pane is not None
    page = bench.pane.page
    page.new_button.click()
    page.form.cancel_button.click()
    assert not page.showing_form
    assert page.form.discard_bar.isHidden()
    assert bench.saved() is None


async def test_cancel_asks_before_discarding_and_discard_clears_the_saved_form(
    qtbot: QtBot, bench: Bench
) -> None:
    assert bench.pane is not None
    page = bench.pane.page
    page.new_button.click()
    qtbot.keyClicks(page.form.fields["last_name"], "Johnson")
    page.form.cancel_button.click()
    assert page.showing_form
    assert page.form.discard_bar.isVisible()

    page.form.keep_button.click()
    assert page.form.discard_bar.isHidden()
    assert page.form.form() == PatientForm(last_name="Johnson")
    assert bench.saved() is not None

    page.form.cancel_button.click()
    page.form.discard_button.click()
    assert not page.showing_form
    assert bench.saved() is None
    page.new_button.click()
    assert page.form.form() == PatientForm()
