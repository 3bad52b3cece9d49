"""The front desk's job from the keyboard alone, against the simulator over real loopback HTTP:
a new patient, an order for her, three tests, sent to Rupa, the checkout open. Every step is
a key press on whatever has the focus (qtbot.keyClick), never a click or a direct call, so a
shortcut that stops working, or a focus step that goes astray, fails this test."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from rupa_desk.core.drafts import DraftState
from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.ui.pages.catalog import CatalogPage
from rupa_desk.ui.pages.drafts import DraftsPage
from rupa_desk.ui.pages.patients import PatientsPage
from rupa_desk.ui.web.checkout_view import CheckoutView
from tests.e2e.test_order_flow import signed_in_desk
from tests.fixtures.desk import MakeDesk
from tests.fixtures.qt import wait_until

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
NONE = Qt.KeyboardModifier.NoModifier


def focused() -> QWidget:
    widget = QApplication.focusWidget() or QApplication.activeWindow()
    assert isinstance(widget, QWidget)
    return widget


def key(qtbot: QtBot, key: Qt.Key, modifiers: Qt.KeyboardModifier = NONE) -> None:
    qtbot.keyClick(focused(), key, modifiers)


def type_text(qtbot: QtBot, text: str) -> None:
    qtbot.keyClicks(focused(), text)


async def test_new_patient_to_checkout_from_the_keyboard_alone(
    qtbot: QtBot, make_desk: MakeDesk, sandbox: SandboxServer
) -> None:
    desk = await signed_in_desk(make_desk, sandbox)
    workspace = desk.workspace
    assert workspace is not None
    store = workspace.store
    await wait_until(lambda: store.catalog.test_count() == sandbox.config.lab_tests, within=60)
    await wait_until(lambda: store.patients.count() > 0, within=60)
    window = desk.window
    window.activateWindow()
    await wait_until(window.isActiveWindow)
    await wait_until(lambda: bool(window.command_action("send").shortcuts()))
    patients = window.pane("patients")
    drafts = window.pane("drafts")
    catalog = window.pane("catalog")
    assert isinstance(patients, PatientsPage)
    assert isinstance(drafts, DraftsPage)
    assert isinstance(catalog, CatalogPage)

    # A new patient: Ctrl+N (the name-and-email line has the focus; Tab goes on to the
    # separate fields), her fields with Tab between them, Enter creates her.
    key(qtbot, Qt.Key.Key_N, CTRL)
    assert patients.form.quick_entry.hasFocus()
    key(qtbot, Qt.Key.Key_Tab)
    assert patients.form.fields["first_name"].hasFocus()
    for value in ("Keya", "Boardman", "keya.boardman@example.test"):
        type_text(qtbot, value)
        key(qtbot, Qt.Key.Key_Tab)
    key(qtbot, Qt.Key.Key_Return)
    await wait_until(lambda: not patients.showing_form, within=30)
    [keya] = store.patients.search("Keya Boardman")

    # An order for her: Ctrl+Shift+N makes a draft for the patient just created (she is the
    # one selected), the focus in its test search.
    key(qtbot, Qt.Key.Key_N, CTRL | SHIFT)
    await wait_until(lambda: drafts.editor.draft_id is not None)
    draft_id = drafts.editor.draft_id
    assert draft_id is not None
    assert store.drafts.get(draft_id).patient_id == keya.id
    assert drafts.editor.test_search.hasFocus()

    # Three tests from the catalog: Ctrl+T, a few letters, Down, Enter.
    added: list[str] = []
    for words in ("lipid", "thyroid", "vitamin"):
        key(qtbot, Qt.Key.Key_T, CTRL)
        assert catalog.search_box.hasFocus()
        type_text(qtbot, words)
        await wait_until(
            lambda w=words: (
                workspace.catalog.shown_query is not None
                and workspace.catalog.shown_query.text == w
                and workspace.catalog.model.rowCount() > 0
            )
        )
        key(qtbot, Qt.Key.Key_Down)
        assert catalog.table.hasFocus()
        expected = catalog.selected_test_id()
        assert expected is not None
        key(qtbot, Qt.Key.Key_Return)
        added.append(expected)
        await wait_until(
            lambda: [t.lab_test_id for t in store.drafts.tests(draft_id)] == added, within=10
        )

    # Send (Ctrl+Shift+S), then check out (Ctrl+Shift+C): Rupa's checkout page opens.
    key(qtbot, Qt.Key.Key_S, CTRL | SHIFT)
    assert window.current_pane() == "drafts"
    await wait_until(lambda: store.drafts.get(draft_id).state is DraftState.SENT, within=30)
    key(qtbot, Qt.Key.Key_C, CTRL | SHIFT)
    launcher = workspace.orders.launcher
    await wait_until(lambda: isinstance(launcher.view_for(draft_id), CheckoutView), within=30)
