"""One ordered test's result values: a sentence on where they stand, then the table.

Columns are `COLUMNS` (analyte, value, units, range, flag, status) with the cells of
`ResultRow.cells`, as `rupa-desk results show` prints them. Flags are chips with words
("High", "Critically low"), coloured by how much they call for attention, never colour
alone. The lab's comments are in the row's tooltip. "Print results…" and "Export CSV…"
write a summary of the whole order (`rupa_desk.core.results_summary`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Final

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from rupa_desk.core.file_names import safe_file_stem
from rupa_desk.core.hl7_results import COLUMNS, ResultRow
from rupa_desk.core.results_summary import OrderedTestSummary, summary_csv, summary_html
from rupa_desk.services.store.lab_results import OrderedTestResults
from rupa_desk.ui.formatting import when
from rupa_desk.ui.theme import Tone, chip_colors
from rupa_desk.ui.widgets.chip_delegate import ChipDelegate
from rupa_desk.ui.widgets.file_dialogs import WaysOut, save_csv
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
    """The structured results of one ordered test (empty until one is shown).

    Args:
        ways_out: the dialogs for saving and printing (the system's by default).

    Signals:
        action_failed(str): saving the CSV file failed (what happened, what to do).
    """

    action_failed = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, ways_out: WaysOut | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Result values")
        self._ways_out = ways_out or WaysOut()
        self._patient = ""
        self._order = ""
        self._tests: list[OrderedTestSummary] = []
        self.print_button = QPushButton("Print results…")
        self.print_button.setAccessibleName("Print a summary of this order's result values")
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setAccessibleName("Save this order's result values as a CSV file")
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
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.print_button)
        top.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        self.print_button.clicked.connect(self._on_print_button_clicked)
        self.export_button.clicked.connect(self._on_export_button_clicked)
        self.set_order("", "", [])
        self.show_results(None)

    def set_order(self, patient: str, order: str, tests: list[OrderedTestSummary]) -> None:
        """The order whose values "Print results…" and "Export CSV…" write."""
        self._patient, self._order, self._tests = patient, order, list(tests)
        has_values = any(test.rows for test in tests)
        self.print_button.setEnabled(has_values)
        self.export_button.setEnabled(has_values)

    def print_summary(self) -> None:
        """Print the order's results summary through the print dialog."""
        from PySide6.QtGui import QTextDocument
        from PySide6.QtPrintSupport import QPrinter

        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setDocName(safe_file_stem(f"Results - {self._patient}"))
        document = QTextDocument()
        document.setHtml(
            summary_html(self._patient, self._order, self._tests, when(datetime.now().astimezone()))
        )
        document.setPageSize(printer.pageRect(QPrinter.Unit.Point).size())
        if self._ways_out.choose_printer(self, printer, document.pageCount()):
            document.print_(printer)

    def export_csv(self) -> Path | None:
        """Save the order's results summary as a CSV file where the user chooses."""
        chosen = self._ways_out.choose_save_path(
            self, f"{safe_file_stem(f'Results - {self._patient}')}.csv"
        )
        if not chosen:
            return None
        path = Path(chosen)
        csv = summary_csv(self._patient, self._order, self._tests)
        problem = save_csv(path, csv, "The results")
        if problem is not None:
            self.action_failed.emit(problem)
            return None
        return path

    def show_results(self, results: OrderedTestResults | None, *, has_pdf: bool = False) -> None:
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

    def _on_print_button_clicked(self) -> None:
        self.print_summary()

    def _on_export_button_clicked(self) -> None:
        self.export_csv()

    def cell(self, row: int, column: int) -> str:
        """The text of a cell (for tests)."""
        item = self.table.item(row, column)
        return "" if item is None else item.text()
