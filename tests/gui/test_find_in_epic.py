"""Find in Epic on the Patients pane: search Epic (the Epic simulator over loopback HTTP),
"Use for Rupa" fills the new-patient form, and the Rupa patient created (on the Rupa
simulator) is linked to her Epic record."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import pytest_asyncio
from pytestqt.qtbot import QtBot

from rupa_desk.core.models import Patient
from rupa_desk.core.validation import PatientForm
from rupa_desk.epic_sandbox.server import EpicServer
from rupa_desk.paths import AppPaths
from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.services.api import RupaClient
from rupa_desk.services.epic.client import EpicClient
from rupa_desk.services.epic.connection import EpicConnection
from rupa_desk.services.secrets import MemorySecretStore
from rupa_desk.services.store import Store
from rupa_desk.settings import EpicSettings
from rupa_desk.ui.messages import Message, MessageBridge
from rupa_desk.ui.pages.patients import PatientsPage
from rupa_desk.ui.presenters.connectivity import Connectivity
from rupa_desk.ui.presenters.epic import HOW_EPIC_FINDS, EpicPresenter
from rupa_desk.ui.presenters.patients import PatientsPresenter
from tests.fixtures.catalog_sync import api_requests, simulator_client
from tests.fixtures.epic import PlayedEpicBrowser
from tests.fixtures.qt import settle, wait_until

CAMILA = "erXuFYUfucBZaryVksYEcMg3"


@dataclass
class Desk:
    page: PatientsPage
    presenter: PatientsPresenter
    epic_presenter: EpicPresenter
    store: Store
    sandbox: SandboxServer
    epic: EpicServer
    browser: PlayedEpicBrowser
    messages: list[Message]


@pytest_asyncio.fixture
async def desk(
    qtbot: QtBot, app_paths: AppPaths, sandbox: SandboxServer, epic: EpicServer
) -> AsyncIterator[Desk]:
    store = Store.open(app_paths.data_dir / "epic-test.sqlite3")
    client: RupaClient = simulator_client(sandbox.url)
    bridge = MessageBridge()
    messages: list[Message] = []
    bridge.message_shown.connect(messages.append)
    bridge.attach()
    browser = PlayedEpicBrowser()
    settings = EpicSettings(epic.fhir_base, "rupa-desk-epic-demo")
    connection = EpicConnection(settings, MemorySecretStore(), opener=browser)
    epic_client = EpicClient(settings, connection)
    epic_presenter = EpicPresenter(connection, epic_client, store.epic_links, bridge)
    presenter = PatientsPresenter(
        store.patients, store.drafts, store.patient_forms, client, bridge, Connectivity()
    )
    page = PatientsPage(presenter, epic=epic_presenter)
    qtbot.addWidget(page)
    page.resize(1000, 700)
    page.show()
    await presenter.search("")
    try:
        yield Desk(page, presenter, epic_presenter, store, sandbox, epic, browser, messages)
    finally:
        for dialog in (page.epic_dialog, page.schedule_dialog):
            if dialog is not None:
                dialog.close()
        await epic_presenter.close()
        await presenter.close()
        await epic_client.aclose()
        await connection.aclose()
        await client.aclose()
        store.close()


async def test_camila_found_in_epic_becomes_a_rupa_patient_linked_to_her_chart(
    desk: Desk,
) -> None:
    assert desk.page.epic_button.isVisible()
    desk.page.epic_button.click()
    dialog = desk.page.epic_dialog
    assert dialog is not None
    dialog.family.setText("Lopez")
    dialog.given.setText("Camila")
    dialog.birth_date.setText("1987-09-12")
    dialog.search_button.click()
    await wait_until(lambda: dialog.table.rowCount() == 1, within=30)
    assert len(desk.browser.authorize_urls) == 1  # connected first, in the browser
    assert dialog.table.item(0, 0).text() == "Camila Lopez"
    assert dialog.table.item(0, 3).text() == "203713"
    assert dialog.summary.text() == "1 patient(s) found in Epic."

    dialog.use_button.click()
    assert desk.page.showing_form
    assert desk.page.form.form() == PatientForm(
        first_name="Camila",
        last_name="Lopez",
        email="camila.lopez@example.com",
        birthday="1987-09-12",
        phone="608-555-1000",
        gender="female",
        street_1="100 Oak St",
        city="Madison",
        state="WI",
        zip="53703",
    )
    assert "Filled in from Epic" in desk.page.form.notice.text()

    desk.page.form.create_button.click()
    await wait_until(lambda: not desk.page.showing_form, within=30)
    created = desk.store.patients.search("camila")
    assert len(created) == 1
    posted = [
        r
        for r in api_requests(desk.sandbox.url)
        if r["method"] == "POST" and r["path"] == "/patients"
    ]
    assert len(posted) == 1
    link = desk.store.epic_links.link_for(created[0].id)
    assert link is not None
    assert (link.epic_patient_id, link.mrn) == (CAMILA, "203713")
    await settle()


async def test_a_bare_last_name_says_how_epic_finds_patients(desk: Desk) -> None:
    desk.page.epic_button.click()
    dialog = desk.page.epic_dialog
    assert dialog is not None
    dialog.family.setText("Lopez")
    dialog.search_button.click()
    await wait_until(lambda: HOW_EPIC_FINDS in dialog.summary.text())
    assert dialog.table.rowCount() == 0
    assert not dialog.use_button.isEnabled()
    assert desk.browser.authorize_urls == []  # nothing was asked of Epic
    await settle()


async def test_nobody_found_by_mrn_says_so(desk: Desk) -> None:
    desk.page.epic_button.click()
    dialog = desk.page.epic_dialog
    assert dialog is not None
    dialog.mrn.setText("999999")
    dialog.search_button.click()
    await wait_until(
        lambda: dialog.summary.text().startswith("No patient found in Epic."), within=30
    )
    assert dialog.table.rowCount() == 0
    await settle()


async def test_today_in_epic_lists_the_schedule_and_a_row_fills_the_form(desk: Desk) -> None:
    desk.page.schedule_button.click()
    await wait_until(lambda: desk.page.schedule_dialog is not None)
    dialog = desk.page.schedule_dialog
    assert dialog is not None
    await wait_until(
        lambda: dialog.table.rowCount() == desk.epic.config.appointments_today, within=30
    )
    assert dialog.timer.isActive()  # refreshed while open
    assert dialog.table.item(0, 0).text() == "08:00"
    assert dialog.table.item(0, 1).text() == "Booked"
    assert dialog.table.item(0, 2).text() == "Camila Lopez"
    assert dialog.table.item(0, 4).text() == ""  # not in Rupa yet
    assert "appointment(s) on" in dialog.summary.text()
    dialog.table.selectRow(0)
    dialog.use_button.click()
    await wait_until(lambda: desk.page.showing_form, within=30)
    assert desk.page.form.form().last_name == "Lopez"
    assert not dialog.timer.isActive()  # closed: no more refreshes
    await settle()


async def test_a_linked_patient_on_the_schedule_opens_in_rupa(desk: Desk) -> None:
    desk.store.patients.upsert(
        [Patient(id="pat_Cam0001", first_name="Camila", last_name="Lopez", email="c@example.com")]
    )
    await desk.presenter.search("")
    desk.store.epic_links.link("pat_Cam0001", CAMILA, "203713")
    desk.page.schedule_button.click()
    await wait_until(lambda: desk.page.schedule_dialog is not None)
    dialog = desk.page.schedule_dialog
    assert dialog is not None
    await wait_until(lambda: dialog.table.rowCount() > 0, within=30)
    assert dialog.table.item(0, 4).text() == "Yes"
    dialog.table.selectRow(0)
    dialog.use_button.click()
    await wait_until(lambda: desk.page.selected_patient_id() == "pat_Cam0001")
    assert not desk.page.showing_form
    await settle()


async def test_a_schedule_refresh_updates_the_rows_in_place_and_keeps_the_selection(
    desk: Desk,
) -> None:
    desk.page.schedule_button.click()
    await wait_until(lambda: desk.page.schedule_dialog is not None)
    dialog = desk.page.schedule_dialog
    assert dialog is not None
    await wait_until(lambda: dialog.table.rowCount() > 2, within=30)
    dialog.table.selectRow(2)
    chosen = dialog.table.item(2, 2).text()
    assert dialog.table.item(0, 4).text() == ""
    desk.store.epic_links.link("pat_Cam0001", CAMILA, "203713")  # Camila, meanwhile
    with desk.epic.epic.lock:
        first = desk.epic.epic.schedule[0]
        desk.epic.epic.schedule[0] = replace(first, status="arrived")
    dialog.refresh_button.click()
    await wait_until(lambda: dialog.table.item(0, 1).text() == "Arrived", within=30)
    assert dialog.table.item(0, 4).text() == "Yes"
    assert dialog.table.item(2, 2).text() == chosen
    assert [i.row() for i in dialog.table.selectionModel().selectedRows()] == [2]
    assert dialog.new_order_button.isEnabled()
    dialog.close()
    await settle()
