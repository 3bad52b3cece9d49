"""Sign out: confirm, and optionally remove the patient data kept on this computer."""

from __future__ import annotations

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


class SignOutDialog(QDialog):
    """Asks before signing out; the checkbox also removes local patient data.

    Args:
        presenter: the session presenter that signs out.
        practitioner_name: who is signed in (shown in the question).
    """

    def __init__(
        self,
        presenter: SessionPresenter,
        practitioner_name: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self.setWindowTitle("Rupa Desk — Sign out")
        self.setAccessibleName("Sign out")
        question = QLabel(
            f"Sign out {practitioner_name}? Rupa Desk will forget this session on this computer "
            "and ask Rupa to end it."
        )
        question.setWordWrap(True)
        self.remove_patient_data = QCheckBox(
            "Also remove patient data from this computer (the cached patients and orders). "
            "Drafts that were not sent to Rupa yet are kept."
        )
        self.remove_patient_data.setAccessibleName("Remove patient data from this computer")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.sign_out_button = self.buttons.addButton(
            "Sign out", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.sign_out_button.setAccessibleName("Sign out")
        self.buttons.accepted.connect(self._on_buttons_accepted)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(question)
        layout.addWidget(self.remove_patient_data)
        layout.addWidget(self.buttons)
        presenter.signed_out.connect(self._on_presenter_signed_out)

    @asyncSlot()
    async def _on_buttons_accepted(self) -> None:
        await self._presenter.sign_out(remove_patient_data=self.remove_patient_data.isChecked())

    def _on_presenter_signed_out(self) -> None:
        self.accept()
