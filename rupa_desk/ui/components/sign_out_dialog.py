"""Sign out: confirm, and optionally remove the patient data kept on this computer."""

from __future__ import annotations

from typing import Final

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from rupa_desk.ui.presenters.session import SessionPresenter

#: What "remove patient data" removes and keeps, exactly (`AccountWorkspace.close` does it).
REMOVED_WITH_PATIENT_DATA: Final = (
    "Removed: the cached patients; a new patient form not sent yet; the orders, with their "
    "tests, status history and downloaded result PDFs; the drafts already checked out; the "
    "Rupa sign-in saved by the checkout page."
)
KEPT_WITH_PATIENT_DATA: Final = (
    "Kept: the drafts not checked out yet (your unsent work), with their tests and notes. "
    "They keep only the patient's Rupa id, not the name, email or birthday; the name shows "
    "again after you sign in. The lab catalog is kept too."
)


class SignOutDialog(QDialog):
    """Asks before signing out; the checkbox also removes local patient data.

    Args:
        presenter: the session presenter that signs out.
        practitioner_name: who is signed in (shown in the question).
        shared_pc: the clinic marked this PC as shared (managed settings): removing patient
            data is ticked to begin with, and can still be unticked.
    """

    def __init__(
        self,
        presenter: SessionPresenter,
        practitioner_name: str,
        *,
        shared_pc: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self.setWindowTitle("Rupa Desk — Sign out")
        self.setAccessibleName("Sign out")
        self.setMinimumWidth(480)
        question = QLabel(
            f"Sign out {practitioner_name}? Rupa Desk will forget this session on this computer "
            "and ask Rupa to end it."
        )
        question.setWordWrap(True)
        self.remove_patient_data = QCheckBox("Also remove patient data from this computer")
        self.remove_patient_data.setAccessibleName("Remove patient data from this computer")
        if shared_pc:
            self.remove_patient_data.setChecked(True)
            self.remove_patient_data.setToolTip(
                "Ticked because your clinic set this computer up as shared by several people."
            )
        self.what_goes = QLabel(f"{REMOVED_WITH_PATIENT_DATA}\n{KEPT_WITH_PATIENT_DATA}")
        self.what_goes.setWordWrap(True)
        self.what_goes.setAccessibleName("What removing patient data removes and keeps")
        self.what_goes.setContentsMargins(22, 0, 0, 0)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.setAccessibleName("Cancel sign-out")
        self.sign_out_button = self.buttons.addButton(
            "Sign out", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.sign_out_button.setAccessibleName("Sign out")
        self.buttons.accepted.connect(self._on_buttons_accepted)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(question)
        layout.addWidget(self.remove_patient_data)
        layout.addWidget(self.what_goes)
        layout.addWidget(self.buttons)
        presenter.signed_out.connect(self._on_presenter_signed_out)

    @asyncSlot()
    async def _on_buttons_accepted(self) -> None:
        # One sign-out at a time: removing patient data can take a few seconds.
        self.buttons.setEnabled(False)
        self.remove_patient_data.setEnabled(False)
        self.sign_out_button.setText("Signing out…")
        try:
            await self._presenter.sign_out(remove_patient_data=self.remove_patient_data.isChecked())
        finally:
            if self.isVisible():  # not signed out: let the user try again or cancel
                self.buttons.setEnabled(True)
                self.remove_patient_data.setEnabled(True)
                self.sign_out_button.setText("Sign out")

    def _on_presenter_signed_out(self) -> None:
        self.accept()
