"""The new-patient form: required and optional fields, each with its own error line."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from rupa_desk.core.validation import PatientForm, field_label

_ERROR_STYLE = "color: #a11;"
_REQUIRED = ("first_name", "last_name", "email")
_PLACEHOLDERS = {
    "email": "name@example.com",
    "birthday": "YYYY-MM-DD",
    "phone": "(555) 010-0123",
    "state": "CA",
    "zip": "94110",
}


class NewPatientForm(QWidget):
    """Collects a new patient; shows a message under each field Rupa Desk or Rupa rejected.

    Signals:
        submitted(PatientForm): "Create patient" was pressed.
        cancelled(): "Cancel" was pressed.
    """

    submitted = Signal(object)
    cancelled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("New patient")
        self.fields: dict[str, QLineEdit | QComboBox] = {}
        self.errors: dict[str, QLabel] = {}
        heading = QLabel("<h3>New patient</h3>")
        note = QLabel("First name, last name and email are required.")
        note.setWordWrap(True)
        form = QFormLayout()
        for name in (
            "first_name",
            "last_name",
            "email",
            "birthday",
            "phone",
            "gender",
            "street_1",
            "street_2",
            "city",
            "state",
            "zip",
        ):
            label = field_label(name) + (" *" if name in _REQUIRED else "")
            editor: QLineEdit | QComboBox
            if name == "gender":
                editor = QComboBox()
                for text, value in (("—", ""), ("Female", "female"), ("Male", "male")):
                    editor.addItem(text, value)
                editor.addItem("Other", "other")
                editor.currentIndexChanged.connect(self._on_field_edited)
            else:
                editor = QLineEdit()
                editor.setPlaceholderText(_PLACEHOLDERS.get(name, ""))
                editor.textEdited.connect(self._on_field_edited)
                editor.returnPressed.connect(self._on_create_clicked)
            editor.setAccessibleName(field_label(name))
            editor.setObjectName(name)
            error = QLabel()
            error.setStyleSheet(_ERROR_STYLE)
            error.setWordWrap(True)
            error.setAccessibleName(f"{field_label(name)} problem")
            error.hide()
            column = QVBoxLayout()
            column.setSpacing(1)
            column.addWidget(editor)
            column.addWidget(error)
            form.addRow(label, column)
            self.fields[name] = editor
            self.errors[name] = error
        self.general_error = QLabel()
        self.general_error.setStyleSheet(_ERROR_STYLE)
        self.general_error.setWordWrap(True)
        self.general_error.setAccessibleName("Form problem")
        self.general_error.hide()
        self.create_button = QPushButton("Create patient")
        self.create_button.setAccessibleName("Create patient")
        self.create_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName("Cancel new patient")
        self.create_button.clicked.connect(self._on_create_clicked)
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.create_button)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(note)
        layout.addLayout(form)
        layout.addWidget(self.general_error)
        layout.addLayout(buttons)
        layout.addStretch(1)

    def form(self) -> PatientForm:
        """What is typed."""
        values = {}
        for name, editor in self.fields.items():
            values[name] = (
                str(editor.currentData() or "") if isinstance(editor, QComboBox) else editor.text()
            )
        return PatientForm(**values)

    def fill(self, form: PatientForm) -> None:
        """Type `form` into the fields (tests, and re-opening a kept form)."""
        for name, value in form.as_dict().items():
            editor = self.fields[name]
            if isinstance(editor, QComboBox):
                editor.setCurrentIndex(max(editor.findData(value.casefold()), 0))
            else:
                editor.setText(value)

    def clear(self) -> None:
        """Empty every field and error."""
        self.fill(PatientForm())
        self.show_problems({}, ())

    def show_problems(self, fields: dict[str, str], general: tuple[str, ...]) -> None:
        """Show each field's message under it, and the others above the buttons."""
        for name, label in self.errors.items():
            message = fields.get(name, "")
            label.setText(message)
            label.setVisible(bool(message))
        self.general_error.setText("\n".join(general))
        self.general_error.setVisible(bool(general))
        for name in self.fields:
            if name in fields:
                self.fields[name].setFocus(Qt.FocusReason.OtherFocusReason)
                break

    def field_error(self, name: str) -> str:
        """The message shown under field `name` ("" when none)."""
        label = self.errors[name]
        return label.text() if not label.isHidden() else ""

    def set_busy(self, busy: bool) -> None:
        """Disable the buttons while the patient is being created."""
        self.create_button.setEnabled(not busy)
        self.create_button.setText("Creating…" if busy else "Create patient")

    def _on_field_edited(self) -> None:
        editor = self.sender()
        for name, widget in self.fields.items():
            if widget is editor:
                self.errors[name].hide()

    def _on_create_clicked(self) -> None:
        self.submitted.emit(self.form())

    def _on_cancel_clicked(self) -> None:
        self.cancelled.emit()
