"""The Settings dialog: environment, client id, client secret, redirect ports, polling interval."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from rupa_desk.settings import ENVIRONMENT_LABELS, ENVIRONMENT_NAMES, EnvironmentName, UserSettings
from rupa_desk.ui.presenters.settings import (
    SecretChange,
    SecretEdit,
    SettingsForm,
    SettingsPresenter,
)


class SettingsDialog(QDialog):
    """Edits the user settings; OK validates, saves, and closes only when all is well.

    Problems are shown inside the dialog, above the buttons, and nothing is saved.
    """

    def __init__(
        self, presenter: SettingsPresenter, *, demo_running: bool, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self.setWindowTitle("Rupa Desk — Settings")
        self.setAccessibleName("Settings")
        current = presenter.current

        self.environment = QComboBox()
        self.environment.setAccessibleName("Environment")
        for name in ENVIRONMENT_NAMES:
            self.environment.addItem(ENVIRONMENT_LABELS[name], name)
        self.environment.setCurrentIndex(ENVIRONMENT_NAMES.index(current.environment))
        self.client_id = QLineEdit(current.client_id)
        self.client_id.setAccessibleName("Client id")
        self.client_id.setPlaceholderText("the OAuth client id Rupa issued")
        self.client_secret = QLineEdit()
        self.client_secret.setAccessibleName("Client secret")
        self.client_secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.client_secret.setPlaceholderText("optional; leave empty to keep the saved one")
        self.remove_secret = QCheckBox("Remove the saved client secret")
        self.remove_secret.setAccessibleName("Remove the saved client secret")
        self.sandbox_authorize_url = QLineEdit(current.sandbox_authorize_url)
        self.sandbox_authorize_url.setAccessibleName("Rupa sandbox sign-in page")
        self.redirect_ports = QLineEdit(", ".join(str(p) for p in current.redirect_ports))
        self.redirect_ports.setAccessibleName("Redirect ports")
        self.redirect_ports.setPlaceholderText("e.g. 8765, 8766 — empty: any free port")
        self.poll_interval = QSpinBox()
        self.poll_interval.setAccessibleName("Order polling interval")
        self.poll_interval.setRange(10, 3600)
        self.poll_interval.setSuffix(" s")
        self.poll_interval.setValue(current.poll_interval_s)

        secret_note = QLabel(
            f"The client secret is kept in the {presenter.secret_storage}"
            if presenter.secret_storage == "OS keychain"
            else "No OS keychain is available: a client secret is kept for this session only."
        )
        secret_note.setWordWrap(True)
        self._note = QLabel(
            "Rupa Desk is running in demo mode: the demo environment stays in use until you "
            "start it without --demo."
            if demo_running
            else "The order polling interval applies at once. A new environment, client id, "
            "client secret, sign-in page or redirect ports are used the next time Rupa Desk "
            "starts."
        )
        self._note.setWordWrap(True)
        self.error = QLabel()
        self.error.setAccessibleName("Settings problem")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #a11;")
        self.error.hide()

        form = QFormLayout()
        form.addRow("&Environment", self.environment)
        form.addRow("Client &id", self.client_id)
        form.addRow("Client &secret", self.client_secret)
        form.addRow("", self.remove_secret)
        form.addRow("", secret_note)
        form.addRow("Sandbox sign-in &page", self.sandbox_authorize_url)
        form.addRow("&Redirect ports", self.redirect_ports)
        form.addRow("Order &polling", self.poll_interval)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setAccessibleName(
            "Save the settings"
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName(
            "Cancel without saving"
        )
        self.buttons.accepted.connect(self._on_buttons_accepted)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self._note)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.environment.currentIndexChanged.connect(self._on_environment_current_index_changed)
        self._on_environment_current_index_changed()
        presenter.saved.connect(self._on_presenter_saved)
        presenter.save_failed.connect(self._on_presenter_save_failed)

    def _on_environment_current_index_changed(self) -> None:
        name = self._environment_name()
        self.sandbox_authorize_url.setEnabled(name == "sandbox")
        for widget in (self.client_id, self.client_secret, self.remove_secret):
            widget.setEnabled(name != "demo")

    def _environment_name(self) -> EnvironmentName:
        name: EnvironmentName = self.environment.currentData()
        return name

    def form(self) -> SettingsForm:
        """The fields as typed."""
        return SettingsForm(
            environment=self._environment_name(),
            client_id=self.client_id.text(),
            sandbox_authorize_url=self.sandbox_authorize_url.text(),
            redirect_ports=self.redirect_ports.text(),
            poll_interval_s=self.poll_interval.value(),
            secret=self.secret_edit(),
        )

    def secret_edit(self) -> SecretEdit:
        """What to do with the stored client secret."""
        if self.remove_secret.isChecked():
            return SecretEdit(SecretChange.REMOVE)
        if self.client_secret.text().strip():
            return SecretEdit(SecretChange.REPLACE, self.client_secret.text())
        return SecretEdit(SecretChange.KEEP)

    @asyncSlot()
    async def _on_buttons_accepted(self) -> None:
        await self._presenter.save(self.form())

    def _on_presenter_saved(self, settings: UserSettings, secret_changed: bool) -> None:
        self.error.hide()
        self.accept()

    def _on_presenter_save_failed(self, problem: str) -> None:
        self.error.setText(problem)
        self.error.show()
