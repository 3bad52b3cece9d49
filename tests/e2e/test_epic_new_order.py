"""New order from Epic, end to end (the desk against the Rupa and Epic simulators over
loopback HTTP): a patient on Today in Epic who is not in Rupa Desk yet is added through "Use
for Rupa" and her draft opens; next time, in Find in Epic and on the schedule, she is
"Already in Rupa Desk" and "New order" is one step, without creating her again."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from rupa_desk.desk import Desk
from rupa_desk.epic_sandbox.server import EpicServer
from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.ui.components.epic_schedule import NEW_ORDER, NEW_ORDER_COLUMN
from rupa_desk.ui.components.find_in_epic import IN_RUPA_COLUMN
from rupa_desk.ui.pages.drafts import DraftsPage
from rupa_desk.ui.pages.patients import PatientsPage
from tests.e2e.test_epic_flow import CAMILA, Browsers, signed_in_desk
from tests.fixtures.catalog_sync import api_requests
from tests.fixtures.desk import MakeDesk
from tests.fixtures.qt import unnamed_controls, wait_until


def panes(desk: Desk) -> tuple[PatientsPage, DraftsPage]:
    patients, drafts = desk.window.pane("patients"), desk.window.pane("drafts")
    assert isinstance(patients, PatientsPage)
    assert isinstance(drafts, DraftsPage)
    return patients, drafts


def patients_posted(sandbox: SandboxServer) -> int:
    requests = api_requests(sandbox.url)
    return len([r for r in requests if r["method"] == "POST" and r["path"] == "/patients"])


async def test_new_order_on_today_in_epic_adds_her_then_opens_her_draft_and_next_time_is_one_step(
    qtbot: QtBot, make_desk: MakeDesk, sandbox: SandboxServer, epic: EpicServer
) -> None:
    desk = await signed_in_desk(make_desk, sandbox, epic, Browsers())
    workspace = desk.workspace
    assert workspace is not None
    store = workspace.store
    patients, drafts = panes(desk)
    window = desk.window
    window.show_pane("patients")

    # Today in Epic: Camila (not in Rupa Desk) at 08:00; Enter on her row is "New order".
    patients.schedule_button.click()
    await wait_until(lambda: patients.schedule_dialog is not None)
    schedule = patients.schedule_dialog
    assert schedule is not None
    await wait_until(lambda: schedule.table.rowCount() > 0, within=30)
    assert schedule.table.item(0, 2).text() == "Camila Lopez"
    assert schedule.table.item(0, NEW_ORDER_COLUMN).text() == NEW_ORDER  # on every row
    assert unnamed_controls(schedule) == []
    schedule.table.setFocus()
    schedule.table.selectRow(0)
    qtbot.keyClick(schedule.table, Qt.Key.Key_Return)
    await wait_until(lambda: patients.showing_form, within=30)
    assert patients.form.form().last_name == "Lopez"
    assert "Filled in from Epic" in patients.form.notice.text()
    assert window.current_pane() == "patients"  # she is checked and created first

    patients.form.create_button.click()
    await wait_until(lambda: window.current_pane() == "drafts", within=30)
    [camila] = [p for p in store.patients.search("camila") if p.email == "camila.lopez@example.com"]
    link = store.epic_links.link_for(camila.id)
    assert link is not None
    assert (link.epic_patient_id, link.mrn) == (CAMILA, "203713")
    [draft] = [d for d in store.drafts.all() if d.patient_id == camila.id]
    assert drafts.editor.draft_id == draft.id
    assert drafts.editor.patient_label.text() == "Camila Lopez"
    # Next: add her tests. (The window's focus widget: the offscreen platform does not give
    # the window back its activation when a dialog closes, as desktops do.)
    await wait_until(lambda: window.focusWidget() is drafts.editor.test_search)
    assert patients_posted(sandbox) == 1

    # Next time, Find in Epic: she is in Rupa Desk already; Ctrl+Enter is her order.
    window.show_pane("patients")
    patients.epic_button.click()
    finder = patients.epic_dialog
    assert finder is not None
    finder.family.setText("Lopez")
    finder.given.setText("Camila")
    finder.birth_date.setText("1987-09-12")
    finder.search_button.click()
    await wait_until(lambda: finder.table.rowCount() == 1, within=30)
    assert finder.table.item(0, IN_RUPA_COLUMN).text() == "Already in Rupa Desk as Camila Lopez"
    assert not finder.use_button.isEnabled()  # not created again
    assert finder.new_order_button.isEnabled()
    finder.activateWindow()
    qtbot.keyClick(finder.table, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    await wait_until(lambda: window.current_pane() == "drafts")
    assert not patients.showing_form
    assert drafts.editor.draft_id == draft.id  # her empty draft, not another one

    # And on the schedule: her row's "New order" button opens her draft at once.
    window.show_pane("patients")
    patients.schedule_button.click()
    await wait_until(lambda: schedule.isVisible() and schedule.table.rowCount() > 0, within=30)
    await wait_until(lambda: schedule.table.item(0, 4).text() == "Yes", within=30)
    cell = schedule.table.model().index(0, NEW_ORDER_COLUMN)
    qtbot.mouseClick(
        schedule.table.viewport(),
        Qt.MouseButton.LeftButton,
        pos=schedule.table.visualRect(cell).center(),
    )
    await wait_until(lambda: window.current_pane() == "drafts")
    assert not patients.showing_form
    assert [d.id for d in store.drafts.all() if d.patient_id == camila.id] == [draft.id]
    assert patients_posted(sandbox) == 1  # created once, ordered for three times
