"""The first start's question: practise with demo data, or connect to the clinic's Rupa.

Nothing is chosen silently: a new installation could otherwise show made-up patients to a
receptionist who thinks they are real, or try to reach Rupa without the clinic's settings.
The question is asked once: either answer is saved in the settings file, so later starts go
straight to the chosen place. A clinic whose managed settings set the environment never sees
it (its IT already chose).

"Connect to Rupa" opens the usual Settings dialog with the administrator section open and
Rupa chosen, because connecting needs the client id (and perhaps secret) that the clinic's IT
gives out; cancelling it comes back to the question.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtWidgets import (
    QCommandLinkButton,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from rupa_desk.settings import UserSettings
from rupa_desk.ui.components.settings_dialog import SettingsDialog
from rupa_desk.ui.presenters.settings import SecretEdit, SettingsPresenter

#: What the Settings dialog says when it is opened from the first start's question.
CONNECT_NOTE = (
    "Enter the settings your clinic's IT gave you, then choose OK: Rupa Desk connects to "
    "your clinic's Rupa account at once. Cancel goes back to the first question."
)


class FirstRunDialog(QDialog):
    """Asks how to start the first time; `chosen` holds the saved settings once accepted.

    Args:
        presenter: saves the answer (the settings file, and a client secret if one is given).
        parent: the main window.
    """

    def __init__(self, presenter: SettingsPresenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._presenter = presenter
        #: The settings saved by the answer (None until one is given).
        self.chosen: UserSettings | None = None
        #: Said once the app runs: the answer was used but could not be saved.
        self.not_saved: str | None = None
        self.setWindowTitle("Welcome to Rupa Desk")
        self.setAccessibleName("How to start Rupa Desk")
        self.setMinimumWidth(520)

        intro = QLabel(
            "<b>Welcome to Rupa Desk.</b><br>How do you want to start? You can change this "
            "later in File › Settings."
        )
        intro.setWordWrap(True)
        self.practise_button = QCommandLinkButton(
            "&Practise with demo data",
            "Made-up patients and a practice Rupa on this computer. Nothing is ordered for "
            "real, and every screen says DEMO.",
        )
        self.practise_button.setAccessibleName("Practise with demo data")
        self.connect_button = QCommandLinkButton(
            "&Connect to your clinic's Rupa account",
            "Real patients and orders. Needs the settings your clinic's IT gives you "
            "(a client id).",
        )
        self.connect_button.setAccessibleName("Connect to your clinic's Rupa account")
        buttons = QDialogButtonBox()
        self.quit_button = buttons.addButton("&Quit", QDialogButtonBox.ButtonRole.RejectRole)
        self.quit_button.setAccessibleName("Quit without choosing")
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.practise_button)
        layout.addWidget(self.connect_button)
        layout.addWidget(buttons)
        self.practise_button.clicked.connect(self._on_practise_button_clicked)
        self.connect_button.clicked.connect(self._on_connect_button_clicked)
        self.practise_button.setFocus()

    @asyncSlot()
    async def _on_practise_button_clicked(self) -> None:
        demo = dataclasses.replace(self._presenter.current, environment="demo")
        try:
            self.chosen = await self._presenter.save_settings(demo, SecretEdit())
        except OSError as exc:
            # Demo mode still starts; only the answer is not remembered.
            self.not_saved = (
                f"Your choice of demo mode could not be saved ({exc.strerror or exc}), so "
                "Rupa Desk will ask again next time it starts."
            )
            self.chosen = demo
        self.accept()

    def _on_connect_button_clicked(self) -> None:
        self.settings_dialog = SettingsDialog(self._presenter, demo_running=False, parent=self)
        dialog = self.settings_dialog
        dialog.for_first_start(CONNECT_NOTE)
        dialog.finished.connect(self._on_settings_dialog_finished)
        dialog.open()

    def _on_settings_dialog_finished(self, result: int) -> None:
        self.settings_dialog.deleteLater()
        if result == QDialog.DialogCode.Accepted.value:  # accepted only once saved
            self.chosen = self._presenter.current
            self.accept()
