"""The main window: the sign-in page, or the four panes with a sidebar, menus and status bar.

The window is painted before the services are loaded, so this module (and what it imports)
stays light: no `Qt` enum namespace at import time (it is costly to load), `QIcon` and
`QKeySequence` first used after the paint, the bug report dialog loaded on the first bug.

The window knows the panes by key and title (the registry, `rupa_desk.ui.panes.PANES`) but
nothing of what they show: when someone signs in, the account's workspace builds its pane
widgets from the registry and the composition root hands them to `install_panes`; on
sign-out `remove_panes` deletes them, so nothing of one account stays on screen for the next.
`show_pane(key)` is how the rest of the app navigates (e.g. the catalog's "Add to draft" can
bring the drafts pane forward). `show_lock(page)` covers the panes with the idle lock's page
(rupa_desk/ui/idle_lock.py) without deleting them, so an unsaved form survives the lock.

Its menus are the command table (`rupa_desk.ui.commands`): one action per command, with the
command's keys; what the account's commands do is given at sign-in (`set_command_handlers`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QEvent, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from rupa_desk.paths import APP_ICON, resource_file
from rupa_desk.ui.commands import (
    COMMANDS,
    KEYBOARD_SHORTCUTS,
    MENUS,
    NEXT_PANE,
    PREVIOUS_PANE,
    QUIT,
    SETTINGS,
    SIGN_OUT,
    Command,
    pane_command,
)
from rupa_desk.ui.components.status_bar import StatusBar
from rupa_desk.ui.messages import BugReport, Level, Message, MessageBridge
from rupa_desk.ui.panes import PANES, PaneSpec
from rupa_desk.ui.theme import set_appearance
from rupa_desk.ui.widgets.message_banner import MessageBanner
from rupa_desk.ui.window_state import WindowState

if TYPE_CHECKING:  # loaded when first shown, not before the first paint
    from rupa_desk.ui.components.bug_report_dialog import BugReportDialog
    from rupa_desk.ui.components.keyboard_shortcuts import KeyboardShortcutsDialog

APP_TITLE = "Rupa Desk"
#: The smallest window in which every pane is usable (the panes adapt down to it; checked by
#: tests/gui/test_window_sizes.py). It fits a 1366×768 screen at 125 % scaling (1093×614).
MINIMUM_SIZE = (780, 520)
INFO_TIMEOUT_MS = 8000
#: The sidebar's icons load this long after the panes show (their font loads with them).
ICONS_DELAY_MS = 200
#: Room in the sidebar for an icon and the item's padding.
SIDEBAR_ICON_ROOM = 44
SHORTCUTS_FALLBACK_MS = 500
#: The band across the top of the window in demo mode.
DEMO_BAND_TEXT = "Demo mode: practice data, not real patients"
#: A colour no message or status uses (white on it reads well in light and dark themes).
DEMO_BAND_STYLE = (
    "QLabel#demoBand { background: #5a32a3; color: #ffffff; font-weight: bold;"
    " padding: 4px 8px; border-radius: 4px; }"
)


class StartingPage(QWidget):
    """What the window shows while Rupa Desk loads its services (a fraction of a second)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Starting")
        # Plain labels centred by stretches: alignment flags (the `Qt` enum namespace) and
        # rich text would both load before the first paint.
        title = QLabel("Rupa Desk")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 2)
        font.setBold(True)
        title.setFont(font)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for label in (title, QLabel("Starting…")):
            row = QHBoxLayout()
            row.addStretch(1)
            row.addWidget(label)
            row.addStretch(1)
            layout.addLayout(row)
        layout.addStretch(2)


