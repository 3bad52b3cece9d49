"""Find in Epic: search Epic's chart for a patient and use her for Rupa.

A view of `EpicPresenter`: last name, first name and birth date (or an MRN, or a phone), the
patients Epic found (name, birth date, sex, MRN, address, phone, email, and whether she is in
Rupa Desk already), and "Use for Rupa", which hands the chosen patient to the patients pane
(it fills the new-patient form).

A patient linked to a Rupa patient before is not created again: her row says "Already in
Rupa Desk as …" and "New order" (the row's button, the button below, Ctrl+Enter) starts her
order in one step. "New order" on a patient not in Rupa Desk yet goes through "Use for Rupa"
first, her draft opening once she is created.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from rupa_desk.core.fhir import EhrPatient
from rupa_desk.core.validation import parse_birthday
from rupa_desk.ui.components.epic_patients_dialog import NEW_ORDER, EpicPatientsDialog
from rupa_desk.ui.presenters.epic import HOW_EPIC_FINDS, EpicPresenter, EpicSearch

COLUMNS = ("Name", "Birth date", "Sex", "MRN", "Address", "Phone", "Email", "In Rupa Desk", "")
#: The column saying whether she is in Rupa Desk already, and the "New order" button's.
IN_RUPA_COLUMN = 7
NEW_ORDER_COLUMN = 8


def address_text(patient: EhrPatient) -> str:
    address = patient.address
    place = f"{address.state} {address.postal_code}".strip()
    return ", ".join(part for part in (*address.lines, address.city, place) if part)


class FindInEpicDialog(EpicPatientsDialog):
    """Search Epic for a patient; "Use for Rupa" or "New order" hands her on (the signals of
    `EpicPatientsDialog`)."""

    def __init__(self, presenter: EpicPresenter, parent: QWidget | None = None) -> None:
        super().__init__(
            presenter,
            parent,
            title="Find in Epic",
            table_name="Patients found in Epic",
            columns=COLUMNS,
            stretch=COLUMNS.index("Address"),
            new_order_column=NEW_ORDER_COLUMN,
            use_tooltip="Fill in the new-patient form with this patient",
        )
        self._found: list[EhrPatient] = []
        self.family = QLineEdit()
        self.given = QLineEdit()
        self.birth_date = QLineEdit()
        self.birth_date.setPlaceholderText("YYYY-MM-DD")
        self.mrn = QLineEdit()
        self.phone = QLineEdit()
        form = QFormLayout()
        for label, field, name in (
            ("&Last name", self.family, "Last name"),
            ("&First name", self.given, "First name"),
            ("&Birth date", self.birth_date, "Birth date"),
            ("&MRN", self.mrn, "MRN"),
            ("&Phone", self.phone, "Phone"),
        ):
            field.setAccessibleName(name)
            field.returnPressed.connect(self._on_search_button_clicked)
            form.addRow(label, field)
        hint = QLabel(HOW_EPIC_FINDS)
        hint.setWordWrap(True)
        self.search_button = QPushButton("Search Epic")
        self.search_button.setAccessibleName("Search Epic")
        self.search_button.setDefault(True)
        self.summary = QLabel()
        self.summary.setAccessibleName("Epic search summary")
        self.summary.setWordWrap(True)
        self.new_order_action.setEnabled(False)
        buttons = self.button_row(self.search_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(hint)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.resize(820, 480)

        self.search_button.clicked.connect(self._on_search_button_clicked)
        self.use_button.clicked.connect(self._on_use_button_clicked)
        self.table.itemSelectionChanged.connect(self._on_table_item_selection_changed)
        self.new_order_button.clicked.connect(self._on_new_order_button_clicked)
        self.new_order_action.triggered.connect(self._on_new_order_button_clicked)
        self.row_button.clicked.connect(self._on_row_button_clicked)
        self.table.doubleClicked.connect(self._on_table_double_clicked)
        presenter.results_changed.connect(self._on_presenter_results_changed)
        presenter.summary_changed.connect(self.summary.setText)
        presenter.searching_changed.connect(self._on_presenter_searching_changed)

    def criteria(self) -> EpicSearch | None:
        """What is typed; None (and a note) when the birth date is not a date."""
        birth = self.birth_date.text().strip()
        try:
            born = parse_birthday(birth) if birth else None
        except ValueError:
            self.summary.setText("The birth date is not a date: type it as YYYY-MM-DD.")
            return None
        return EpicSearch(
            self.family.text(), self.given.text(), born, self.mrn.text(), self.phone.text()
        )

    @asyncSlot()
    async def _on_search_button_clicked(self) -> None:
        criteria = self.criteria()
        if criteria is not None:
            await self._presenter.search(criteria)

    def _on_presenter_searching_changed(self, searching: bool) -> None:
        self.search_button.setEnabled(not searching)
        if searching:
            self.summary.setText("Searching Epic…")

    def _on_presenter_results_changed(self, patients: list[EhrPatient]) -> None:
        self._found = list(patients)
        self.table.setRowCount(len(patients))
        for row, patient in enumerate(patients):
            values = (
                patient.display_name,
                patient.birth_date.isoformat() if patient.birth_date else "",
                patient.sex.capitalize(),
                patient.mrn,
                address_text(patient),
                patient.phone,
                patient.email,
                self._presenter.in_rupa_text(patient.id),
                NEW_ORDER,
            )
            for column, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        if patients:
            self.table.selectRow(0)
        self._on_table_item_selection_changed()

    def _on_table_item_selection_changed(self) -> None:
        patient = self._chosen()
        linked = patient is not None and self._presenter.rupa_patient_for(patient.id) is not None
        # She is in Rupa Desk already: order for her, do not create her again.
        self.use_button.setEnabled(patient is not None and not linked)
        self.use_button.setToolTip(
            "She is in Rupa Desk already: use New order"
            if linked
            else "Fill in the new-patient form with this patient"
        )
        self.new_order_button.setEnabled(patient is not None)
        self.new_order_action.setEnabled(patient is not None)

    def _chosen(self) -> EhrPatient | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self._found):
            return None
        return self._found[rows[0].row()]

    def _on_use_button_clicked(self) -> None:
        patient = self._chosen()
        if patient is not None and self._presenter.rupa_patient_for(patient.id) is None:
            self.use_for_rupa.emit(patient)
            self.accept()

    def _on_new_order_button_clicked(self) -> None:
        self.order_for(self._chosen())

    def _on_row_button_clicked(self, index: QModelIndex) -> None:
        if 0 <= index.row() < len(self._found):
            self.order_for(self._found[index.row()])

    def _on_table_double_clicked(self, index: QModelIndex) -> None:
        """A double-click: her order when she is in Rupa Desk, else "Use for Rupa"."""
        if not 0 <= index.row() < len(self._found) or index.column() == NEW_ORDER_COLUMN:
            return
        patient = self._found[index.row()]
        if self._presenter.rupa_patient_for(patient.id) is not None:
            self.order_for(patient)
        else:
            self.use_for_rupa.emit(patient)
            self.accept()

    def order_for(self, patient: EhrPatient | None) -> None:
        """ "New order" for an Epic patient (she is added to Rupa Desk first when she is not
        linked yet)."""
        if patient is not None:
            self.hand_on(patient.id, patient)
