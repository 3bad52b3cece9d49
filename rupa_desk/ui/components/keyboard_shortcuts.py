"""Help › Keyboard shortcuts: every command of the main window with its keys.

The rows are read from the window's actions (`MainWindow.commands`), the same ones the menus
and shortcuts use, so the list cannot drift from what is bound. Keys read as the system writes
them (Cmd on macOS).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from rupa_desk.ui.commands import Command
from rupa_desk.ui.widgets.keyed_table import read_only_table

INTRO = (
    "Every step has a key. In a list, Tab moves on to the next control and the arrow keys "
    "move between rows; Ctrl+F searches the pane shown. In Patients, Ctrl+Enter starts an "
    "order for the selected patient; in the new-patient form it creates her and starts her "
    "order."
)


def shortcut_text(action: QAction) -> str:
    """The action's keys as the system writes them, "or" between two ("Ctrl+PgDown or …")."""
    keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts()]
    return " or ".join(k for k in keys if k)


class KeyboardShortcutsDialog(QDialog):
    """A table of the commands: menu, command, keys, what it does.

    Args:
        commands: the window's commands and their actions (`MainWindow.commands`).
        parent: the main window.
    """

    def __init__(
        self, commands: Sequence[tuple[Command, QAction]], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.setAccessibleName("Keyboard shortcuts")
        self.table = QTableWidget(len(commands), 4)
        self.table.setAccessibleName("Commands and their keys")
        self.table.setHorizontalHeaderLabels(["Menu", "Command", "Keys", "What it does"])
        read_only_table(self.table, stretch=3)
        header = self.table.horizontalHeader()
        for column in (0, 1, 2):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        for row, (command, action) in enumerate(commands):
            for column, text in enumerate(
                (command.menu, command.label, shortcut_text(action) or "—", command.tip)
            ):
                self.table.setItem(row, column, QTableWidgetItem(text))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.resize(720, 520)

    def rows(self) -> list[tuple[str, str, str]]:
        """(menu, command, keys) of every row, as shown."""
        texts = [
            [self._text(row, column) for column in range(3)] for row in range(self.table.rowCount())
        ]
        return [(menu, command, keys) for menu, command, keys in texts]

    def _text(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return "" if item is None else item.text()
