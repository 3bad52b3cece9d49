"""A pane that is not built yet says what it will hold."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


class PlaceholderPane(QWidget):
    """A heading and a paragraph, centred.

    Args:
        heading: the pane's name.
        text: what the pane will hold.
    """

    def __init__(self, heading: str, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(heading)
        title = QLabel(f"<h2>{heading}</h2>")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        body = QLabel(text)
        body.setWordWrap(True)
        body.setAlignment(Qt.AlignmentFlag.AlignCenter)
        body.setMaximumWidth(520)
        body.setAccessibleName(f"{heading}: what this pane will hold")
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(title)
        layout.addWidget(body, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)
        self._text = text

    @property
    def text(self) -> str:
        """What the pane will hold."""
        return self._text
