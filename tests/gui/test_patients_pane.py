"""The Patients pane: offline search, refresh, new patient with validation and duplicates,
and the patient detail. Creation and refresh run against the simulator over loopback HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date

import pytest_asyncio
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from rupa_desk.core.models import Patient
from rupa_desk.core.validation import PatientForm
from rupa_desk.paths import AppPaths
from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.services import listings
from rupa_desk.services.api import RupaClient
from rupa_desk.services.store import Store
from rupa_desk.ui.messages import Message, MessageBridge
from rupa_desk.ui.pages.patients import PatientsPage
from rupa_desk.ui.presenters.connectivity import Connectivity
from rupa_desk.ui.presenters.patients import LOADING_ORDERS, FormProblems, PatientsPresenter
from tests.fixtures.catalog_sync import api_requests, simulator_client
from tests.fixtures.orders_env import set_faults
from tests.fixtures.qt import settle, unnamed_controls, wait_until

ADA = Patient(
    id="pat_Ada0001",
    first_name="Ada",
    last_name="Lovelace",
    email="ada@example.com",
    birthday=date(1985, 12, 10),
)
GRACE = Patient(
    id="pat_Grc0001",
    first_name="Grace",
    last_name="Hopper",
    email="grace@example.com",
    birthday=date(1906, 12, 9),
)


@dataclass
class Pane:
    page: PatientsPage
    presenter: PatientsPresenter
    store: Store
    client: RupaClient
    sandbox: SandboxServer
    messages: list[Message]

    def posted_patients(self) -> list[dict[str, object]]:
        return [
            r
            for r in api_requests(self.sandbox.url)
            if r["method"] == "POST" and r["path"] == "/patients"
        ]


@pytest_asyncio.fixture
async def pane(qtbot: QtBot, app_paths: AppPaths, sandbox: SandboxServer) -> AsyncIterator[Pane]:
    store = Store.open(app_paths.data_dir / "patients-test.sqlite3")
    client = simulator_client(sandbox.url)
    bridge = MessageBridge()
    messages: list[Message] = []
    bridge.message_shown.connect(messages.append)
    bridge.attach()
    presenter = PatientsPresenter(
        store.patients, store.drafts, store.patient_forms, client, bridge, Connectivity()
    )
    page = PatientsPage(presenter)
    qtbot.addWidget(page)
    page.resize(1000, 700)
    page.show()
    store.patients.upsert([ADA, GRACE])
    await presenter.search("")
    try:
        yield Pane(page, presenter, store, client, sandbox, messages)
    finally:
        await presenter.close()
        await client.aclose()
        store.close()


def detail_loaded(pane: Pane) -> bool:
    detail = pane.page.detail.detail
    return detail is not None and detail.orders_problem != LOADING_ORDERS


def listed(pane: Pane) -> list[str]:
    return [pane.page.model.patient(r).id for r in range(pane.page.model.rowCount())]


async def test_the_list_is_searchable_offline_by_name_email_and_birthday(
    qtbot: QtBot, pane: Pane
) -> None:
    assert listed(pane) == [GRACE.id, ADA.id]  # by last name
    for text, expected in (
        ("ada", [ADA.id]),
        ("hop", [GRACE.id]),
        ("grace@", [GRACE.id]),
        ("1985-12-10", [ADA.id]),
        ("12/09/1906", [GRACE.id]),
        ("nobody", []),
    ):
        pane.page.search_box.clear()
        qtbot.keyClicks(pane.page.search_box, text)
        pane.page.search_box.flush()
        await wait_until(lambda text=text: pane.presenter.search_text == text)
        await wait_until(lambda expected=expected: listed(pane) == expected)
    assert pane.posted_patients() == []


async def test_refresh_downloads_the_patients_from_rupa(pane: Pane) -> None:
    pane.page.refresh_button.click()
    await wait_until(lambda: pane.presenter.count() > 2, within=30)
    await wait_until(lambda: pane.page.refresh_button.isEnabled())
    assert pane.presenter.count() == 2 + pane.sandbox.config.patients
    assert "patients" in pane.page.summary.text()


async def test_required_fields_are_checked_before_anything_is_sent(pane: Pane) -> None:
    pane.page.new_button.click()
    assert pane.page.showing_form
    pane.page.form.fill(PatientForm(first_name="Jo", email="not-an-email", birthday="2999-01-01"))
    pane.page.form.create_button.click()
    form = pane.page.form
    await wait_until(lambda: form.field_error("last_name"))
    assert form.field_error("last_name") == "Last name is required."
    assert "email address" in form.field_error("email")
    assert "future" in form.field_error("birthday")
    assert form.field_error("first_name") == ""
    assert pane.posted_patients() == []


async def test_the_servers_validation_errors_show_on_the_right_field(pane: Pane) -> None:
    pane.page.new_button.click()
    # 7 digits pass Rupa Desk's own check (a local number) but not the server's.
    pane.page.form.fill(
        PatientForm(
            first_name="Katherine", last_name="Johnson", email="kj@example.com", phone="555-0100"
        )
    )
    assert await pane.presenter.create_patient(pane.page.form.form()) is False
    assert "phone" in pane.page.form.field_error("phone").lower()
    assert pane.page.form.field_error("email") == ""
    assert len(pane.posted_patients()) == 1


async def test_a_possible_duplicate_is_shown_first_with_use_this_patient_as_default(
    pane: Pane,
) -> None:
    pane.page.new_button.click()
    pane.page.form.fill(
        PatientForm(first_name="Augusta", last_name="King", email="ADA@example.com")
    )
    pane.page.form.create_button.click()
    await wait_until(lambda: pane.page.duplicate_dialog is not None)
    dialog = pane.page.duplicate_dialog
    assert dialog is not None
    await wait_until(dialog.isVisible)
    assert dialog.use_button.isDefault()
    assert "same email" in dialog.matches.item(0).text()
    assert pane.posted_patients() == []

    dialog.use_button.click()
    await wait_until(lambda: detail_loaded(pane))
    detail = pane.page.detail.detail
    assert detail is not None
    assert detail.patient.id == ADA.id
    assert not pane.page.showing_form
    assert pane.page.selected_patient_id() == ADA.id
    assert pane.posted_patients() == []


async def test_same_name_and_birthday_is_a_duplicate_and_can_be_created_anyway(
    pane: Pane,
) -> None:
    pane.page.new_button.click()
    pane.page.form.fill(
        PatientForm(
            first_name="grace",
            last_name="HOPPER",
            email="amazing.grace@example.com",
            birthday="1906-12-09",
        )
    )
    pane.page.form.create_button.click()
    await wait_until(lambda: pane.page.duplicate_dialog is not None)
    dialog = pane.page.duplicate_dialog
    assert dialog is not None
    assert "same name and birthday" in dialog.matches.item(0).text()
    dialog.create_button.click()
    await wait_until(lambda: len(pane.posted_patients()) == 1)
    await wait_until(lambda: not pane.page.showing_form)
    await wait_until(lambda: detail_loaded(pane))
    assert pane.presenter.count() == 3
    assert "Created" in pane.messages[-1].text


async def test_a_new_patient_is_created_on_rupa_cached_and_shown(pane: Pane) -> None:
    pane.page.new_button.click()
    pane.page.form.fill(
        PatientForm(
            first_name="Katherine",
            last_name="Johnson",
            email="katherine@example.com",
            birthday="1918-08-26",
            phone="(555) 010-0123",
            gender="female",
            street_1="1 Main St",
            city="Hampton",
            state="VA",
            zip="23669",
        )
    )
    assert await pane.presenter.create_patient(pane.page.form.form())
    posted = pane.posted_patients()
    assert len(posted) == 1
    assert posted[0]["status"] == 201
    found = pane.store.patients.search("katherine")
    assert len(found) == 1
    assert found[0].id.startswith("pat_")
    assert found[0].address is not None
    assert found[0].address.zip == "23669"
    assert pane.page.selected_patient_id() == found[0].id
    await wait_until(lambda: pane.page.detail.detail is not None)
    assert pane.page.detail.values["email"].text() == "katherine@example.com"
    assert pane.page.form.form() == PatientForm()  # the form is cleared
    await settle()


async def test_the_detail_shows_demographics_drafts_and_orders(pane: Pane) -> None:
    await pane.presenter.refresh()
    patient = next(p for p in pane.store.patients.search("", limit=500) if p.id.startswith("pat_"))
    orders = pane.client.first_page(listings.orders(patient=patient.id))
    with_orders = None
    for candidate in pane.store.patients.search("", limit=500):
        page = await pane.client.first_page(listings.orders(patient=candidate.id))
        if page.items:
            with_orders = candidate
            break
    orders.close()
    assert with_orders is not None, "the simulator seeds orders for some patients"
    draft_id = pane.store.drafts.create(patient_id=with_orders.id)
    pane.store.drafts.add_test(draft_id, "labts_0000001", name="Lipid Panel", price=None)
    pane.page.search_box.setText(with_orders.email)
    await pane.presenter.search(with_orders.email)
    pane.page.select_patient(with_orders.id)
    await wait_until(lambda: pane.page.detail.orders.count() > 0)
    panel = pane.page.detail
    assert panel.name.text() == with_orders.full_name
    assert panel.values["email"].text() == with_orders.email
    shown = [label.text() for label in panel.findChildren(QLabel) if label.isVisible()]
    assert not any(with_orders.id in text for text in shown)  # no id in the words
    assert f"Rupa's reference: {with_orders.id}" in panel.name.toolTip()
    assert panel.drafts.count() == 1
    assert "1 test" in panel.drafts.item(0).text()
    assert "Orders on Rupa" in panel.orders_label.text()


async def test_every_control_has_an_accessible_name(pane: Pane) -> None:
    assert unnamed_controls(pane.page) == []
    pane.page.new_button.click()
    assert unnamed_controls(pane.page) == []


async def test_the_duplicate_check_falls_back_to_the_local_list_when_rupa_fails(
    pane: Pane,
) -> None:
    """A 5xx (or any error answer) from Rupa while looking for the email is not a bug: the
    local list answers alone, and the user still sees the local match."""
    set_faults(pane.sandbox.url, fault_5xx_rate=1.0)
    try:
        found = await pane.presenter.possible_duplicates(
            PatientForm(first_name="Ada", last_name="Lovelace", email=ADA.email)
        )
    finally:
        set_faults(pane.sandbox.url, fault_5xx_rate=0.0)
    assert [d.patient.id for d in found] == [ADA.id]
    assert any(
        r["method"] == "GET" and r["path"] == "/patients" and r.get("fault") == "5xx"
        for r in api_requests(pane.sandbox.url)
    )


async def test_a_create_whose_answer_was_lost_says_it_may_have_been_created(pane: Pane) -> None:
    """The connection broke after the request went out: the form must not claim the patient
    was not created (Rupa may have it), and says why sending it again is safe."""
    pane.page.new_button.click()
    pane.page.form.fill(PatientForm(first_name="Mary", last_name="Jackson", email="mj@example.com"))
    shown: list[FormProblems] = []
    pane.presenter.form_problems.connect(shown.append)
    set_faults(pane.sandbox.url, drop_rate=1.0)
    try:
        assert await pane.presenter.create_patient(pane.page.form.form()) is False
    finally:
        set_faults(pane.sandbox.url, drop_rate=0.0)
    [problem] = shown[-1].general
    assert "may have been created" in problem
    assert "not created twice" in problem
    assert "was not created" not in problem
    assert pane.posted_patients()  # it did go out
