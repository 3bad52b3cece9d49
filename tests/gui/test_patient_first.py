"""Patient first: "New order" on a patient (her row, her detail, Ctrl+Enter) opens a draft for
her in the Draft orders pane; "New draft" is for the selected patient; the catalog's "Add to
draft" asks which draft when that is not clear. The whole app against the simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest_asyncio
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from rupa_desk.core.models import Patient
from rupa_desk.desk import Desk
from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.services.store import Store
from rupa_desk.ui.account_workspace import AccountWorkspace
from rupa_desk.ui.components.patient_list_model import NEW_ORDER, NEW_ORDER_COLUMN
from rupa_desk.ui.messages import Message
from rupa_desk.ui.pages.catalog import CatalogPage
from rupa_desk.ui.pages.drafts import DraftsPage
from rupa_desk.ui.pages.patients import PatientsPage
from rupa_desk.ui.presenters.drafts import DraftsPresenter
from tests.fixtures.demo_desk import demo_desk
from tests.fixtures.desk import MakeDesk
from tests.fixtures.qt import unnamed_controls, wait_until


@dataclass
class App:
    desk: Desk
    workspace: AccountWorkspace
    store: Store
    patients: PatientsPage
    catalog: CatalogPage
    drafts: DraftsPage
    presenter: DraftsPresenter
    messages: list[Message]

    def patient(self, index: int = 0) -> Patient:
        return self.patients.model.patient(index)


@pytest_asyncio.fixture
async def app(make_desk: MakeDesk, sandbox: SandboxServer) -> AsyncIterator[App]:
    desk = await demo_desk(make_desk, sandbox)
    workspace = desk.workspace
    assert workspace is not None
    window = desk.window
    patients, catalog, drafts = (window.pane(k) for k in ("patients", "catalog", "drafts"))
    assert isinstance(patients, PatientsPage)
    assert isinstance(catalog, CatalogPage)
    assert isinstance(drafts, DraftsPage)
    messages: list[Message] = []
    desk.bridge.message_shown.connect(messages.append)
    window.show_pane("patients")
    await wait_until(lambda: patients.model.rowCount() > 1)
    yield App(
        desk,
        workspace,
        workspace.store,
        patients,
        catalog,
        drafts,
        workspace.orders.drafts,
        messages,
    )


async def select_row(app: App, row: int) -> Patient:
    app.patients.table.selectRow(row)
    patient = app.patient(row)
    await wait_until(lambda: app.workspace.patients.selected_patient_id == patient.id)
    await wait_until(
        lambda: (
            app.patients.detail.detail is not None
            and app.patients.detail.detail.patient.id == patient.id
        )
    )
    return patient


def drafts_of(app: App, patient_id: str | None) -> list[str]:
    return [d.id for d in app.store.drafts.all() if d.patient_id == patient_id]


async def test_new_order_on_a_patient_row_opens_a_draft_for_her_ready_for_tests(
    qtbot: QtBot, app: App
) -> None:
    table = app.patients.table
    patient = app.patient(1)
    cell = app.patients.model.index(1, NEW_ORDER_COLUMN)
    assert cell.data() == NEW_ORDER  # a button on every row
    qtbot.mouseClick(
        table.viewport(), Qt.MouseButton.LeftButton, pos=table.visualRect(cell).center()
    )
    await wait_until(lambda: app.desk.window.current_pane() == "drafts")
    [draft_id] = drafts_of(app, patient.id)
    editor = app.drafts.editor
    assert editor.draft_id == draft_id
    assert editor.patient_label.text() == patient.full_name
    assert app.drafts.cell(app.drafts.row_of(draft_id), 0) == patient.full_name
    await wait_until(lambda: editor.test_search.hasFocus())  # the next step: add tests
    assert unnamed_controls(app.patients) == []


async def test_ctrl_enter_and_the_detail_open_her_draft_without_making_empty_ones(
    qtbot: QtBot, app: App
) -> None:
    window = app.desk.window
    patient = await select_row(app, 0)
    app.patients.table.setFocus()
    qtbot.keyClick(app.patients.table, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    await wait_until(lambda: window.current_pane() == "drafts")
    [draft_id] = drafts_of(app, patient.id)
    assert app.presenter.current == draft_id

    # Ctrl+Enter also works from the search box. In the new-patient form it is "Create and
    # start order": an empty form creates nobody and orders for nobody.
    window.show_pane("patients")
    app.patients.new_button.click()  # the form is shown, focus in its first field
    form_field = app.patients.form.quick_entry
    await wait_until(lambda: form_field.hasFocus())
    qtbot.keyClick(form_field, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    await wait_until(lambda: bool(app.patients.form.field_error("first_name")))
    assert window.current_pane() == "patients"
    assert app.patients.showing_form
    assert drafts_of(app, patient.id) == [draft_id]
    app.patients.form.cancelled.emit()
    app.patients.search_box.setFocus()
    qtbot.keyClick(app.patients.search_box, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    await wait_until(lambda: window.current_pane() == "drafts")
    assert drafts_of(app, patient.id) == [draft_id]

    window.show_pane("patients")
    assert app.patients.detail.new_order_button.isVisible()
    app.patients.detail.new_order_button.click()
    await wait_until(lambda: window.current_pane() == "drafts")
    assert drafts_of(app, patient.id) == [draft_id]  # still empty: opened again, not a copy
    assert app.drafts.editor.draft_id == draft_id

    # Her detail lists the draft; Enter (or a double-click) on it opens it again.
    app.presenter.set_current(None)
    window.show_pane("patients")
    drafts_list = app.patients.detail.drafts
    await wait_until(lambda: drafts_list.count() == 1)
    drafts_list.setFocus()
    drafts_list.setCurrentRow(0)
    qtbot.keyClick(drafts_list, Qt.Key.Key_Return)
    await wait_until(lambda: window.current_pane() == "drafts")
    assert app.drafts.editor.draft_id == draft_id


async def test_new_draft_is_for_the_patient_selected_in_patients(app: App) -> None:
    patient = await select_row(app, 2)
    app.desk.window.show_pane("drafts")
    assert patient.full_name in app.drafts.new_button.toolTip()
    app.drafts.new_button.click()
    draft_id = app.presenter.current
    assert draft_id is not None
    assert app.store.drafts.get(draft_id).patient_id == patient.id
    assert app.drafts.editor.patient_label.text() == patient.full_name


async def add_from_catalog(qtbot: QtBot, app: App, row: int = 0) -> str:
    """Search the catalog and press Enter on a result (as a person adds a test)."""
    app.desk.window.show_pane("catalog")
    presenter = app.workspace.catalog
    await presenter.search("panel")
    await wait_until(lambda: presenter.model.rowCount() > row)
    table = app.catalog.table
    table.setFocus()
    table.selectRow(row)
    test_id = presenter.model.hit(row).id
    qtbot.keyClick(table, Qt.Key.Key_Return)
    return test_id


async def test_add_to_draft_asks_which_draft_when_several_are_open(qtbot: QtBot, app: App) -> None:
    ada, grace = app.patient(0), app.patient(1)
    for patient in (ada, grace):
        assert app.presenter.new_order(patient.id)
    app.presenter.set_current(None)  # as after a restart: no draft shown
    test_id = await add_from_catalog(qtbot, app)
    chooser = app.drafts.chooser
    await wait_until(lambda: chooser.dialog is not None)
    dialog = chooser.dialog
    assert dialog is not None
    labels = [dialog.choices.item(i).text() for i in range(dialog.choices.count())]
    assert any(label.startswith(ada.full_name) for label in labels)
    assert any(label.startswith(grace.full_name) for label in labels)
    assert "A new draft (choose the patient afterwards)" in labels
    assert unnamed_controls(dialog) == []
    dialog.choose(next(label for label in labels if label.startswith(grace.full_name)))
    [grace_draft] = drafts_of(app, grace.id)
    await wait_until(lambda: app.store.drafts.get(grace_draft).lab_test_ids == (test_id,))
    [ada_draft] = drafts_of(app, ada.id)
    assert app.store.drafts.get(ada_draft).lab_test_ids == ()
    await wait_until(lambda: any(f"draft for {grace.full_name}" in m.text for m in app.messages))
    assert app.presenter.current == grace_draft


async def test_add_to_draft_asks_rather_than_make_a_draft_without_patient(
    qtbot: QtBot, app: App
) -> None:
    await add_from_catalog(qtbot, app)  # no draft, nobody selected
    chooser = app.drafts.chooser
    await wait_until(lambda: chooser.dialog is not None)
    dialog = chooser.dialog
    assert dialog is not None
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)  # cancel: nothing is added anywhere
    await wait_until(lambda: chooser.dialog is None)
    assert app.store.drafts.all() == []
    assert not any("Added" in m.text for m in app.messages)

    # A patient selected and no draft yet: the new draft is hers, no question asked.
    patient = await select_row(app, 1)
    test_id = await add_from_catalog(qtbot, app, row=1)
    await wait_until(lambda: len(drafts_of(app, patient.id)) == 1)
    [draft_id] = drafts_of(app, patient.id)
    await wait_until(lambda: app.store.drafts.get(draft_id).lab_test_ids == (test_id,))
    assert chooser.dialog is None
    assert drafts_of(app, None) == []


async def test_her_detail_follows_her_draft_but_not_each_keystroke_of_a_note(
    qtbot: QtBot, app: App
) -> None:
    patient = await select_row(app, 0)
    assert app.presenter.new_order(patient.id)
    panel = app.patients.detail
    await wait_until(lambda: panel.drafts.count() == 1)
    assert "0 tests" in panel.drafts.item(0).text()
    shown: list[object] = []
    app.workspace.patients.detail_changed.connect(shown.append)
    [draft_id] = drafts_of(app, patient.id)
    assert app.drafts.editor.draft_id == draft_id  # the keys below go to her draft
    qtbot.keyClicks(app.drafts.editor.notes, "Fasting")
    qtbot.keyClicks(app.drafts.editor.internal_note, "Call first")
    saved = app.store.drafts.get(draft_id)
    assert (saved.notes, saved.internal_note) == ("Fasting", "Call first")
    assert shown == []  # the panel is not rebuilt for every key of a note
    await add_from_catalog(qtbot, app)
    await wait_until(lambda: "1 test" in panel.drafts.item(0).text())


async def test_selecting_another_patient_after_a_draft_asks_once_where_tests_go(
    qtbot: QtBot, app: App
) -> None:
    ada = app.patient(0)
    assert app.presenter.new_order(ada.id)  # her draft is shown in Draft orders
    [ada_draft] = drafts_of(app, ada.id)
    grace = await select_row(app, 1)  # then the desk selects Grace in Patients
    await add_from_catalog(qtbot, app)
    chooser = app.drafts.chooser
    await wait_until(lambda: chooser.dialog is not None)
    dialog = chooser.dialog
    assert dialog is not None
    labels = [dialog.choices.item(i).text() for i in range(dialog.choices.count())]
    assert labels[0].startswith(ada.full_name)  # the draft shown comes first
    assert f"A new draft for {grace.full_name}" in labels
    dialog.choose(labels[0])
    await wait_until(lambda: len(app.store.drafts.get(ada_draft).lab_test_ids) == 1)

    # Answered: the next test goes to the same draft without asking again.
    await add_from_catalog(qtbot, app, row=1)
    await wait_until(lambda: len(app.store.drafts.get(ada_draft).lab_test_ids) == 2)
    assert chooser.dialog is None
    assert drafts_of(app, grace.id) == []


def sandbox_patients_with(sandbox: SandboxServer, email: str) -> list[str]:
    """The simulator's own patients with this email (read from its data, not the app's)."""
    return [p.id for p in sandbox.state.patients.values() if p.email.casefold() == email]


async def test_name_and_email_in_one_line_then_ctrl_enter_creates_her_and_opens_her_order(
    qtbot: QtBot, app: App, sandbox: SandboxServer
) -> None:
    window = app.desk.window
    window.command_action("new_patient").trigger()
    form = app.patients.form
    await wait_until(form.quick_entry.hasFocus)
    qtbot.keyClicks(form.quick_entry, "Garcia Lopez, Maria maria.gl@example.test")
    assert form.fields["first_name"].text() == "Maria"  # the split is shown, to correct
    assert form.fields["last_name"].text() == "Garcia Lopez"
    assert form.fields["email"].text() == "maria.gl@example.test"
    qtbot.keyClick(form.quick_entry, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)

    await wait_until(lambda: window.current_pane() == "drafts", within=30)
    [rupa_id] = sandbox_patients_with(sandbox, "maria.gl@example.test")
    [maria] = app.store.patients.search("maria.gl@example.test")
    assert (maria.id, maria.first_name, maria.last_name) == (rupa_id, "Maria", "Garcia Lopez")
    [draft_id] = drafts_of(app, maria.id)
    editor = app.drafts.editor
    assert editor.draft_id == draft_id
    await wait_until(editor.test_search.hasFocus)  # the next step: her tests
    assert not app.patients.showing_form
    assert unnamed_controls(app.patients) == []


async def test_enter_in_the_one_line_creates_her_without_an_order(
    qtbot: QtBot, app: App, sandbox: SandboxServer
) -> None:
    window = app.desk.window
    app.patients.new_button.click()
    form = app.patients.form
    await wait_until(form.quick_entry.hasFocus)
    qtbot.keyClicks(form.quick_entry, "Lena Quickly lena.q@example.test")
    qtbot.keyClick(form.quick_entry, Qt.Key.Key_Return)
    await wait_until(lambda: not app.patients.showing_form, within=30)
    [lena] = app.store.patients.search("lena.q@example.test")
    assert sandbox_patients_with(sandbox, "lena.q@example.test") == [lena.id]
    await wait_until(lambda: app.patients.selected_patient_id() == lena.id)
    assert window.current_pane() == "patients"
    assert drafts_of(app, lena.id) == []


async def test_create_and_start_order_with_a_duplicate_orders_for_the_patient_chosen(
    qtbot: QtBot, app: App, sandbox: SandboxServer
) -> None:
    """The duplicate check still runs: "Use this patient" orders for her, nobody is created."""
    window = app.desk.window
    existing = app.patient(0)
    patients_before = len(sandbox.state.patients)
    app.patients.new_button.click()
    form = app.patients.form
    await wait_until(form.quick_entry.hasFocus)
    qtbot.keyClicks(form.quick_entry, f"Someone Else {existing.email.upper()}")
    form.order_button.click()
    await wait_until(lambda: app.patients.duplicate_dialog is not None)
    dialog = app.patients.duplicate_dialog
    assert dialog is not None
    await wait_until(dialog.isVisible)
    dialog.use_button.click()
    await wait_until(lambda: window.current_pane() == "drafts", within=30)
    [draft_id] = drafts_of(app, existing.id)
    assert app.drafts.editor.draft_id == draft_id
    assert len(sandbox.state.patients) == patients_before


async def test_the_new_patient_form_gets_room_for_a_name_and_an_email(app: App) -> None:
    """In a window of the usual size the list gives way to the form, up to half the pane."""
    from rupa_desk.ui.pages.patients import FORM_WIDTH

    window = app.desk.window
    window.resize(1180, 760)
    await wait_until(lambda: window.width() == 1180)
    splitter = app.patients.splitter
    splitter.setSizes([900, 200])  # a narrow right side, as a person may have left it
    app.patients.new_button.click()
    total = sum(splitter.sizes())
    await wait_until(lambda: splitter.sizes()[1] >= min(FORM_WIDTH, total // 2) - 1)
    assert app.patients.form.quick_entry.width() >= 300  # a name and an email, whole
    assert splitter.sizes()[0] >= total // 2 - 1  # the list keeps at least half
