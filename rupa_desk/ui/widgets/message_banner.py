"""A dismissable banner above the content that shows a warning or an error."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

_STYLES = {
    "info": "background: #e8f1fb; color: #0b3c6f; border: 1px solid #9cc3ea;",
    "warning": "background: #fff6d6; color: #5c4400; border: 1px solid #e5c65c;",
    "error": "background: #fde8e8; color: #7a1010; border: 1px solid #ef9a9a;",
}


class MessageBanner(QFrame):
    """One line of text with a level colour and a close button; hidden when empty."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBanner")
        self.setAccessibleName("Message")
        self._level = ""
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
        """The level shown: info, warning or error (empty when hidden)."""
        return self._level if not self.isHidden() else ""

    def show_message(self, level: str, text: str) -> None:
        """Show `text` with the colours of `level` ("info", "warning" or "error")."""
        from PySide6.QtCore import Qt  # not at import: the window paints before `Qt` loads

        self._label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._level = level
        self.setStyleSheet(f"QFrame#messageBanner {{ {_STYLES.get(level, '')} }}")
        self._label.setText(text)
        self.show()

    def dismiss(self) -> None:
        """Hide the banner."""
        self._label.clear()
        self._level = ""
        self.hide()

    def _on_close_clicked(self) -> None:
        self.dismiss()
