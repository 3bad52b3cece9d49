"""The idle lock in the whole app: after the idle timeout no patient name is on screen, a PIN
unlocks with the panes as they were, five wrong PINs sign out, notifications name nobody."""

from __future__ import annotations

import asyncio
from types import MappingProxyType

import pytest
import shiboken6
from PySide6.QtCore import QAbstractItemModel, QAbstractListModel, QEvent, QModelIndex, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)
from pytestqt.qtbot import QtBot

from rupa_desk.core.pin import verify_pin
from rupa_desk.desk import Desk
from rupa_desk.settings import Environment, ManagedSettings, production
from rupa_desk.ui.components.notifier import LOCKED_TEXT
from rupa_desk.ui.components.settings_dialog import SettingsDialog
from rupa_desk.ui.idle_lock import MAX_WRONG_PINS, ChoosePinDialog, unlock_pin_key
from rupa_desk.ui.messages import Message
from rupa_desk.ui.pages.patients import PatientsPage
from rupa_desk.ui.presenters.session import SessionState
from tests.fixtures.desk import MakeDesk, signed_in_desk
from tests.fixtures.qt import unnamed_controls, wait_until
from tests.gui.test_no_clipped_text import label_problem

NAME = "Wilhelmina"
SURNAME = "Quarterfield"
PIN = "4821"
#: Short enough for a test, long enough that the test's own steps come before it.
IDLE_MS = 300


@pytest.fixture
def environment() -> Environment:
    return production("desk-client")


def model_texts(model: QAbstractItemModel) -> list[str]:
    """The display texts of a list or table model's cells."""
    parent = QModelIndex()
    texts = []
    columns = 1 if isinstance(model, QAbstractListModel) else model.columnCount(parent)
    for row in range(model.rowCount(parent)):
        for column in range(columns):
            index = model.index(row, column, parent)
            value = model.data(index, Qt.ItemDataRole.DisplayRole)
            if value is not None:
                texts.append(str(value))
    return texts


def visible_texts(desk: Desk) -> str:
    """Every text on screen: the window's visible widgets and any other visible window."""
    texts = [desk.window.windowTitle(), desk.window.status.currentMessage()]
    roots = [w for w in QApplication.topLevelWidgets() if w.isVisible()]
    for root in roots:
        texts.append(root.windowTitle())
        for widget in [root, *root.findChildren(QWidget)]:
            if not widget.isVisible():
                continue
            if isinstance(widget, QLabel | QAbstractButton) or (
                isinstance(widget, QLineEdit) and widget.echoMode() is QLineEdit.EchoMode.Normal
            ):
                texts.append(widget.text())
            elif isinstance(widget, QComboBox):
                texts.append(widget.currentText())
            elif isinstance(widget, QAbstractItemView) and widget.model() is not None:
                texts.extend(model_texts(widget.model()))
            texts.append(widget.toolTip())
    return "\n".join(texts)


async def locked_desk(
    make_desk: MakeDesk, environment: Environment, *, pin: str | None = PIN
) -> Desk:
    """Signed in, with `pin` chosen in the dialog offered at sign-in (None: "Not now"), and
    locking after IDLE_MS."""
    desk = await signed_in_desk(make_desk, environment, pin_offer=True)
    if pin is None:
        dialog = await pin_dialog(desk)
        dialog.not_now_button.click()
        await wait_until(lambda: desk.screen_lock.pin_dialog is None)
    else:
        await choose_pin(desk, pin)
    desk.screen_lock.set_timeout_ms(IDLE_MS)
    return desk


def type_new_patient(desk: Desk) -> PatientsPage:
    desk.window.show_pane("patients")
    page = desk.window.pane("patients")
    assert isinstance(page, PatientsPage)
    page.new_button.click()
    for name, text in (("first_name", NAME), ("last_name", SURNAME)):
        field = page.form.fields[name]
        assert isinstance(field, QLineEdit)
        field.setText(text)
    return page


