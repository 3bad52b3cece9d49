"""Desktop notifications: a system tray message, or the app's own message bar without a tray.

Where the desktop has no system tray (some Linux desktops, offscreen tests), the notification
is shown through the message bridge instead, so it is never lost. Notification texts may name
a patient: they are shown, never logged. While the window is locked (rupa_desk/ui/idle_lock.py)
a notification says only `LOCKED_TEXT`: a shared PC's screen shows no patient then.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QStyle, QSystemTrayIcon

from rupa_desk.ui.messages import MessageBridge

NOTIFICATION_MS = 10_000
#: The title and text of every notification while the window is locked.
LOCKED_TITLE = "Rupa Desk"
LOCKED_TEXT = "Rupa Desk has an update"


class DesktopNotifier(QObject):
    """Shows notifications about orders.

    Args:
        bridge: where notifications go when there is no system tray.
        use_tray: try the system tray (False in tests that want the bridge only).

    Signals:
        notified(str, str): title and text of each notification, however it was shown.
        activated(): the user clicked the tray icon or a tray message (bring the window up).
    """

    notified = Signal(str, str)
    activated = Signal()

    def __init__(
        self, bridge: MessageBridge, *, use_tray: bool = True, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._tray: QSystemTrayIcon | None = None
        self._locked = False
        if use_tray and QSystemTrayIcon.isSystemTrayAvailable():
            self._tray = QSystemTrayIcon(self._icon(), self)
            self._tray.setToolTip("Rupa Desk")
            self._tray.activated.connect(self._on_tray_activated)
            self._tray.messageClicked.connect(self.activated)
            self._tray.show()

    @property
    def uses_tray(self) -> bool:
        """True when notifications go to the system tray."""
        return self._tray is not None

    @property
    def locked(self) -> bool:
        """True while notifications say only that there is an update."""
        return self._locked

    def set_locked(self, locked: bool) -> None:
        """While the window is locked, notifications name nothing (no patient, no order)."""
        self._locked = locked

    def notify(self, title: str, text: str) -> None:
        """Show a notification (a generic one while locked)."""
        if self._locked:
            title, text = LOCKED_TITLE, LOCKED_TEXT
        if self._tray is not None and QSystemTrayIcon.supportsMessages():
            self._tray.showMessage(
                title, text, QSystemTrayIcon.MessageIcon.Information, NOTIFICATION_MS
            )
        else:
            self._bridge.info(f"{title}: {text}")
        self.notified.emit(title, text)

    def close(self) -> None:
        """Remove the tray icon (at sign-out)."""
        if self._tray is not None:
            self._tray.hide()
            self._tray.deleteLater()
            self._tray = None

    def _on_tray_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        self.activated.emit()

    @staticmethod
    def _icon() -> QIcon:
        app = QApplication.instance()
        if isinstance(app, QApplication) and not app.windowIcon().isNull():
            return app.windowIcon()
        style = QApplication.style()
        return style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxInformation)
