"""A dismissable banner above the content that shows warnings and errors.

A new message does not hide the ones before it (a keychain warning at start-up must not hide
a settings error a moment earlier): the banner lists the last few, oldest first, in the
colours of the most severe, until the user dismisses them.
"""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

_STYLES = {
    "info": "background: #e8f1fb; color: #0b3c6f; border: 1px solid #9cc3ea;",
    "warning": "background: #fff6d6; color: #5c4400; border: 1px solid #e5c65c;",
    "error": "background: #fde8e8; color: #7a1010; border: 1px solid #ef9a9a;",
}
_SEVERITY = {"info": 0, "warning": 1, "error": 2}
#: How many messages the banner lists at once (the oldest go first).
MAX_SHOWN = 3


class MessageBanner(QFrame):
    """The last messages, a level colour and a close button; hidden when empty."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBanner")
        self.setAccessibleName("Message")
        self._level = ""
        self._messages: list[tuple[str, str]] = []
        self._label = QLabel()
        self._label.setWordWrap(True)
        self._label.setAccessibleName("Message text")
        self._close = QToolButton()
        self._close.setText("✕")
        self._close.setAccessibleName("Dismiss message")
        self._close.setToolTip("Dismiss")
        self._close.clicked.connect(self._on_close_clicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self._label, 1)
        layout.addWidget(self._close, 0)
        self.hide()

    @property
    def text(self) -> str:
        """The text shown (empty when hidden)."""
        return self._label.text() if not self.isHidden() else ""

    @property
    def level(self) -> str:
        """The most severe level shown: info, warning or error (empty when hidden)."""
        return self._level if not self.isHidden() else ""

    def show_message(self, level: str, text: str) -> None:
        """Add `text` ("info", "warning" or "error") below the messages still shown.

        The same text again moves to the end instead of showing twice.
        """
        from PySide6.QtCore import Qt  # not at import: the window paints before `Qt` loads

        self._label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._messages = [m for m in self._messages if m[1] != text] + [(level, text)]
        self._messages = self._messages[-MAX_SHOWN:]
        self._level = max((m[0] for m in self._messages), key=lambda x: _SEVERITY.get(x, 0))
        self.setStyleSheet(f"QFrame#messageBanner {{ {_STYLES.get(self._level, '')} }}")
        self._label.setText("\n".join(m[1] for m in self._messages))
        self.show()

    def dismiss(self) -> None:
        """Hide the banner and forget its messages."""
        self._messages = []
        self._label.clear()
        self._level = ""
        self.hide()

    def _on_close_clicked(self) -> None:
        self.dismiss()