async def pin_dialog(desk: Desk) -> ChoosePinDialog:
    """The "Choose an unlock PIN" dialog offered after sign-in."""
    await wait_until(lambda: desk.screen_lock.pin_dialog is not None)
    dialog = desk.screen_lock.pin_dialog
    assert dialog is not None
    await wait_until(dialog.isVisible)
    return dialog


async def choose_pin(desk: Desk, pin: str = PIN) -> None:
    dialog = await pin_dialog(desk)
    assert unnamed_controls(dialog) == []
    dialog.pin.setText(pin)
    dialog.repeat.setText(pin)
    dialog.set_button.click()
    await wait_until(lambda: desk.screen_lock.pin_dialog is None)


async def unlock(desk: Desk, pin: str = PIN) -> None:
    page = desk.screen_lock.page
    await wait_until(lambda: not [t for t in desk.tasks.running if t.get_name() == "lock-page"])
    assert not page.needs_sign_in
    page.pin.setText(pin)
    page.unlock_button.click()
    await wait_until(lambda: not desk.screen_lock.locked)


async def test_the_lock_hides_every_patient_name_and_keeps_the_typed_form(
    make_desk: MakeDesk, environment: Environment, qtbot: QtBot
) -> None:
    desk = await locked_desk(make_desk, environment)
    patients = type_new_patient(desk)
    desk.bridge.warning(f"{NAME} {SURNAME}'s order could not be sent.")
    dialog = QDialog(desk.window)
    QVBoxLayout(dialog).addWidget(QLabel(f"Results of {NAME} {SURNAME}"))
    dialog.open()
    await wait_until(lambda: NAME in visible_texts(desk) and dialog.isVisible())
    assert f"Results of {NAME}" in visible_texts(desk)  # what the check below looks at

    await wait_until(lambda: desk.screen_lock.locked)

    shown = visible_texts(desk)
    assert NAME not in shown
    assert SURNAME not in shown
    assert "Rupa Desk is locked" in shown
    assert not dialog.isVisible()
    assert not desk.window.banner.isVisible()
    assert unnamed_controls(desk.screen_lock.page) == []
    assert desk.session.view.state is SessionState.SIGNED_IN  # locked, not signed out
    desk.bridge.warning(f"{SURNAME} could not be saved.")  # while locked: it waits
    assert not desk.window.banner.isVisible()
    assert SURNAME not in visible_texts(desk)

    await unlock(desk)
    assert desk.window.pane("patients") is patients
    assert patients.showing_form
    assert patients.form.fields["first_name"].text() == NAME  # type: ignore[union-attr]
    assert dialog.isVisible()
    assert [t for t in desk.window.banner.texts if NAME in t]
    assert f"{SURNAME} could not be saved." in desk.window.banner.texts
    assert desk.window.banner.isVisible()
    dialog.close()


