"""The idle lock (automatic logoff): after some minutes without input, the window locks.

`IdleWatcher` watches the whole application's input (keys, clicks, the wheel, mouse moves)
and says when there was none for the timeout. It filters the events of the app's top-level
`QWindow`s (where the system delivers input first), not the QApplication's: a Python filter on
the QApplication sees every event of every object, including objects being destroyed (e.g.
the web view's), which crashed PySide. `ScreenLock` then covers the panes with a
`LockPage` (`MainWindow.show_lock`) and hides every other window of the app (result windows,
dialogs), so no patient name stays on a shared PC's screen; notifications say only that there
is an update. The panes are not closed: background work goes on and an unsaved form is kept.

Unlocking asks for the account's PIN, kept as a salted hash (rupa_desk/core/pin.py) in the
secret store under a key per environment and account. The PIN is chosen right after sign-in
(`ChoosePinDialog`, offered when the account has none on this computer), by the person who
just proved who they are; a locked screen never offers to choose one, since whoever stands at
it may be someone else. Without a PIN, the lock page offers only signing in again. Five wrong
PINs sign the account out; "Sign in again instead" signs out at once. A PIN is never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Final

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QWindow
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import Shiboken

from rupa_desk.core.pin import PIN_LENGTH, hash_pin, pin_problem, verify_pin
from rupa_desk.services.errors import SecretStoreUnavailable
from rupa_desk.services.secrets import SecretStore
from rupa_desk.settings import Environment
from rupa_desk.ui.components.notifier import DesktopNotifier
from rupa_desk.ui.main_window import MainWindow
from rupa_desk.ui.tasks import BackgroundTasks

log = logging.getLogger(__name__)

#: Wrong PINs in a row that sign the account out.
MAX_WRONG_PINS: Final = 5
#: What counts as someone using the app.
INPUT_EVENTS: Final = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.Wheel,
        QEvent.Type.MouseMove,
    }
)


def minutes_to_ms(minutes: int) -> int:
    """The idle timeout in milliseconds for the setting `idle_lock_minutes`."""
    return minutes * 60_000


def unlock_pin_key(environment: Environment, account_id: str) -> str:
    """The SecretStore key of one account's PIN hash in one environment and OAuth client."""
    return f"unlock-pin:{environment.name}:{environment.client_id}:{account_id}"


