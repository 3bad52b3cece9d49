"""The new-patient form: required and optional fields, each with its own error line.

A quick-entry line on top takes "Maria Garcia maria@example.com" in one go and fills first
name, last name and email as it is typed (`rupa_desk.core.quick_entry`); the fields show the
split, so a wrong guess is corrected there. "Create patient" (Enter) creates her; "Create and
start order" (Ctrl+Enter) creates her and opens her new order, the front desk's usual next step.

The form says when the user changed something (`edited`), so that the presenter saves it as it
is typed; filling it from code (`fill`, `clear`) does not count as an edit. "Cancel" on a form
with something typed asks first (Discard / Keep editing), right in the form.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
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

from rupa_desk.core.quick_entry import parse_quick_entry
from rupa_desk.core.validation import PatientForm, field_label

_ERROR_STYLE = "color: #a11;"
_NOTICE_STYLE = "background: #eef5ff; border: 1px solid #9bc; padding: 4px;"
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
        edited(PatientForm): the user changed a field; what the form holds now.
        submitted(PatientForm): "Create patient" was pressed.
        order_requested(PatientForm): "Create and start order" was pressed: create her, then
            open her new order.
        cancelled(): the user closed the form and what was typed is to be forgotten ("Cancel"
            on an empty form, or "Discard").
    """

    edited = Signal(object)
    submitted = Signal(object)
    order_requested = Signal(object)
    cancelled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("New patient")
        self.fields: dict[str, QLineEdit | QComboBox] = {}
        self.errors: dict[str, QLabel] = {}
        self._filling = False
        self._ordering = True
        heading = QLabel("<h3>New patient</h3>")
        note = QLabel(
            "First name, last name and email are required. What you type is saved on this "
            "computer until the patient is created."
        )
        note.setWordWrap(True)
        self.notice = QLabel()
        self.notice.setStyleSheet(_NOTICE_STYLE)
        self.notice.setWordWrap(True)
        self.notice.setAccessibleName("Form notice")
        self.notice.hide()
        self.quick_entry = QLineEdit()
        self.quick_entry.setPlaceholderText("e.g. Maria Garcia maria@example.com")
        self.quick_entry.setAccessibleName("Name and email")
        self.quick_entry.setToolTip(
            "Type the name and email in one go; they fill the fields below. "
            "“Garcia, Maria” puts the last name first."
        )
        self.quick_entry.textEdited.connect(self._on_quick_entry_text_edited)
        self.quick_entry.returnPressed.connect(self._on_create_clicked)
        # Above the fields and as wide as the form: a name and an email take room.
        quick_label = QLabel("Name and email, in one line")
        quick_label.setBuddy(self.quick_entry)
        quick_row = QVBoxLayout()
        quick_row.setSpacing(2)
        quick_row.addWidget(quick_label)
        quick_row.addWidget(self.quick_entry)
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
        self.create_button.setProperty("primary", True)  # the main action here
        self.create_button.setAccessibleName("Create patient")
        self.create_button.setDefault(True)
        self.order_button = QPushButton("Create and order")
        self.order_button.setAccessibleName("Create the patient and start her order")
        self.order_button.setToolTip("Create the patient, then open her new order (Ctrl+Enter)")
        self.order_button.clicked.connect(self._on_order_clicked)
        order_shortcut = QShortcut(QKeySequence("Ctrl+Return"), self)
        order_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        order_shortcut.activated.connect(self._on_order_shortcut_activated)
        keypad_shortcut = QShortcut(QKeySequence("Ctrl+Enter"), self)
        keypad_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        keypad_shortcut.activated.connect(self._on_order_shortcut_activated)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName("Cancel new patient")
        self.create_button.clicked.connect(self._on_create_clicked)
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        # Two rows, so that the form still fits beside the patients list in a small window.
        order_row = QHBoxLayout()
        order_row.addStretch(1)
        order_row.addWidget(self.order_button)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.create_button)
        self.discard_bar = QWidget()
        question = QLabel("Discard this new patient? What you typed is deleted from this computer.")
        question.setWordWrap(True)
        self.discard_button = QPushButton("Discard")
        self.discard_button.setAccessibleName("Discard new patient")
        self.keep_button = QPushButton("Keep editing")
        self.keep_button.setAccessibleName("Keep editing")
        self.discard_button.clicked.connect(self._on_discard_clicked)
        self.keep_button.clicked.connect(self._on_keep_clicked)
        discard_row = QHBoxLayout(self.discard_bar)
        discard_row.setContentsMargins(0, 0, 0, 0)
        discard_row.addWidget(question, 1)
        discard_row.addWidget(self.keep_button)
        discard_row.addWidget(self.discard_button)
        self.discard_bar.hide()
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(note)
        layout.addWidget(self.notice)
        layout.addLayout(quick_row)
        layout.addLayout(form)
        layout.addWidget(self.general_error)
        layout.addWidget(self.discard_bar)
        layout.addLayout(buttons)
        layout.addLayout(order_row)
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
        """Put `form` into the fields, as typed (tests, and restoring a saved form).

        Not an edit: `edited` is not emitted.
        """
        self._filling = True
        try:
            for name, editor in self.fields.items():
                value = str(getattr(form, name))
                if isinstance(editor, QComboBox):
                    editor.setCurrentIndex(max(editor.findData(value.strip().casefold()), 0))
                else:
                    editor.setText(value)
        finally:
            self._filling = False

    def set_ordering(self, available: bool) -> None:
        """Offer "Create and start order" (False: orders cannot be started from here)."""
        self.order_button.setVisible(available)
        self._ordering = available

    def clear(self) -> None:
        """Empty every field, error and notice."""
        self.fill(PatientForm())
        self.quick_entry.clear()
        self.show_problems({}, ())
        self.show_notice("")
        self.discard_bar.hide()

    def show_notice(self, text: str) -> None:
        """Show a note above the fields (e.g. "restored"); "" hides it."""
        self.notice.setText(text)
        self.notice.setVisible(bool(text))

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
        """Freeze the form while the patient is being created (what is sent is what is saved)."""
        for editor in self.fields.values():
            editor.setEnabled(not busy)
        self.quick_entry.setEnabled(not busy)
        self.cancel_button.setEnabled(not busy)
        self.create_button.setEnabled(not busy)
        self.order_button.setEnabled(not busy)
        self.create_button.setText("Creating…" if busy else "Create patient")

    def _on_field_edited(self) -> None:
        if self._filling:
            return
        editor = self.sender()
        for name, widget in self.fields.items():
            if widget is editor:
                self.errors[name].hide()
        self.discard_bar.hide()
        self.edited.emit(self.form())

    def _on_quick_entry_text_edited(self, text: str) -> None:
        entry = parse_quick_entry(text)
        for name, value in (
            ("first_name", entry.first_name),
            ("last_name", entry.last_name),
            ("email", entry.email),
        ):
            editor = self.fields[name]
            assert isinstance(editor, QLineEdit)
            if editor.text() != value:
                editor.setText(value)
                self.errors[name].hide()
        self.discard_bar.hide()
        self.edited.emit(self.form())

    def _on_create_clicked(self) -> None:
        self.discard_bar.hide()
        self.submitted.emit(self.form())

    def _on_order_clicked(self) -> None:
        self.discard_bar.hide()
        self.order_requested.emit(self.form())

    def _on_order_shortcut_activated(self) -> None:
        if self._ordering and self.order_button.isEnabled():
            self._on_order_clicked()

    def _on_cancel_clicked(self) -> None:
        if self.form().is_empty():
            self.cancelled.emit()
            return
        self.discard_bar.show()
        self.keep_button.setFocus(Qt.FocusReason.OtherFocusReason)

    def _on_discard_clicked(self) -> None:
        self.discard_bar.hide()
        self.cancelled.emit()

    def _on_keep_clicked(self) -> None:
        self.discard_bar.hide()