class MainWindow(QMainWindow):
    """The application window.

    Args:
        bridge: the message bridge; the window shows its messages and bug reports.
        window_state: where geometry and the last pane are remembered.
        sign_in_page: shown instead of the panes while nobody is signed in (default: a
            "Starting Rupa Desk…" page, replaced with `set_sign_in_page` once the services
            are loaded: the window paints before they are imported).
        status_bar: the status bar (default: a new one; see `status`).
        panes: the panes in sidebar order; Ctrl+1, Ctrl+2, … show them.

    Signals:
        pane_changed(str): the key of the pane now shown.
        settings_requested(): the user chose Settings….
        sign_out_requested(): the user chose Sign out….
        closed(): the window was closed (the app shuts down).
        first_painted(): the window has been painted for the first time (start-up is over).
    """

    pane_changed = Signal(str)
    first_painted = Signal()
    settings_requested = Signal()
    sign_out_requested = Signal()
    closed = Signal()

    def __init__(
        self,
        *,
        bridge: MessageBridge,
        window_state: WindowState,
        sign_in_page: QWidget | None = None,
        status_bar: StatusBar | None = None,
        panes: Sequence[PaneSpec] = PANES,
    ) -> None:
        super().__init__()
        if not panes:
            raise ValueError("the main window needs at least one pane")
        self._panes = list(panes)
        self._bridge = bridge
        self._window_state = window_state
        self._bug_dialog: BugReportDialog | None = None
        self._shortcuts_dialog: KeyboardShortcutsDialog | None = None
        self._account_handlers: dict[str, Callable[[], object]] = {}
        self._signed_in = False
        self._locked = False
        self._lock_page: QWidget | None = None
        self._banner_was_shown = False
        self._held_messages: list[Message] = []
        self._painted = False
        self._shortcuts_installed = False
        self.setMinimumSize(QSize(*MINIMUM_SIZE))
        self.setAccessibleName("Rupa Desk")

        self._sidebar = QListWidget()
        self._sidebar.setObjectName("sidebar")
        self._sidebar.setAccessibleName("Panes")
        self._sidebar.setMaximumWidth(190)
        self._stack = QStackedWidget()
        self._stack.setAccessibleName("Pane")
        for number, pane in enumerate(self._panes, start=1):
            item = QListWidgetItem(pane.title)
            item.setToolTip(f"{pane.title} (Ctrl+{number})" if number <= 9 else pane.title)
            self._sidebar.addItem(item)
        # Wide enough for every title, its icon and a count: the pane beside it is what gives
        # way in a small window.
        self._sidebar.setMinimumWidth(
            self._sidebar.sizeHintForColumn(0)
            + self._sidebar.fontMetrics().horizontalAdvance(" (999)")
            + 2 * self._sidebar.frameWidth()
            + SIDEBAR_ICON_ROOM
        )
        self._icons_loaded = False
        self._pane_widgets: dict[str, QWidget] = {}
        for pane in self._panes:
            self._pane_widgets[pane.key] = QWidget()  # replaced by install_panes
            self._stack.addWidget(self._pane_widgets[pane.key])
        self._sidebar.currentRowChanged.connect(self._on_sidebar_current_row_changed)

        workspace = QWidget()
        workspace_layout = QHBoxLayout(workspace)
        workspace_layout.setContentsMargins(0, 0, 0, 0)
        workspace_layout.addWidget(self._sidebar)
        workspace_layout.addWidget(self._stack, 1)

        self._demo_band = QLabel(DEMO_BAND_TEXT)
        self._demo_band.setObjectName("demoBand")
        self._demo_band.setAccessibleName(DEMO_BAND_TEXT)
        self._demo_band.setWordWrap(True)
        self._demo_band.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._demo_band.setStyleSheet(DEMO_BAND_STYLE)
        self._demo_band.hide()
        self._banner = MessageBanner()
        self._pages = QStackedWidget()
        if sign_in_page is None:
            sign_in_page = StartingPage()
        self._sign_in_page = sign_in_page
        self._workspace = workspace
        self._pages.addWidget(sign_in_page)
        self._pages.addWidget(workspace)
        central = QWidget()
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(6, 6, 6, 0)
        central_layout.addWidget(self._demo_band)
        central_layout.addWidget(self._banner)
        central_layout.addWidget(self._pages, 1)
        self.setCentralWidget(central)

        self._status_bar = status_bar if status_bar is not None else StatusBar()
        self.setStatusBar(self._status_bar)
        self._build_menus()

        bridge.message_shown.connect(self._on_bridge_message_shown)
        bridge.bug_reported.connect(self._on_bridge_bug_reported)

        self._restore()
        self.show_sign_in()

    # -- navigation -------------------------------------------------------------------------

    @property
    def pane_specs(self) -> tuple[PaneSpec, ...]:
        """The panes of the window, in sidebar order (their widgets are built from these)."""
        return tuple(self._panes)

    @property
    def pane_keys(self) -> list[str]:
        """The keys of the panes, in sidebar order."""
        return [pane.key for pane in self._panes]

    def current_pane(self) -> str:
        """The key of the pane shown (also while the sign-in page covers it)."""
        return self._panes[max(self._stack.currentIndex(), 0)].key

    def pane(self, key: str) -> QWidget:
        """The widget of the pane `key` (an empty widget until `install_panes`)."""
        self._index_of(key)
        return self._pane_widgets[key]

    def install_panes(self, widgets: Mapping[str, QWidget]) -> None:
        """Put the signed-in account's pane widgets in place (one for every key)."""
        missing = set(self.pane_keys) - set(widgets)
        if missing:
            raise ValueError(f"no widget for the panes {sorted(missing)}")
        current = self._stack.currentIndex()
        for index, pane in enumerate(self._panes):
            old = self._pane_widgets[pane.key]
            self._pane_widgets[pane.key] = widgets[pane.key]
            self._stack.insertWidget(index, widgets[pane.key])
            self._stack.removeWidget(old)
            old.deleteLater()
        self._stack.setCurrentIndex(max(current, 0))

    def remove_panes(self) -> None:
        """Delete the pane widgets and their counts (after sign-out); empty widgets take
        their place."""
        widgets = {pane.key: QWidget() for pane in self._panes}
        self.set_command_handlers({})  # they act on the panes going now
        self.install_panes(widgets)
        for pane in self._panes:
            self.set_pane_count(pane.key, 0)

    def show_pane(self, key: str) -> None:
        """Bring the pane `key` forward (ignored while the sign-in page is shown)."""
        self._sidebar.setCurrentRow(self._index_of(key))

    def _index_of(self, key: str) -> int:
        for index, pane in enumerate(self._panes):
            if pane.key == key:
                return index
        raise KeyError(f"no pane {key!r}; the panes are {self.pane_keys}")

    def _on_sidebar_current_row_changed(self, row: int) -> None:
        if row < 0:
            return
        self._stack.setCurrentIndex(row)
        self._update_title()
        self.pane_changed.emit(self._panes[row].key)

    def _update_title(self) -> None:
        title = self._panes[self._stack.currentIndex()].title if self._signed_in else "Sign in"
        if self._locked:
            title = "Locked"
        self.setWindowTitle(f"{APP_TITLE} — {title}")

    @property
    def status(self) -> StatusBar:
        """The status bar with its fields."""
        return self._status_bar

    @property
    def sign_in_page(self) -> QWidget:
        """The page shown while nobody is signed in."""
        return self._sign_in_page

    def set_sign_in_page(self, page: QWidget) -> None:
        """Replace the sign-in page (the "Starting…" page, once the services are loaded)."""
        old, self._sign_in_page = self._sign_in_page, page
        showing = self._pages.currentWidget() is old
        self._pages.insertWidget(0, page)
        self._pages.removeWidget(old)
        old.deleteLater()
        if showing:
            self._pages.setCurrentWidget(page)

    # -- signed in or not --------------------------------------------------------------------

    @property
    def signed_in(self) -> bool:
        """True while the panes are shown (False: the sign-in page)."""
        return self._signed_in

    def show_sign_in(self) -> None:
        """Cover the panes with the sign-in page (ending a lock: what it held is dropped)."""
        if self._locked:
            self.hide_lock(show_held=False)
        self._signed_in = False
        self._pages.setCurrentWidget(self._sign_in_page)
        self._sidebar.setEnabled(False)
        self._update_actions()
        self._update_title()

    def set_pane_count(self, key: str, count: int, meaning: str = "") -> None:
        """Show how many things of pane `key` need attention (0: none) beside its title.

        Args:
            key: the pane.
            count: how many (drafts waiting, orders needing a look).
            meaning: what they are, for the tooltip ("2 drafts are not checked out yet").
        """
        index = self._index_of(key)
        pane = self._panes[index]
        item = self._sidebar.item(index)
        item.setText(f"{pane.title} ({count})" if count else pane.title)
        shortcut = f" (Ctrl+{index + 1})" if index < 9 else ""
        item.setToolTip(f"{pane.title}{shortcut}" + (f"\n{meaning}" if count and meaning else ""))

    def pane_title(self, key: str) -> str:
        """The pane's title as the sidebar shows it (with its count, if any)."""
        return self._sidebar.item(self._index_of(key)).text()

    def show_workspace(self) -> None:
        """Show the panes (someone is signed in); their icons load just after."""
        if not self._icons_loaded:
            QTimer.singleShot(ICONS_DELAY_MS, self._load_icons)
        self._signed_in = True
        self._pages.setCurrentWidget(self._workspace)
        self._sidebar.setEnabled(True)
        self._update_actions()
        self._update_title()

    # -- the idle lock ---------------------------------------------------------------------------

    @property
    def locked(self) -> bool:
        """True while the lock page covers the panes."""
        return self._locked

    def show_lock(self, page: QWidget) -> None:
        """Cover the panes with the lock page: nothing of the account's patients stays shown.

        The panes stay alive behind it (an unsaved form keeps its text); the sidebar, the
        pane and account menu items are off; the banner is hidden and messages that arrive
        while locked wait for the unlock (they may name patients), the status bar's message
        is cleared.
        """
        if self._locked:
            return
        if self._lock_page is not page:
            if self._lock_page is not None:
                self._pages.removeWidget(self._lock_page)
            self._lock_page = page
            self._pages.addWidget(page)
        self._locked = True
        self._banner_was_shown = not self._banner.isHidden()
        self._banner.hide()
        self._status_bar.clearMessage()
        self._pages.setCurrentWidget(page)
        self._sidebar.setEnabled(False)
        self._update_actions()
        self._update_title()

    def hide_lock(self, *, show_held: bool = True) -> None:
        """Take the lock page away: the panes again (if signed in) and the held messages.

        Args:
            show_held: show the messages that came while locked (False when the account is
                closing: they were about its patients).
        """
        if not self._locked:
            return
        self._locked = False
        self._update_actions()
        held, self._held_messages = self._held_messages, []
        if show_held:
            self._banner.setVisible(self._banner_was_shown)
        else:
            self._banner.clear()
        if self._signed_in:
            self.show_workspace()
        if show_held:
            for message in held:
                self._on_bridge_message_shown(message)
        self._update_title()

    # -- menus --------------------------------------------------------------------------------

    def _build_menus(self) -> None:
        """One action per command of the table (`rupa_desk.ui.commands`), in its menu; the
        panes' actions first in View. Their keys come after the first paint."""
        menus = {name: self.menuBar().addMenu(f"&{name}") for name in MENUS}
        self._commands: list[tuple[Command, QAction]] = []
        self._actions: dict[str, QAction] = {}
        self._handlers: dict[str, Callable[[], object]] = {
            SETTINGS: self.settings_requested.emit,
            SIGN_OUT: self.sign_out_requested.emit,
            QUIT: self.close,
            NEXT_PANE: self._on_next_pane,
            PREVIOUS_PANE: self._on_previous_pane,
            KEYBOARD_SHORTCUTS: self.show_keyboard_shortcuts,
        }
        for number, pane in enumerate(self._panes, start=1):
            action = self._add_command(pane_command(number, pane.key, pane.title), menus)
            action.setData(pane.key)
        menus["View"].addSeparator()
        for entry in COMMANDS:
            if entry.key == QUIT:
                menus["File"].addSeparator()
            action = self._add_command(entry, menus)
            if entry.key == SETTINGS:
                action.setMenuRole(QAction.MenuRole.PreferencesRole)
            elif entry.key == QUIT:
                action.setMenuRole(QAction.MenuRole.QuitRole)
        # Shortcuts work while the menu bar is hidden or native, too.
        self.addActions([action for _, action in self._commands])
        self._update_actions()

    def _add_command(self, entry: Command, menus: Mapping[str, QMenu]) -> QAction:
        action = QAction(entry.title, self)
        action.setStatusTip(entry.tip)
        action.setToolTip(entry.tip)
        action.setObjectName(entry.key)
        action.triggered.connect(self._on_command_action_triggered)
        menus[entry.menu].addAction(action)
        self._commands.append((entry, action))
        self._actions[entry.key] = action
        return action

    @property
    def commands(self) -> list[tuple[Command, QAction]]:
        """Every command of the window with its action, menu by menu as the menu bar shows
        them (Help and the command palette list these)."""
        return sorted(self._commands, key=lambda entry: MENUS.index(entry[0].menu))

    def command_action(self, key: str) -> QAction:
        """The action of the command `key` (e.g. `rupa_desk.ui.commands.SEND`)."""
        return self._actions[key]

    def set_command_handlers(self, handlers: Mapping[str, Callable[[], object]]) -> None:
        """What the account's commands do (new order, send, …), given at sign-in; they are
        enabled while someone is signed in. `remove_panes` takes them away again."""
        unknown = set(handlers) - set(self._actions)
        if unknown:
            raise ValueError(f"no commands {sorted(unknown)}")
        self._account_handlers = dict(handlers)
        self._update_actions()

    def run_command(self, key: str) -> None:
        """Do what the command `key` does (as its shortcut would); nothing when disabled."""
        action = self._actions[key]
        if action.isEnabled():
            action.trigger()

    def _handler(self, key: str) -> Callable[[], object] | None:
        if key.startswith("pane:"):
            return None
        return self._account_handlers.get(key) or self._handlers.get(key)

    def _update_actions(self) -> None:
        """Each command on when it can run: the account's need a signed-in account that is
        not locked (at the lock page nothing may reach a patient: not the panes, Go to…,
        Send…), and Settings is off while locked too; Quit and Help stay."""
        usable = self._signed_in and not self._locked
        for entry, action in self._commands:
            if entry.key.startswith("pane:"):
                action.setEnabled(usable)
            elif entry.account:
                action.setEnabled(usable and self._handler(entry.key) is not None)
            elif entry.key == SETTINGS:
                action.setEnabled(not self._locked and self._handler(entry.key) is not None)
            else:
                action.setEnabled(self._handler(entry.key) is not None)

    def _on_command_action_triggered(self) -> None:
        action = self.sender()
        if not isinstance(action, QAction):
            return
        key = action.objectName()
        if key.startswith("pane:"):
            self.show_pane(str(action.data()))
            self._focus_pane(str(action.data()))
            return
        handler = self._handler(key)
        if handler is not None:
            handler()

    def _focus_pane(self, key: str) -> None:
        """Put the keys where a pane says its work starts (its focus proxy, when it has one
        that can take them): without it, the focus stays wherever Qt moved it from the pane
        that was hidden, and Enter could press a button nobody looked at."""
        pane = self.pane(key)
        proxy = pane.focusProxy()
        if proxy is not None and proxy.isEnabled() and proxy.isVisible():
            pane.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _on_next_pane(self) -> None:
        self._step_pane(1)

    def _on_previous_pane(self) -> None:
        self._step_pane(-1)

    def _step_pane(self, step: int) -> None:
        if self._signed_in:
            row = (self._stack.currentIndex() + step) % len(self._panes)
            self._sidebar.setCurrentRow(row)

    def show_keyboard_shortcuts(self) -> None:
        """Help › Keyboard shortcuts: every command and its keys (from the same actions)."""
        from rupa_desk.ui.components.keyboard_shortcuts import KeyboardShortcutsDialog

        if self._shortcuts_dialog is None:
            self._shortcuts_dialog = KeyboardShortcutsDialog(self.commands, self)
        self._shortcuts_dialog.show()
        self._shortcuts_dialog.raise_()
        self._shortcuts_dialog.activateWindow()

    @property
    def shortcuts_dialog(self) -> KeyboardShortcutsDialog | None:
        """The Keyboard shortcuts view, once opened."""
        return self._shortcuts_dialog

    def _install_keys_and_icon(self) -> None:
        """Give the actions their keys, and the window its icon, once it has painted.

        `setShortcut` makes PySide build a hundred key enums (slow), so it waits until
        the window is on screen. Key strings, not `QKeySequence.StandardKey`; "Ctrl" is Cmd
        on macOS.
        """
        if self._shortcuts_installed:
            return
        self._shortcuts_installed = True
        # Imported here: creating these two classes (and their enums) costs time at import.
        from PySide6.QtGui import QIcon, QKeySequence

        # The icon waits for the paint too: the SVG image plugin loads with it.
        self.setWindowIcon(QIcon(str(resource_file(APP_ICON))))
        for entry, action in self._commands:
            if entry.keys:
                action.setShortcuts([QKeySequence(keys) for keys in entry.keys])
                shown = QKeySequence(entry.keys[0]).toString(QKeySequence.SequenceFormat.NativeText)
                action.setToolTip(f"{entry.tip} ({shown})")

    def set_appearance(self, appearance: str) -> None:
        """Light, dark, or as the OS is set ("system"), now; remembered for the next start's
        first paint (the settings are read after it)."""
        app = QApplication.instance()
        if isinstance(app, QApplication):
            set_appearance(app, appearance)
        self._window_state.remember_appearance(appearance)

    def changeEvent(self, event: QEvent) -> None:
        """Icons drawn in the palette's colours follow it to light or dark."""
        super().changeEvent(event)
        palette_changes = (QEvent.Type.ApplicationPaletteChange, QEvent.Type.PaletteChange)
        if event.type() in palette_changes and self._icons_loaded:
            self._icons_loaded = False
            self._load_icons()

    def _load_icons(self) -> None:
        """The sidebar's icons (qtawesome loads its fonts now, once the panes are usable)."""
        if self._icons_loaded:
            return
        from rupa_desk.ui.theme import icon

        self._icons_loaded = True
        for index, pane in enumerate(self._panes):
            if pane.icon:
                self._sidebar.item(index).setIcon(icon(pane.icon))

    # -- messages -----------------------------------------------------------------------------

    def set_demo_band(self, shown: bool) -> None:
        """Show (or hide) the band across the top that says the data is the demo's.

        Shown for the built-in simulator only, above every page, so that practice data is
        never mistaken for real patients.
        """
        self._demo_band.setVisible(shown)

    @property
    def demo_band(self) -> QLabel:
        """The "Demo mode" band (hidden unless `set_demo_band(True)`)."""
        return self._demo_band

    @property
    def banner(self) -> MessageBanner:
        """The banner that shows warnings and errors."""
        return self._banner

    @property
    def bug_dialog(self) -> BugReportDialog | None:
        """The bug report dialog, once a bug has been reported."""
        return self._bug_dialog

    def attach_messages(self) -> None:
        """Start showing the bridge's messages, including those queued during start-up."""
        self._bridge.attach()

    def _on_bridge_message_shown(self, message: Message) -> None:
        if self._locked:
            self._held_messages.append(message)
            return
        if message.level is Level.INFO:
            self._status_bar.showMessage(message.text, INFO_TIMEOUT_MS)
        else:
            self._banner.show_message(message.level.value, message.text)

    def _on_bridge_bug_reported(self, report: BugReport) -> None:
        if self._bug_dialog is None:
            from rupa_desk.ui.components.bug_report_dialog import BugReportDialog

            self._bug_dialog = BugReportDialog(self)
        self._bug_dialog.add_report(report)
        self._bug_dialog.show()
        self._bug_dialog.raise_()

    # -- remembered state ---------------------------------------------------------------------

    def _restore(self) -> None:
        geometry = self._window_state.geometry()
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1180, 760)
        state = self._window_state.window_state()
        if state is not None:
            self.restoreState(state)
        last = self._window_state.last_pane(self._panes[0].key)
        self._sidebar.setCurrentRow(self._index_of(last) if last in self.pane_keys else 0)

    def save_state(self) -> None:
        """Remember geometry and the current pane."""
        self._window_state.save(
            geometry=QByteArray(self.saveGeometry()),
            window_state=QByteArray(self.saveState()),
            last_pane=self.current_pane(),
        )

    @property
    def painted(self) -> bool:
        """True once the window has been painted."""
        return self._painted

    def event(self, event: QEvent) -> bool:
        handled = super().event(event)
        if not self._painted and event.type() == QEvent.Type.UpdateRequest:
            self._painted = True
            self.first_painted.emit()
            self._install_keys_and_icon()
        return handled

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._shortcuts_installed:  # in case no paint comes (e.g. shown minimised)
            QTimer.singleShot(SHORTCUTS_FALLBACK_MS, self._install_keys_and_icon)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_state()
        self._bridge.detach()
        for dialog in (self._bug_dialog, self._shortcuts_dialog):
            if dialog is not None:
                dialog.close()
        super().closeEvent(event)
        self.closed.emit()