class IdleWatcher(QObject):
    """Says when the application had no input for `timeout_ms` (while started).

    Args:
        timeout_ms: how long without input counts as idle.

    Signals:
        idle(): no input for the timeout (once per start).
    """

    idle = Signal()

    def __init__(self, timeout_ms: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(timeout_ms)
        self._timer.timeout.connect(self.idle)
        self._filtering = False

    @property
    def timeout_ms(self) -> int:
        """How long without input counts as idle."""
        return self._timer.interval()

    @property
    def active(self) -> bool:
        """True while the watcher counts down."""
        return self._timer.isActive()

    @property
    def remaining_ms(self) -> int:
        """Milliseconds left before idle (-1 when not counting down)."""
        return self._timer.remainingTime()

    def set_timeout_ms(self, timeout_ms: int) -> None:
        """Change the timeout (a running countdown starts again with it)."""
        self._timer.setInterval(timeout_ms)
        if self._timer.isActive():
            self._timer.start()

    def start(self) -> None:
        """Start counting down, again from the full timeout at every input."""
        if not self._filtering:
            app = QGuiApplication.instance()
            if isinstance(app, QGuiApplication):
                app.focusWindowChanged.connect(self._on_app_focus_window_changed)
                for window in app.topLevelWindows():
                    window.installEventFilter(self)
                self._filtering = True
        self._timer.start()

    def stop(self) -> None:
        """Stop counting down and watching input."""
        self._timer.stop()
        if self._filtering:
            app = QGuiApplication.instance()
            if isinstance(app, QGuiApplication):
                app.focusWindowChanged.disconnect(self._on_app_focus_window_changed)
                for window in app.topLevelWindows():
                    window.removeEventFilter(self)
            self._filtering = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self._timer.isActive() and event.type() in INPUT_EVENTS:
            self._timer.start()
        return False

    def _on_app_focus_window_changed(self, window: QWindow | None) -> None:
        """Watch a window that appeared since the start (a dialog, a result window)."""
        if window is not None:
            window.installEventFilter(self)  # installing again does not add a second one


class LockPage(QWidget):
    """What the window shows while locked: a PIN field, or (no PIN chosen) signing in again.

    Signals:
        pin_entered(str): the user asked to unlock with this PIN.
        sign_in_again_requested(): the user would rather (or must) sign in again.
    """

    pin_entered = Signal(str)
    sign_in_again_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Locked")
        self._needs_sign_in = False
        title = QLabel("Rupa Desk is locked")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        title.setFont(font)
        self.prompt = QLabel()
        self.prompt.setWordWrap(True)
        self.pin = QLineEdit()
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setAccessibleName("PIN")
        self.pin.setMaxLength(PIN_LENGTH[1])
        self._pin_label = QLabel("&PIN")
        self._pin_label.setBuddy(self.pin)
        self.unlock_button = QPushButton("Unlock")
        self.unlock_button.setAccessibleName("Unlock")
        self.unlock_button.setDefault(True)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setObjectName("lockProblem")
        self.sign_in_again_button = QPushButton("Sign in again instead")
        self.sign_in_again_button.setAccessibleName("Sign in again instead")
        form = QFormLayout()
        form.addRow(self._pin_label, self.pin)
        box = QWidget()
        box.setFixedWidth(440)  # wrapped text then takes the height it needs
        column = QVBoxLayout(box)
        column.addWidget(title)
        column.addWidget(self.prompt)
        column.addLayout(form)
        column.addWidget(self.problem)
        buttons = QHBoxLayout()
        buttons.addWidget(self.sign_in_again_button)
        buttons.addStretch(1)
        buttons.addWidget(self.unlock_button)
        column.addLayout(buttons)
        # Centred by stretches, not by an alignment flag: an aligned item gets its size hint's
        # height, which cuts a wrapped prompt longer than the hint's.
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(box)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addLayout(row)
        layout.addStretch(2)
        self.unlock_button.clicked.connect(self._on_unlock_button_clicked)
        self.pin.returnPressed.connect(self._on_unlock_button_clicked)
        self.sign_in_again_button.clicked.connect(self.sign_in_again_requested)
        self.ask_for_pin()

    @property
    def needs_sign_in(self) -> bool:
        """True when no PIN was chosen: only signing in again unlocks."""
        return self._needs_sign_in

    def ask_for_pin(self) -> None:
        """Ask for the account's PIN."""
        self._set_mode(needs_sign_in=False, prompt="Enter your PIN to go on where you left off.")

    def ask_to_sign_in_again(self) -> None:
        """No PIN was chosen for this account here: whoever comes back signs in again."""
        self._set_mode(
            needs_sign_in=True,
            prompt=(
                "No unlock PIN was chosen for this account on this computer, so Rupa Desk "
                "needs you to sign in again. Drafts are kept; a form you had not saved is not. "
                "After signing in, choose a PIN to go on where you left off next time."
            ),
        )

    def show_problem(self, text: str) -> None:
        """Say what went wrong (a wrong PIN); the PIN field is emptied."""
        self.problem.setText(text)
        self.pin.clear()
        self.pin.setFocus()

    def set_busy(self, busy: bool) -> None:
        """Turn the button off while a PIN is being checked."""
        self.unlock_button.setEnabled(not busy)

    def _set_mode(self, *, needs_sign_in: bool, prompt: str) -> None:
        self._needs_sign_in = needs_sign_in
        self.prompt.setText(prompt)
        for widget in (self.pin, self._pin_label, self.unlock_button):
            widget.setVisible(not needs_sign_in)
        self.sign_in_again_button.setText(
            "Sign in again" if needs_sign_in else "Sign in again instead"
        )
        self.sign_in_again_button.setAccessibleName(self.sign_in_again_button.text())
        self.sign_in_again_button.setDefault(needs_sign_in)
        self.problem.clear()
        self.pin.clear()
        self.set_busy(False)

    def _on_unlock_button_clicked(self) -> None:
        if not self.unlock_button.isEnabled() or self._needs_sign_in:
            return
        if pin := self.pin.text():
            self.pin_entered.emit(pin)


class ChoosePinDialog(QDialog):
    """Right after sign-in, when the account has no PIN on this computer: choose one.

    The person who just signed in is the one the PIN will stand for, so this is the moment to
    choose it; at a locked screen nobody's identity is known any more.

    Signals:
        pin_chosen(str): the PIN (checked: digits, typed twice alike).
    """

    pin_chosen = Signal(str)

    def __init__(self, idle_minutes: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Rupa Desk — Choose an unlock PIN")
        self.setAccessibleName("Choose an unlock PIN")
        self.setMinimumWidth(460)  # the explanation reads whole, not cut at its last line
        low, high = PIN_LENGTH
        prompt = QLabel(
            f"Rupa Desk locks itself after {idle_minutes} minutes without use, so nobody "
            f"passing by sees your patients. Choose a PIN ({low} to {high} digits) to unlock "
            "it and go on where you left off. Without one, you sign in again each time."
        )
        prompt.setWordWrap(True)
        self.pin = QLineEdit()
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setAccessibleName("PIN")
        self.pin.setMaxLength(high)
        self.repeat = QLineEdit()
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat.setAccessibleName("PIN again")
        self.repeat.setMaxLength(high)
        self.problem = QLabel()
        self.problem.setAccessibleName("Problem")
        self.problem.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.set_button = self.buttons.addButton("&Set PIN", QDialogButtonBox.ButtonRole.AcceptRole)
        self.set_button.setAccessibleName("Set PIN")
        self.set_button.setDefault(True)
        self.not_now_button = self.buttons.addButton(
            "&Not now", QDialogButtonBox.ButtonRole.RejectRole
        )
        self.not_now_button.setAccessibleName("Not now")
        form = QFormLayout()
        form.addRow("&PIN", self.pin)
        form.addRow("PIN &again", self.repeat)
        layout = QVBoxLayout(self)
        layout.addWidget(prompt)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.problem.hide()
        self.buttons.accepted.connect(self._on_buttons_accepted)
        self.buttons.rejected.connect(self.reject)
        self.pin.setFocus()

    def show_problem(self, text: str) -> None:
        """Say what is wrong; the PIN fields are emptied."""
        self.problem.setText(text)
        self.problem.show()
        self.pin.clear()
        self.repeat.clear()
        self.pin.setFocus()

    def _on_buttons_accepted(self) -> None:
        pin = self.pin.text()
        problem = pin_problem(pin)
        if not problem and self.repeat.text() != pin:
            problem = "The two PINs are not the same. Type the PIN twice."
        if problem:
            self.show_problem(problem)
            return
        self.pin_chosen.emit(pin)


class ScreenLock(QObject):
    """Locks the window after the idle timeout while an account is open; unlocks with a PIN.

    Args:
        window: the main window (its lock page is `page`).
        store: where the PIN hashes are kept.
        tasks: where checking a PIN runs (it reads the secret store and hashes).
        sign_out: signs the account out (five wrong PINs, "Sign in again instead").
        timeout_ms: how long without input locks the window.

    Signals:
        locked_changed(bool): the window was locked (True) or unlocked (False).
    """

    locked_changed = Signal(bool)

    def __init__(
        self,
        window: MainWindow,
        store: SecretStore,
        tasks: BackgroundTasks,
        *,
        sign_out: Callable[[], Awaitable[None]],
        timeout_ms: int,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._window = window
        self._store = store
        self._tasks = tasks
        self._sign_out = sign_out
        self._pin_key = ""
        self._notifier: DesktopNotifier | None = None
        self._wrong = 0
        self._hidden_windows: list[QWidget] = []
        self.watcher = IdleWatcher(timeout_ms, self)
        self.watcher.idle.connect(self._on_watcher_idle)
        self.page = LockPage(window)  # the window's pages take it on the first lock
        self.page.hide()
        self.page.pin_entered.connect(self._on_page_pin_entered)
        #: The "Choose an unlock PIN" dialog offered after sign-in (None when not shown).
        self.pin_dialog: ChoosePinDialog | None = None
        self.page.sign_in_again_requested.connect(self._on_page_sign_in_again_requested)

    @property
    def locked(self) -> bool:
        """True while the window is locked."""
        return self._window.locked

    @property
    def wrong_pins(self) -> int:
        """Wrong PINs entered since the last unlock."""
        return self._wrong

    def set_timeout_ms(self, timeout_ms: int) -> None:
        """Lock after this long without input from now on."""
        self.watcher.set_timeout_ms(timeout_ms)

    def arm(self, environment: Environment, account_id: str, notifier: DesktopNotifier) -> None:
        """An account is open: lock its window after the idle timeout."""
        self._pin_key = unlock_pin_key(environment, account_id)
        self._notifier = notifier
        self._wrong = 0
        self.watcher.start()
        self._tasks.spawn(self._offer_pin(), name="offer-pin")

    def disarm(self) -> None:
        """The account is closing: no more locking; what the lock hid is closed, not shown."""
        self.watcher.stop()
        self._pin_key = ""
        self._wrong = 0
        if self._notifier is not None:
            self._notifier.set_locked(False)
            self._notifier = None
        self._close_pin_dialog()
        hidden, self._hidden_windows = self._hidden_windows, []
        for widget in hidden:
            if Shiboken.isValid(widget):
                widget.close()
        self._window.hide_lock(show_held=False)
        self.page.ask_for_pin()

    def lock(self) -> None:
        """Lock now: the lock page over the panes, every other window of the app hidden."""
        if self.locked or not self._pin_key:
            return
        self.watcher.stop()
        if self._notifier is not None:
            self._notifier.set_locked(True)
        self._hide_other_windows()
        self.page.ask_for_pin()
        self._window.show_lock(self.page)
        self.page.pin.setFocus()  # typing goes to the PIN, never to a hidden pane's field
        self._tasks.spawn(self._ask_for_pin_or_sign_in(), name="lock-page")
        self.locked_changed.emit(True)
        log.info("locked after %d ms without input", self.watcher.timeout_ms)

    def unlock(self) -> None:
        """Take the lock away (after the right PIN): the panes and the hidden windows again."""
        if not self.locked:
            return
        self._wrong = 0
        if self._notifier is not None:
            self._notifier.set_locked(False)
        self._window.hide_lock()
        hidden, self._hidden_windows = self._hidden_windows, []
        for widget in hidden:
            if Shiboken.isValid(widget):  # a window may have been deleted meanwhile
                widget.show()
        self.page.ask_for_pin()
        self.watcher.start()
        self.locked_changed.emit(False)
        log.info("unlocked")

    async def try_pin(self, pin: str) -> None:
        """Unlock if `pin` is the account's PIN; count a wrong one (the fifth signs out)."""
        key = self._pin_key
        self.page.set_busy(True)
        try:
            stored = await self._store.get(key)
            right = stored is not None and verify_pin(pin, stored)
        except (SecretStoreUnavailable, ValueError):
            log.warning("the unlock PIN could not be checked")
            self.page.show_problem(
                "Rupa Desk cannot check your PIN on this computer now. "
                "Choose Sign in again instead."
            )
            return
        finally:
            self.page.set_busy(False)
        if key != self._pin_key or not self.locked:
            return  # signed out (or unlocked) meanwhile
        if right:
            self.unlock()
            return
        self._wrong += 1
        left = MAX_WRONG_PINS - self._wrong
        if left <= 0:
            log.info("too many wrong PINs: signing out")
            await self._sign_out()
            return
        self.page.show_problem(
            f"That PIN is not right. {left} more wrong "
            f"{'try signs' if left == 1 else 'tries sign'} you out."
            if left <= 2
            else "That PIN is not right. Try again."
        )

    async def choose_pin(self, pin: str) -> None:
        """Keep the chosen PIN's hash for the account (from the dialog offered at sign-in)."""
        key = self._pin_key
        dialog = self.pin_dialog
        try:
            stored = hash_pin(pin)
            if await self._store.get(key) is None:  # else another copy of the app set one
                await self._store.set(key, stored)
        except SecretStoreUnavailable:
            log.warning("the unlock PIN could not be kept")
            if dialog is not None and Shiboken.isValid(dialog):
                dialog.show_problem(
                    "Rupa Desk cannot keep a PIN on this computer now. Choose Not now: when "
                    "it locks, you sign in again."
                )
            return
        if key == self._pin_key:
            self._close_pin_dialog()
            log.info("an unlock PIN was chosen")

    async def sign_in_again(self) -> None:
        """Sign the account out: the sign-in page then asks to sign in."""
        await self._sign_out()

    async def _has_pin(self) -> bool:
        try:
            return await self._store.get(self._pin_key) is not None
        except SecretStoreUnavailable:
            return True  # the PIN check then says what to do

    async def _offer_pin(self) -> None:
        """After sign-in: offer to choose a PIN when the account has none here."""
        key = self._pin_key
        if await self._has_pin() or key != self._pin_key or self.pin_dialog is not None:
            return
        minutes = max(1, round(self.watcher.timeout_ms / 60_000))
        dialog = ChoosePinDialog(minutes, parent=self._window)
        dialog.pin_chosen.connect(self._on_pin_dialog_pin_chosen)
        dialog.finished.connect(self._on_pin_dialog_finished)
        self.pin_dialog = dialog
        dialog.open()
        dialog.raise_()  # above the window, which a browser sign-in has just brought forward
        dialog.activateWindow()

    def _close_pin_dialog(self) -> None:
        dialog, self.pin_dialog = self.pin_dialog, None
        if dialog is not None and Shiboken.isValid(dialog):
            dialog.finished.disconnect(self._on_pin_dialog_finished)
            dialog.close()
            dialog.deleteLater()
        if dialog in self._hidden_windows:
            self._hidden_windows.remove(dialog)

    async def _ask_for_pin_or_sign_in(self) -> None:
        if self.locked and not await self._has_pin():
            self.page.ask_to_sign_in_again()

    def _hide_other_windows(self) -> None:
        """Hide the app's other visible windows; dialogs and result windows come back on
        unlock, menus and tooltips do not."""
        for widget in QApplication.topLevelWidgets():
            if widget is self._window or not widget.isVisible():
                continue
            kind = widget.windowType()
            widget.hide()
            if kind in (Qt.WindowType.Window, Qt.WindowType.Dialog):
                self._hidden_windows.append(widget)

    # -- slots ---------------------------------------------------------------------------------

    def _on_watcher_idle(self) -> None:
        self.lock()

    def _on_page_pin_entered(self, pin: str) -> None:
        self._tasks.spawn(self.try_pin(pin), name="unlock")

    def _on_pin_dialog_pin_chosen(self, pin: str) -> None:
        self._tasks.spawn(self.choose_pin(pin), name="choose-pin")

    def _on_pin_dialog_finished(self, result: int) -> None:
        self._close_pin_dialog()  # "Not now": unlocking will mean signing in again

    def _on_page_sign_in_again_requested(self) -> None:
        self._tasks.spawn(self.sign_in_again(), name="sign-in-again")
