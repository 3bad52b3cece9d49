"""Before creating a patient: "this may be someone you already have", with "Use this patient"."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from rupa_desk.core.models import Patient
from rupa_desk.services.store import DuplicateReason, PossibleDuplicate

#: The widest the list of possible duplicates grows to fit its lines (pixels).
MAX_LIST_WIDTH = 900

_REASONS = {
    DuplicateReason.EMAIL: "same email",
    DuplicateReason.NAME_AND_BIRTHDAY: "same name and birthday",
    DuplicateReason.NAME: "same name (birthday unknown)",
}


def describe(duplicate: PossibleDuplicate) -> str:
    """One line: name, email, birthday and why it matched."""
    patient = duplicate.patient
    born = f", born {patient.birthday.isoformat()}" if patient.birthday else ""
    reasons = ", ".join(_REASONS[r] for r in sorted(duplicate.reasons))
    return f"{patient.full_name} <{patient.email}>{born} — {reasons}"


class DuplicatePatientDialog(QDialog):
    """Shows the possible duplicates; "Use this patient" (the default) picks the selected one.

    Signals:
        use_patient(Patient): use this existing patient instead of creating one.
        create_anyway(): the user says it is a different person: create the new patient.
    """

    use_patient = Signal(object)
    create_anyway = Signal()

    def __init__(
        self, duplicates: Sequence[PossibleDuplicate], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Rupa Desk — possible duplicate")
        self.setAccessibleName("Possible duplicate patient")
        self._duplicates = list(duplicates)
        intro = QLabel(
            "This may be a patient you already have. Use the existing patient unless you are "
            "sure this is someone else."
        )
        intro.setWordWrap(True)
        self.matches = QListWidget()
        self.matches.setAccessibleName("Possible duplicates")
        for duplicate in self._duplicates:
            self.matches.addItem(QListWidgetItem(describe(duplicate)))
        self.matches.setCurrentRow(0)
        # Wide enough for every line, reason included (up to a sensible limit).
        widest = max(
            (self.matches.fontMetrics().horizontalAdvance(describe(d)) for d in duplicates),
            default=0,
        )
        self.matches.setMinimumWidth(min(widest + 40, MAX_LIST_WIDTH))
        self.buttons = QDialogButtonBox()
        self.use_button = self.buttons.addButton(
            "Use this patient", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.use_button.setAccessibleName("Use this patient")
        self.create_button = self.buttons.addButton(
            "Create a new patient anyway", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.create_button.setAccessibleName("Create a new patient anyway")
        cancel = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAccessibleName("Cancel")
        self.use_button.setDefault(True)
        self.use_button.setAutoDefault(True)
        self.create_button.setAutoDefault(False)
        self.buttons.accepted.connect(self._on_buttons_accepted)
        self.buttons.rejected.connect(self.reject)
        self.create_button.clicked.connect(self._on_create_button_clicked)
        self.matches.itemDoubleClicked.connect(self._on_buttons_accepted)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.matches)
        layout.addWidget(self.buttons)

    def selected_patient(self) -> Patient:
        """The patient selected in the list (the first one unless the user chose another)."""
        return self._duplicates[max(self.matches.currentRow(), 0)].patient

    def _on_buttons_accepted(self) -> None:
        self.use_patient.emit(self.selected_patient())
        self.accept()

    def _on_create_button_clicked(self) -> None:
        self.create_anyway.emit()
        self.accept()