async def test_input_before_the_timeout_keeps_the_window_unlocked(
    make_desk: MakeDesk, environment: Environment
) -> None:
    desk = await locked_desk(make_desk, environment)
    watcher = desk.screen_lock.watcher
    watcher.set_timeout_ms(4_000)  # long enough that the machine's pace cannot decide it
    handle = desk.window.windowHandle()  # input arrives through the window, as from the system
    assert handle is not None
    for key in (Qt.Key.Key_Shift, Qt.Key.Key_A):
        await wait_until(lambda: watcher.remaining_ms < 2_500)  # 1.5 s without input
        press = QKeyEvent(QEvent.Type.KeyPress, key, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(handle, press)
        assert watcher.remaining_ms > 3_500  # the countdown starts again from the full time
    assert not desk.screen_lock.locked
    watcher.set_timeout_ms(IDLE_MS)
    await wait_until(lambda: desk.screen_lock.locked)  # and without input it does lock


async def test_the_pin_is_chosen_at_sign_in_kept_as_a_salted_hash_and_unlocks(
    make_desk: MakeDesk, environment: Environment
) -> None:
    desk = await locked_desk(make_desk, environment)
    workspace = desk.workspace
    assert workspace is not None
    stored = await desk.secrets.store.get(unlock_pin_key(environment, workspace.account.id))
    assert stored is not None
    assert PIN not in stored
    assert verify_pin(PIN, stored)

    await wait_until(lambda: desk.screen_lock.locked)
    await unlock(desk)
    assert desk.window.signed_in
    assert desk.window.windowTitle() != "Rupa Desk — Locked"

    # The next sign-in of the same account on this computer (Desk.open_account arms the
    # lock) asks for no new PIN.
    desk.screen_lock.disarm()
    desk.screen_lock.arm(environment, workspace.account.id, workspace.orders.notifier)
    await wait_until(lambda: not [t for t in desk.tasks.running if t.get_name() == "offer-pin"])
    assert desk.screen_lock.pin_dialog is None


async def test_a_pin_that_differs_when_chosen_is_refused(
    make_desk: MakeDesk, environment: Environment
) -> None:
    desk = await signed_in_desk(make_desk, environment, pin_offer=True)
    dialog = await pin_dialog(desk)
    dialog.pin.setText(PIN)
    dialog.repeat.setText("4822")
    dialog.set_button.click()
    assert "not the same" in dialog.problem.text()
    assert dialog.isVisible()
    workspace = desk.workspace
    assert workspace is not None
    assert await desk.secrets.store.get(unlock_pin_key(environment, workspace.account.id)) is None


async def test_without_a_pin_the_lock_only_offers_to_sign_in_again(
    make_desk: MakeDesk, environment: Environment
) -> None:
    """A locked screen never lets whoever stands at it choose the PIN."""
    desk = await locked_desk(make_desk, environment, pin=None)
    await wait_until(lambda: desk.screen_lock.locked)
    page = desk.screen_lock.page
    await wait_until(lambda: page.needs_sign_in)
    assert not page.pin.isVisible()
    assert not page.unlock_button.isVisible()
    assert "sign in again" in page.prompt.text()
    page.pin.setText(PIN)  # even typed into the hidden field, a PIN does nothing
    page.unlock_button.click()
    assert desk.screen_lock.locked
    page.sign_in_again_button.click()
    await wait_until(lambda: desk.session.view.state is SessionState.SIGNED_OUT)
    assert desk.window.sign_in_page.isVisible()


async def test_five_wrong_pins_sign_out(make_desk: MakeDesk, environment: Environment) -> None:
    desk = await locked_desk(make_desk, environment)
    await wait_until(lambda: desk.screen_lock.locked)
    await wait_until(lambda: not [t for t in desk.tasks.running if t.get_name() == "lock-page"])
    page = desk.screen_lock.page
    for wrong in range(1, MAX_WRONG_PINS):
        page.pin.setText("0000")
        page.unlock_button.click()
        await wait_until(lambda: desk.screen_lock.wrong_pins == wrong)  # noqa: B023
        assert "not right" in page.problem.text()
        assert desk.screen_lock.locked
        assert desk.session.view.state is SessionState.SIGNED_IN
    page.pin.setText("0000")
    page.unlock_button.click()
    await wait_until(lambda: desk.session.view.state is SessionState.SIGNED_OUT)
    assert not desk.screen_lock.locked
    assert not desk.window.signed_in
    assert desk.window.sign_in_page.isVisible()


async def test_sign_in_again_instead_signs_out(
    make_desk: MakeDesk, environment: Environment
) -> None:
    desk = await locked_desk(make_desk, environment)
    await wait_until(lambda: desk.screen_lock.locked)
    desk.screen_lock.page.sign_in_again_button.click()
    await wait_until(lambda: desk.session.view.state is SessionState.SIGNED_OUT)
    assert desk.window.sign_in_page.isVisible()
    assert not desk.screen_lock.watcher.active  # nobody signed in: nothing to lock


async def test_a_notification_while_locked_names_nobody(
    make_desk: MakeDesk, environment: Environment
) -> None:
    desk = await locked_desk(make_desk, environment)
    workspace = desk.workspace
    assert workspace is not None
    notified: list[tuple[str, str]] = []
    messages: list[Message] = []
    workspace.orders.notifier.notified.connect(lambda title, text: notified.append((title, text)))
    desk.bridge.message_shown.connect(messages.append)
    workspace.orders.notifier.notify("Results ready", f"New results for {NAME} {SURNAME}")
    assert NAME in notified[-1][1]  # unlocked: the name is shown

    await wait_until(lambda: desk.screen_lock.locked)
    workspace.orders.notifier.notify("Results ready", f"New results for {NAME} {SURNAME}")
    assert notified[-1][1] == LOCKED_TEXT
    assert NAME not in messages[-1].text
    assert LOCKED_TEXT in messages[-1].text
    assert NAME not in visible_texts(desk)

    await unlock(desk)
    workspace.orders.notifier.notify("Results ready", f"New results for {NAME} {SURNAME}")
    assert NAME in notified[-1][1]


async def test_a_saved_idle_time_applies_at_once(
    make_desk: MakeDesk, environment: Environment
) -> None:
    desk = await signed_in_desk(make_desk, environment, download=True)
    assert desk.screen_lock.watcher.timeout_ms == 10 * 60_000  # the default
    messages: list[Message] = []
    desk.bridge.message_shown.connect(messages.append)
    desk.window.settings_requested.emit()
    dialogs = [d for d in desk.window.findChildren(SettingsDialog) if d.isVisible()]
    assert len(dialogs) == 1
    dialogs[0].idle_lock.setValue(3)
    dialogs[0].buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    await wait_until(lambda: not shiboken6.isValid(dialogs[0]) or not dialogs[0].isVisible())
    assert desk.screen_lock.watcher.timeout_ms == 3 * 60_000
    assert desk.screen_lock.watcher.active
    assert [m.text for m in messages] == [
        "Settings saved: the window locks after 3 minutes without use."
    ]


async def test_the_clinics_idle_time_applies(make_desk: MakeDesk, environment: Environment) -> None:
    managed = ManagedSettings(locked=MappingProxyType({"idle_lock_minutes": 2}))
    desk = await signed_in_desk(make_desk, environment, managed=managed)
    assert desk.screen_lock.watcher.timeout_ms == 2 * 60_000


@pytest.mark.parametrize("pin", [PIN, None], ids=["with a PIN", "without a PIN"])
async def test_the_lock_page_reads_whole(
    make_desk: MakeDesk, environment: Environment, pin: str | None
) -> None:
    desk = await locked_desk(make_desk, environment, pin=pin)
    await wait_until(lambda: desk.screen_lock.locked)
    page = desk.screen_lock.page
    await wait_until(lambda: page.needs_sign_in == (pin is None))
    desk.window.resize(desk.window.minimumSize())
    await wait_until(lambda: page.prompt.height() > 0)
    await asyncio.sleep(0.05)  # the layout after the resize
    labels = [label for label in page.findChildren(QLabel) if label.isVisible()]
    assert page.prompt in labels
    assert [problem for label in labels if (problem := label_problem(label))] == []


async def test_while_locked_no_command_reaches_a_patient(
    make_desk: MakeDesk, environment: Environment
) -> None:
    """At the lock page the keys do nothing that could show or send a patient's data: not
    Go to… (Ctrl+K lists patients), not the panes, not New order, Send or Check out; nor
    Settings. Quit and Help stay. Unlocked, they are back."""
    desk = await locked_desk(make_desk, environment)
    window = desk.window
    account_keys = [entry.key for entry, _ in window.commands if entry.account]
    assert {"go_to", "send", "check_out", "new_order"} <= set(account_keys)
    await wait_until(lambda: window.command_action("go_to").isEnabled())
    await wait_until(lambda: desk.screen_lock.locked)

    for key in (*account_keys, "settings"):
        assert not window.command_action(key).isEnabled(), key
    assert window.command_action("quit").isEnabled()
    assert window.command_action("keyboard_shortcuts").isEnabled()

    await unlock(desk)
    for key in (*account_keys, "settings"):
        assert window.command_action(key).isEnabled(), key
