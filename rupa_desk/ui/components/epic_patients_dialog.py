"""What Find in Epic and Today in Epic share: a table of Epic patients, the same buttons, and
the same hand-over of the patient chosen.

Each row has a "New order" button, and so has the button row below the table (also
Ctrl+Enter); "Use for Rupa" fills the new-patient form; Close closes. A patient already linked
to a Rupa patient is handed on by her Rupa id (her order starts at once), one not yet linked
by her Epic record (she becomes a Rupa patient first).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QHBoxLayout, QPushButton, QTableWidget, QWidget

from rupa_desk.core.fhir import EhrPatient
from rupa_desk.ui.presenters.epic import EpicPresenter
from rupa_desk.ui.widgets.button_delegate import ButtonDelegate
from rupa_desk.ui.widgets.keyed_table import read_only_table

NEW_ORDER: Final = "New order"


class EpicPatientsDialog(QDialog):
    """A dialog listing Epic patients (see the module's docstring).

    Signals:
        use_for_rupa(EhrPatient): the patient chosen to fill the new-patient form.
        new_order(str): "New order" for a patient already in Rupa Desk (her Rupa id).
        new_order_for_epic(EhrPatient): "New order" for a patient not in Rupa Desk yet: she
            becomes a Rupa patient first.

    Args:
        presenter: Epic, for the links to Rupa patients.
        title: the window's title (and the Close button's accessible name).
        table_name: the table's accessible name.
        columns: the table's headers; `stretch` takes the spare width, `new_order_column`
            is drawn as a "New order" button.
        use_tooltip: what "Use for Rupa" does here.
    """

    use_for_rupa = Signal(object)
    new_order = Signal(str)
    new_order_for_epic = Signal(object)

    def __init__(
        self,
        presenter: EpicPresenter,
        parent: QWidget | None,
        *,
        title: str,
        table_name: str,
        columns: Sequence[str],
        stretch: int,
        new_order_column: int,
        use_tooltip: str,
    ) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        self.table = QTableWidget(0, len(columns))
        self.table.setAccessibleName(table_name)
        self.table.setHorizontalHeaderLabels(list(columns))
        read_only_table(self.table, stretch=stretch)
        self.row_button = ButtonDelegate(self.table)
        self.table.setItemDelegateForColumn(new_order_column, self.row_button)
        self.new_order_button = QPushButton(NEW_ORDER)
        self.new_order_button.setAccessibleName("New order for this patient")
        self.new_order_button.setToolTip(
            "Start an order for her (Ctrl+Enter); a patient not in Rupa Desk yet is added first"
        )
        self.new_order_button.setEnabled(False)
        self.new_order_action = QAction(NEW_ORDER, self)
        self.new_order_action.setShortcuts(
            [QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")]
        )
        self.addAction(self.new_order_action)
        self.use_button = QPushButton("Use for Rupa")
        self.use_button.setAccessibleName("Use for Rupa")
        self.use_button.setToolTip(use_tooltip)
        self.use_button.setEnabled(False)
        self.close_button = QPushButton("Close")
        self.close_button.setAccessibleName(f"Close {title}")
        self.close_button.clicked.connect(self.reject)

    def button_row(self, first: QWidget) -> QHBoxLayout:
        """The buttons under the table: `first` (Search, Refresh) on the left, then Close,
        Use for Rupa and New order on the right."""
        row = QHBoxLayout()
        row.addWidget(first)
        row.addStretch(1)
        row.addWidget(self.close_button)
        row.addWidget(self.use_button)
        row.addWidget(self.new_order_button)
        return row

    def hand_on(self, epic_patient_id: str, patient: EhrPatient | None) -> bool:
        """ "New order" for an Epic patient: by her Rupa id when she is linked, else by her
        Epic record (`patient`; None: not loaded, nothing happens); True when handed on
        (the dialog then closes)."""
        rupa_id = self._presenter.rupa_patient_for(epic_patient_id)
        if rupa_id is not None:
            self.new_order.emit(rupa_id)
        elif patient is not None:
            self.new_order_for_epic.emit(patient)
        else:
            return False
        self.accept()
        return True
