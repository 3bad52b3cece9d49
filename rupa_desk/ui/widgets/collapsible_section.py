"""A titled section that opens and closes with a click on its title (a disclosure triangle)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QToolButton, QVBoxLayout, QWidget


class CollapsibleSection(QWidget):
    """A title button with an arrow, a one-line note, and a body shown only when expanded.

    Args:
        title: the button's text ("Administrator settings").
        note: one line under the title saying who the section is for (always shown).
        body: the widget shown while the section is expanded.
        expanded: start expanded.
    """

    def __init__(
        self,
        title: str,
        note: str,
        body: QWidget,
        *,
        expanded: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.toggle = QToolButton()
        self.toggle.setText(title)
        self.toggle.setAccessibleName(title)
        self.toggle.setCheckable(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setAutoRaise(True)
        self.note = QLabel(note)
        self.note.setWordWrap(True)
        self.body = body
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.toggle)
        layout.addWidget(self.note)
        layout.addWidget(body)
        self.toggle.toggled.connect(self._on_toggle_toggled)
        self.toggle.setChecked(expanded)
        self._on_toggle_toggled(expanded)

    @property
    def expanded(self) -> bool:
        """True while the body is shown."""
        return self.toggle.isChecked()

    def set_expanded(self, expanded: bool) -> None:
        """Open or close the section."""
        self.toggle.setChecked(expanded)

    def _on_toggle_toggled(self, checked: bool) -> None:
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if checked else Qt.ArrowType.RightArrow)
        self.body.setVisible(checked)
