"""The Settings dialog: what the front desk may change, and the clinic IT's connection settings.

The front desk sees what is theirs to change (how often orders are checked, light or dark, the
clinic's preferred labs, listed first when a test comes from several labs) and which Rupa they are
connected to. The connection itself (environment, client id, client secret, sandbox
sign-in page, redirect ports) is in an "Administrator settings" section that starts closed and
says it is for the clinic's IT; it opens by itself when one of its values is the problem.
Values the clinic's managed file locks are shown disabled, "set by your clinic".
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from rupa_desk.settings import (
    APPEARANCE_LABELS,
    APPEARANCES,
    ENVIRONMENT_LABELS,
    ENVIRONMENT_NAMES,
    IDLE_LOCK_MINUTES_RANGE,
    SETTING_LABELS,
    Appearance,
    EnvironmentName,
    UserSettings,
)
from rupa_desk.ui.presenters.settings import (
    SecretChange,
    SecretEdit,
    SettingsForm,
    SettingsPresenter,
)
from rupa_desk.ui.widgets.collapsible_section import CollapsibleSection
from rupa_desk.ui.widgets.elided_text import WrappedLabel

#: Wide enough that each field's hint ("the OAuth client id Rupa issued") shows whole.
FIELD_MIN_WIDTH = 340
#: Wide enough for the fields and their labels whether the administrator section is open.
DIALOG_MIN_WIDTH = 520
#: The preferred labs list shows about five labs at a time (it scrolls for more).
PREFERRED_LABS_HEIGHT = 120
#: Said on every field the clinic's managed file locks (its tooltip) and in the dialog's note.
SET_BY_CLINIC = "Set by your clinic: it cannot be changed here."


def _about_polling(problem: str) -> bool:
    return "polling" in problem.lower()


class SettingsDialog(QDialog):
    """Edits the user settings; OK validates, saves, and closes only when all is well.

    Problems are shown inside the dialog, above the buttons, and nothing is saved.

    Args:
        presenter: saves the settings.
        demo_running: the app runs the built-in simulator (`--demo`).
        lab_names: the catalog's lab companies, to choose the preferred ones from (none
            before a catalog is downloaded: the preferred ones already set are listed).
        parent: the window it belongs to.
    """

    def __init__(
        self,
        presenter: SettingsPresenter,
        *,
        demo_running: bool,
        lab_names: Sequence[str] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self.setWindowTitle("Rupa Desk — Settings")
        self.setAccessibleName("Settings")
        self.setMinimumWidth(DIALOG_MIN_WIDTH)
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
        self.epic_fhir_base = QLineEdit(current.epic_fhir_base)
        self.epic_fhir_base.setAccessibleName("Epic FHIR address")
        self.epic_fhir_base.setPlaceholderText("optional; e.g. https://…/api/FHIR/R4")
        self.epic_client_id = QLineEdit(current.epic_client_id)
        self.epic_client_id.setAccessibleName("Epic client id")
        self.epic_client_id.setPlaceholderText("the client id Epic issued")
        self.epic_scopes = QLineEdit(current.epic_scopes)
        self.epic_scopes.setAccessibleName("Epic scopes")
        self.epic_auto_file = QCheckBox("File results to Epic automatically")
        self.epic_auto_file.setAccessibleName("File results to Epic automatically")
        self.epic_auto_file.setToolTip(
            "Each result that arrives for a patient linked to Epic is filed to her Epic chart "
            "without pressing File to Epic (never twice)."
        )
        self.epic_auto_file.setChecked(current.epic_auto_file)
        self.poll_interval = QSpinBox()
        self.poll_interval.setAccessibleName("Order polling interval")
        self.poll_interval.setRange(10, 3600)
        self.poll_interval.setSuffix(" seconds")
        self.poll_interval.setValue(current.poll_interval_s)
        self.idle_lock = QSpinBox()
        self.idle_lock.setAccessibleName("Lock after idle minutes")
        self.idle_lock.setRange(*IDLE_LOCK_MINUTES_RANGE)
        self.idle_lock.setSuffix(" minutes")
        self.idle_lock.setValue(current.idle_lock_minutes)
        self.appearance = QComboBox()
        self.appearance.setAccessibleName("Appearance")
        for appearance in APPEARANCES:
            self.appearance.addItem(APPEARANCE_LABELS[appearance], appearance)
        self.appearance.setCurrentIndex(APPEARANCES.index(current.appearance))
        self.appearance.setToolTip("Light or dark, or as your computer is set")
        self.preferred_labs = QListWidget()
        self.preferred_labs.setAccessibleName("Preferred labs")
        self.preferred_labs.setToolTip(
            "Tick the labs your clinic orders from: when a test comes from several labs, "
            "these are listed first."
        )
        self.preferred_labs.setMaximumHeight(PREFERRED_LABS_HEIGHT)
        chosen = {lab.casefold() for lab in current.preferred_labs}
        others = sorted(
            {lab for lab in lab_names if lab.casefold() not in chosen}, key=str.casefold
        )
        for lab in (*current.preferred_labs, *others):
            item = QListWidgetItem(lab, self.preferred_labs)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            checked = lab.casefold() in chosen
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
        if not self.preferred_labs.count():
            QListWidgetItem("Download the catalog to choose labs", self.preferred_labs).setFlags(
                Qt.ItemFlag.NoItemFlags
            )

        secret_note = WrappedLabel(  # never squeezed to a line and a half in the form
            f"The client secret is kept in the {presenter.secret_storage}"
            if presenter.secret_storage == "OS keychain"
            else "No OS keychain is available: a client secret is kept for this session only."
        )
        self._note = QLabel(
            "Rupa Desk is running in demo mode: the demo environment stays in use until you "
            "start it without --demo."
            if demo_running
            else "The settings above apply at once. Changed administrator settings are used "
            "the next time Rupa Desk starts."
        )
        self._note.setWordWrap(True)
        self.error = QLabel()
        self.error.setAccessibleName("Settings problem")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #a11;")
        self.error.hide()

        for field in (
            self.client_id,
            self.client_secret,
            self.sandbox_authorize_url,
            self.epic_fhir_base,
            self.epic_client_id,
            self.epic_scopes,
        ):
            field.setMinimumWidth(FIELD_MIN_WIDTH)  # placeholders are read whole
        self.redirect_ports.setMinimumWidth(FIELD_MIN_WIDTH)

        managed = presenter.managed
        connected = QLabel(
            ENVIRONMENT_LABELS[current.environment]
            + (" (set by your clinic)" if managed.is_locked("environment") else "")
        )
        connected.setAccessibleName("Connected to")
        #: The fields of the settings the clinic's managed file may lock.
        self.lockable: dict[str, QWidget] = {
            "environment": self.environment,
            "client_id": self.client_id,
            "redirect_ports": self.redirect_ports,
            "idle_lock_minutes": self.idle_lock,
            "preferred_labs": self.preferred_labs,
            "epic_fhir_base": self.epic_fhir_base,
            "epic_client_id": self.epic_client_id,
            "epic_scopes": self.epic_scopes,
            "epic_auto_file": self.epic_auto_file,
            "appearance": self.appearance,
        }
        locked = [SETTING_LABELS[name] for name in self.lockable if managed.is_locked(name)]
        self.clinic_note = QLabel(f"Set by your clinic, not changeable here: {', '.join(locked)}.")
        self.clinic_note.setAccessibleName("Set by your clinic")
        self.clinic_note.setWordWrap(True)
        self.clinic_note.setVisible(bool(locked))
        desk_form = QFormLayout()
        desk_form.addRow("Connected to", connected)  # row 0 (see for_first_start)
        desk_form.addRow("Check orders &every", self.poll_interval)
        desk_form.addRow("&Lock after idle", self.idle_lock)
        desk_form.addRow("&Appearance", self.appearance)
        self._desk_form = desk_form
        desk_form.addRow("Preferred &labs", self.preferred_labs)

        admin_body = QWidget()
        admin_form = QFormLayout(admin_body)
        admin_form.setContentsMargins(0, 0, 0, 0)
        admin_form.addRow("&Environment", self.environment)
        admin_form.addRow("Client &id", self.client_id)
        admin_form.addRow("Client &secret", self.client_secret)
        admin_form.addRow("", self.remove_secret)
        admin_form.addRow("", secret_note)
        admin_form.addRow("Sandbox sign-in &page", self.sandbox_authorize_url)
        admin_form.addRow("&Redirect ports", self.redirect_ports)
        admin_form.addRow("Epic &FHIR address", self.epic_fhir_base)
        admin_form.addRow("Epic client i&d", self.epic_client_id)
        admin_form.addRow("Epic s&copes", self.epic_scopes)
        admin_form.addRow("", self.epic_auto_file)
        self.administrator = CollapsibleSection(
            "Administrator settings",
            "For your clinic's IT: how Rupa Desk connects to Rupa. Front-desk staff do not "
            "need to change these.",
            admin_body,
        )

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
        layout.addLayout(desk_form)
        layout.addWidget(self.clinic_note)
        layout.addWidget(self.administrator)
        layout.addWidget(self._note)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.environment.currentIndexChanged.connect(self._on_environment_current_index_changed)
        self._on_environment_current_index_changed()
        presenter.saved.connect(self._on_presenter_saved)
        presenter.save_failed.connect(self._on_presenter_save_failed)

    def for_first_start(self, note: str) -> None:
        """Shown from the first start's question: Rupa chosen, the administrator section open,
        no "Connected to" (nothing is connected yet), and `note` saying what OK does."""
        self.environment.setCurrentIndex(self.environment.findData("production"))
        self.administrator.set_expanded(True)
        self._desk_form.setRowVisible(0, False)
        self._note.setText(note)
        self.client_id.setFocus()

    def _on_environment_current_index_changed(self) -> None:
        name = self._environment_name()
        self.sandbox_authorize_url.setEnabled(name == "sandbox")
        for widget in (self.client_id, self.client_secret, self.remove_secret):
            widget.setEnabled(name != "demo")
        for setting, field in self.lockable.items():
            if self._presenter.managed.is_locked(setting):
                field.setEnabled(False)
                field.setToolTip(SET_BY_CLINIC)

    def _appearance(self) -> Appearance:
        appearance: Appearance = self.appearance.currentData()
        return appearance

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
            idle_lock_minutes=self.idle_lock.value(),
            preferred_labs=self.chosen_labs(),
            appearance=self._appearance(),
            epic=(
                self.epic_fhir_base.text(),
                self.epic_client_id.text(),
                self.epic_scopes.text(),
            ),
            epic_auto_file=self.epic_auto_file.isChecked(),
        )

    def chosen_labs(self) -> tuple[str, ...]:
        """The ticked labs, in the list's order (the ones already preferred first)."""
        items = (self.preferred_labs.item(row) for row in range(self.preferred_labs.count()))
        return tuple(
            item.text()
            for item in items
            if item.flags() & Qt.ItemFlag.ItemIsUserCheckable
            and item.checkState() == Qt.CheckState.Checked
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
        if not _about_polling(problem):
            self.administrator.set_expanded(True)  # the problem is one of its values
