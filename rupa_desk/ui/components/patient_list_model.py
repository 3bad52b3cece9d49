"""The patients list as a Qt table model (name, email, birthday, and a "New order" button)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from rupa_desk.core.models import Patient

#: The role that gives a row's `Patient`.
PATIENT_ROLE: Final = int(Qt.ItemDataRole.UserRole) + 1
COLUMNS: Final[tuple[str, ...]] = ("Name", "Email", "Birthday", "")
#: The column drawn as a "New order" button on every row.
NEW_ORDER_COLUMN: Final = 3
NEW_ORDER = "New order"

Index = QModelIndex | QPersistentModelIndex


class PatientListModel(QAbstractTableModel):
    """The patients matching the search, sorted by last then first name."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._patients: list[Patient] = []

    def set_patients(self, patients: Sequence[Patient]) -> None:
        """Show these patients."""
        self.beginResetModel()
        self._patients = list(patients)
        self.endResetModel()

    def patient(self, row: int) -> Patient:
        """The patient in `row`."""
        return self._patients[row]

    def row_of(self, patient_id: str) -> int:
        """The row of the patient `patient_id`, or -1 when it is not listed."""
        for row, patient in enumerate(self._patients):
            if patient.id == patient_id:
                return row
        return -1

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt's default)
        return 0 if parent.isValid() else len(self._patients)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._patients):
            return None
        patient = self._patients[index.row()]
        if role == PATIENT_ROLE:
            return patient
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if index.column() == 0:
            return f"{patient.last_name}, {patient.first_name}"
        if index.column() == 1:
            return patient.email
        if index.column() == NEW_ORDER_COLUMN:
            return NEW_ORDER
        return patient.birthday.isoformat() if patient.birthday else ""
