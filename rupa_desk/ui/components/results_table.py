"""One ordered test's result values: a sentence on where they stand, then the table.

Columns are `COLUMNS` (analyte, value, units, range, flag, status) with the cells of
`ResultRow.cells`, as `rupa-desk results show` prints them. Flags are chips with words
("High", "Critically low"), coloured by how much they call for attention, never colour
alone. The lab's comments are in the row's tooltip.
"""

from __future__ import annotations

from typing import Final

from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from rupa_desk.core.hl7_results import COLUMNS, ResultRow
from rupa_desk.services.store.lab_results import TestResults
from rupa_desk.ui.theme import Tone, chip_colors
from rupa_desk.ui.widgets.chip_delegate import ChipDelegate
from rupa_desk.ui.widgets.keyed_table import CHIP_ROLE, read_only_table

FLAG: Final = COLUMNS.index("Flag")
STATUS: Final = COLUMNS.index("Status")
_CRITICAL: Final = frozenset({"HH", "LL", "AA"})


def flag_tone(row: ResultRow) -> Tone | None:
    """A flag chip's tone: danger for critical values, warning for any other flag."""
    if not row.flag_codes:
        return None
    return Tone.DANGER if _CRITICAL & set(row.flag_codes) else Tone.WARNING


def status_tone(row: ResultRow) -> Tone | None:
    """A status chip's tone: corrected and preliminary results stand out, final ones do not."""
    return {"Corrected": Tone.INFO, "Preliminary": Tone.NEUTRAL, "Pending": Tone.NEUTRAL}.get(
        row.status
    )


class ResultsTable(QWidget):
    """The structured results of one ordered test (empty until one is shown)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Result values")
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setAccessibleName("Where the results stand")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setAccessibleName("Result values")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        read_only_table(self.table, stretch=0)
        for column in range(1, len(COLUMNS)):
            self.table.horizontalHeader().setSectionResizeMode(
                column, QHeaderView.ResizeMode.ResizeToContents
            )
        chips = ChipDelegate(chip_colors, self.table)
        self.table.setItemDelegateForColumn(FLAG, chips)
        self.table.setItemDelegateForColumn(STATUS, chips)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        self.show_results(None)

    def show_results(self, results: TestResults | None, *, has_pdf: bool = False) -> None:
        """Show a test's results (None: no values came yet)."""
        if results is None:
            self.summary.setText(
                "No result values yet." + (" The PDF shows the results." if has_pdf else "")
            )
            self.table.setRowCount(0)
            return
        self.summary.setText(results.summary)
        self.table.setRowCount(len(results.rows))
        for index, row in enumerate(results.rows):
            tip = row.comments
            for column, text in enumerate(row.cells()):
                item = QTableWidgetItem(text.replace("\n", " / "))
                if column == FLAG:
                    item.setData(CHIP_ROLE, flag_tone(row))
                elif column == STATUS:
                    item.setData(CHIP_ROLE, status_tone(row))
                whole = text if "\n" in text else ""
                item.setToolTip("\n\n".join(t for t in (whole, tip) if t))
                self.table.setItem(index, column, item)

    def cell(self, row: int, column: int) -> str:
        """The text of a cell (for tests)."""
        item = self.table.item(row, column)
        return "" if item is None else item.text()
