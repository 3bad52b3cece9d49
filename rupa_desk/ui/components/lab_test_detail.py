"""The catalog's detail panel: everything about one lab test, and "Add to draft"."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from rupa_desk.core.models import LabTest
from rupa_desk.ui.components.catalog_model import format_price, format_turnaround
from rupa_desk.ui.widgets.elided_text import show_cut_cells_whole


class LabTestDetail(QWidget):
    """Name, lab company, price, sample types, turnaround and biomarkers of one test.

    Signals:
        add_requested(str): the user asked to add this test (id) to the current draft.
    """

    add_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Lab test details")
        self._test: LabTest | None = None
        self.empty = QLabel("Select a test to see its details.")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.name = QLabel()
        self.name.setWordWrap(True)
        self.name.setAccessibleName("Test name")
        self.name.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.name.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.name.setFont(font)
        self.company = self._value("Lab company")
        self.price = self._value("Price")
        self.sample_types = self._value("Sample types")
        self.turnaround = self._value("Turnaround")
        self.biomarkers = QListWidget()
        self.biomarkers.setAccessibleName("Biomarkers")
        self.biomarkers.setSelectionMode(QListWidget.SelectionMode.NoSelection)
        show_cut_cells_whole(self.biomarkers)
        self.add_button = QPushButton("Add to draft")
        self.add_button.setAccessibleName("Add to draft")
        self.add_button.setToolTip("Add this test to the current draft order (Enter)")
        self.add_button.clicked.connect(self._on_add_button_clicked)

        form = QFormLayout()
        form.addRow("Lab company", self.company)
        form.addRow("Price", self.price)
        form.addRow("Sample types", self.sample_types)
        form.addRow("Turnaround", self.turnaround)
        self._details = QWidget()
        details_layout = QVBoxLayout(self._details)
        details_layout.setContentsMargins(0, 0, 0, 0)
        details_layout.addWidget(self.name)
        details_layout.addLayout(form)
        self.biomarkers_label = QLabel("Biomarkers")
        details_layout.addWidget(self.biomarkers_label)
        details_layout.addWidget(self.biomarkers, 1)
        details_layout.addWidget(self.add_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.empty)
        layout.addWidget(self._details, 1)
        self.show_test(None)

    def _value(self, name: str) -> QLabel:
        label = QLabel()
        label.setWordWrap(True)
        label.setAccessibleName(name)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        return label

    @property
    def test(self) -> LabTest | None:
        """The test shown (None: nothing selected)."""
        return self._test

    def show_test(self, test: LabTest | None) -> None:
        """Show `test`, or the "select a test" hint for None."""
        self._test = test
        self.empty.setVisible(test is None)
        self._details.setVisible(test is not None)
        if test is None:
            return
        self.name.setText(test.name + ("" if test.is_active else " (no longer offered)"))
        company = test.lab_company.name if test.lab_company else (test.lab_company_id or "—")
        self.company.setText(company)
        self.price.setText(format_price(test.price))
        self.sample_types.setText(", ".join(test.sample_types) or "—")
        self.turnaround.setText(format_turnaround(test.estimated_days_for_results))
        self.biomarkers.clear()
        self.biomarkers.addItems(list(test.biomarkers))
        count = len(test.biomarkers)
        self.biomarkers_label.setText(
            f"Biomarkers ({count})" if count else "Biomarkers: none listed"
        )
        self.add_button.setEnabled(test.is_active)

    def _on_add_button_clicked(self) -> None:
        if self._test is not None:
            self.add_requested.emit(self._test.id)
