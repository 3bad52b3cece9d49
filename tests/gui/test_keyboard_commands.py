"""Every step has a key: the window's commands (new order, add a test, send, check out, the
next pane…) are real shortcuts on the signed-in app, and Help › Keyboard shortcuts lists each
one with its keys. The keys are pressed as a person would (qtbot.keyClick on the focused
widget), so a shortcut that clashes or is not bound fails here."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from rupa_desk.ui import commands
from rupa_desk.ui.command_palette import CommandPalette
from rupa_desk.ui.commands import COMMANDS
from rupa_desk.ui.components.keyboard_shortcuts import KeyboardShortcutsDialog
from rupa_desk.ui.messages import Message
from rupa_desk.ui.pages.catalog import CatalogPage
from rupa_desk.ui.pages.drafts import DraftsPage
from rupa_desk.ui.pages.patients import PatientsPage
from tests.fixtures.desk import MakeDesk
from tests.fixtures.keyboard import ADA, CTRL, SHIFT, keyboard_desk, press
from tests.fixtures.qt import wait_until


async def test_new_order_add_test_and_the_pane_keys_work_from_the_keyboard(
    qtbot: QtBot, make_desk: MakeDesk
) -> None:
    desk = await keyboard_desk(make_desk)
    window = desk.window
    drafts = window.pane("drafts")
    catalog = window.pane("catalog")
    assert isinstance(drafts, DraftsPage)
    assert isinstance(catalog, CatalogPage)
    window.show_pane("patients")

    press(qtbot, Qt.Key.Key_N, CTRL | SHIFT)  # New order
    assert window.current_pane() == "drafts"
    await wait_until(lambda: drafts.editor.draft_id is not None)
    assert drafts.editor.patient_search.hasFocus()  # no patient yet: find her first

    press(qtbot, Qt.Key.Key_T)  # Add a test
    assert window.current_pane() == "catalog"
    assert catalog.search_box.hasFocus()

    keys = list(window.pane_keys)
    assert keys[:4] == ["patients", "catalog", "drafts", "orders"]
    for expected in keys[2:]:  # from the catalog, every later pane in sidebar order
        press(qtbot, Qt.Key.Key_PageDown)
        assert window.current_pane() == expected
    press(qtbot, Qt.Key.Key_PageDown)
    assert window.current_pane() == "patients"  # round again
    press(qtbot, Qt.Key.Key_PageUp)
    assert window.current_pane() == keys[-1]
    press(qtbot, Qt.Key.Key_Tab)  # Ctrl+Tab: the next pane too
    assert window.current_pane() == "patients"
    press(qtbot, Qt.Key.Key_Backtab, CTRL | SHIFT)
    assert window.current_pane() == keys[-1]


async def test_new_patient_opens_the_form_from_any_pane(qtbot: QtBot, make_desk: MakeDesk) -> None:
    desk = await keyboard_desk(make_desk)
    window = desk.window
    patients = window.pane("patients")
    assert isinstance(patients, PatientsPage)
    window.show_pane("orders")
    press(qtbot, Qt.Key.Key_N)
    assert window.current_pane() == "patients"
    assert patients.showing_form
    assert patients.form.quick_entry.hasFocus()  # its first field: name and email in one go


async def test_send_without_a_ready_draft_says_what_to_do_and_with_one_sends_it(
    qtbot: QtBot, make_desk: MakeDesk
) -> None:
    desk = await keyboard_desk(make_desk)
    window = desk.window
    messages: list[Message] = []
    desk.bridge.message_shown.connect(messages.append)
    press(qtbot, Qt.Key.Key_S, CTRL | SHIFT)  # no draft at all
    assert window.current_pane() == "drafts"
    assert messages
    assert "Choose a draft" in messages[-1].text
    press(qtbot, Qt.Key.Key_C, CTRL | SHIFT)
    assert "Send the draft to Rupa first" in messages[-1].text

    workspace = desk.workspace
    assert workspace is not None
    store = workspace.store
    draft_id = store.drafts.create(patient_id=ADA.id)
    test = store.catalog.search("", limit=1).hits[0]
    store.drafts.add_test(draft_id, test.id, name=test.name, price=test.price)
    workspace.orders.drafts.drafts_changed.emit()
    workspace.orders.drafts.set_current(draft_id)
    drafts = window.pane("drafts")
    assert isinstance(drafts, DraftsPage)
    await wait_until(lambda: drafts.editor.send_button.isEnabled())
    window.show_pane("catalog")
    press(qtbot, Qt.Key.Key_S, CTRL | SHIFT)
    assert window.current_pane() == "drafts"
    # The fake Rupa has no order intents: the send happened and failed, and says so.
    await wait_until(lambda: store.drafts.get(draft_id).state.value != "local")


async def test_check_out_sends_a_draft_never_sent_first(qtbot: QtBot, make_desk: MakeDesk) -> None:
    desk = await keyboard_desk(make_desk)
    workspace = desk.workspace
    assert workspace is not None
    store = workspace.store
    draft_id = store.drafts.create(patient_id=ADA.id)
    test = store.catalog.search("", limit=1).hits[0]
    store.drafts.add_test(draft_id, test.id, name=test.name, price=test.price)
    workspace.orders.drafts.drafts_changed.emit()
    workspace.orders.drafts.set_current(draft_id)
    drafts = desk.window.pane("drafts")
    assert isinstance(drafts, DraftsPage)
    await wait_until(lambda: drafts.editor.send_button.isEnabled())
    assert drafts.editor.checkout_button.text() == "Send and check out"
    assert not drafts.editor.browser_button.isEnabled()
    press(qtbot, Qt.Key.Key_C, CTRL | SHIFT)
    # The fake Rupa has no order intents: the send was tried (and failed, and said so), so
    # no checkout opened; tests/e2e/test_front_desk_flow.py opens it against the simulator.
    await wait_until(lambda: store.drafts.get(draft_id).state.value not in ("local", "sending"))
    await wait_until(lambda: drafts.editor.send_button.text() == "Retry")
    assert workspace.orders.launcher.view_for(draft_id) is None


async def test_help_lists_every_command_with_the_keys_that_are_bound(
    qtbot: QtBot, make_desk: MakeDesk
) -> None:
    desk = await keyboard_desk(make_desk)
    window = desk.window
    press(qtbot, Qt.Key.Key_F1, Qt.KeyboardModifier.NoModifier)
    dialog = window.shortcuts_dialog
    assert isinstance(dialog, KeyboardShortcutsDialog)
    await wait_until(dialog.isVisible)
    rows = dialog.rows()
    # One row per action of the window, with the keys the action really has.
    assert len(rows) == len(window.commands)
    for (menu, label, keys), (command, action) in zip(rows, window.commands, strict=True):
        assert (menu, label) == (command.menu, command.label)
        bound = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts()]
        assert keys == (" or ".join(bound) if bound else "—")
    listed = {label: keys for _, label, keys in rows}
    for command in COMMANDS:
        assert command.label in listed
    native = QKeySequence("Ctrl+Shift+S").toString(QKeySequence.SequenceFormat.NativeText)
    assert listed["Send to Rupa"] == native
    assert "Ctrl+PgDown" in listed["Next pane"] or "PgDown" in listed["Next pane"]
    assert listed["Patients"]  # the panes' Ctrl+1… too
    for step in (
        commands.NEW_ORDER,
        commands.ADD_TEST,
        commands.SEND,
        commands.CHECK_OUT,
        commands.NEXT_PANE,
        commands.PREVIOUS_PANE,
        commands.GO_TO,
    ):
        assert listed[commands.command(step).label] != "—", step
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    await wait_until(lambda: not dialog.isVisible())


async def test_menus_show_each_command_with_its_key_and_tooltip(make_desk: MakeDesk) -> None:
    desk = await keyboard_desk(make_desk)
    window = desk.window
    menus = {a.text().replace("&", ""): a.menu() for a in window.menuBar().actions()}
    order = [a.objectName() for a in menus["Order"].actions() if a.objectName()]
    assert order == [
        commands.NEW_PATIENT,
        commands.NEW_ORDER,
        commands.ADD_TEST,
        commands.SEND,
        commands.CHECK_OUT,
        commands.CHECK_OUT_IN_BROWSER,
    ]
    send = window.command_action(commands.SEND)
    assert send.isEnabled()
    keys = QKeySequence("Ctrl+Shift+S").toString(QKeySequence.SequenceFormat.NativeText)
    assert keys in send.toolTip()
    drafts = window.pane("drafts")
    assert isinstance(drafts, DraftsPage)
    assert keys in drafts.editor.send_button.toolTip()  # the pane's button says it too
    new_order = QKeySequence("Ctrl+Shift+N").toString(QKeySequence.SequenceFormat.NativeText)
    assert new_order in drafts.new_button.toolTip()
    await desk.session.sign_out(remove_patient_data=False)
    await wait_until(lambda: not send.isEnabled())
    assert window.command_action(commands.KEYBOARD_SHORTCUTS).isEnabled()  # help stays


async def test_the_step_keys_work_while_typing_in_a_field(
    qtbot: QtBot, make_desk: MakeDesk
) -> None:
    desk = await keyboard_desk(make_desk)
    window = desk.window
    drafts = window.pane("drafts")
    catalog = window.pane("catalog")
    assert isinstance(drafts, DraftsPage)
    assert isinstance(catalog, CatalogPage)
    press(qtbot, Qt.Key.Key_N, CTRL | SHIFT)
    await wait_until(lambda: drafts.editor.draft_id is not None)
    fields: list[QWidget] = [drafts.editor.notes, drafts.editor.patient_search]
    for field in fields:
        window.show_pane("drafts")
        field.setFocus()
        await wait_until(field.hasFocus)
        press(qtbot, Qt.Key.Key_T)  # Add a test
        assert window.current_pane() == "catalog", type(field).__name__
        window.show_pane("drafts")
        field.setFocus()
        await wait_until(field.hasFocus)
        press(qtbot, Qt.Key.Key_PageDown)  # Next pane
        assert window.current_pane() == "orders", type(field).__name__
        window.show_pane("drafts")
        field.setFocus()
        await wait_until(field.hasFocus)
        press(qtbot, Qt.Key.Key_Tab)  # Next pane (Ctrl+Tab)
        assert window.current_pane() == "orders", type(field).__name__
    catalog.search_box.setFocus()
    window.show_pane("catalog")
    await wait_until(catalog.search_box.hasFocus)
    for key in (Qt.Key.Key_K, Qt.Key.Key_G):  # Go to…, from a search box
        press(qtbot, key)
        palette = window.findChild(CommandPalette)
        assert isinstance(palette, CommandPalette)
        qtbot.keyClick(palette.search, Qt.Key.Key_Escape)
        await wait_until(lambda: window.findChild(CommandPalette) is None)
        await wait_until(window.isActiveWindow)
