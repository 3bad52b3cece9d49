"""Today in Epic: the day's appointments (time, status, patient, reason), refreshed politely
while the window is open.

"New order" on every row (a button in the row, the button below the table, Enter or
Ctrl+Enter on the selected row, a double-click) starts an order for her: at once when she is
linked to a Rupa patient, else through "Use for Rupa" first (the new-patient form filled from
Epic, the duplicate check, the link), her draft opening when she is created. "Use for Rupa"
alone opens her Rupa patient when she is linked, else fills the new-patient form."""

from __future__ import annotations

from datetime import date
from typing import Final

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QLabel,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from rupa_desk.core.fhir import EhrPatient, ScheduledVisit
from rupa_desk.ui.components.epic_patients_dialog import NEW_ORDER, EpicPatientsDialog
from rupa_desk.ui.presenters.epic import EpicPresenter

#: How often an open schedule is loaded again (a schedule changes over the day, not by the
#: second; Epic's fair-use guidance asks for restraint).
REFRESH_INTERVAL_MS: Final = 5 * 60 * 1000
COLUMNS: Final = ("Time", "Status", "Patient", "Reason", "In Rupa", "")
#: The column drawn as a "New order" button on every row.
NEW_ORDER_COLUMN: Final = 5
_READ_ONLY: Final = Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled
#: The columns as wide as their texts (the reason takes the rest; the buttons' is fixed).
_SIZED_TO_CONTENTS: Final = (0, 1, 2, 4)
_STATUS_WORDS: Final = {
    "booked": "Booked",
    "arrived": "Arrived",
    "checked-in": "Checked in",
    "fulfilled": "Seen",
    "cancelled": "Cancelled",
    "noshow": "No-show",
}


class EpicScheduleDialog(EpicPatientsDialog):
    """Today's appointments in Epic (the signals of `EpicPatientsDialog`, and one more).

    Signals:
        open_in_rupa(str): "Use for Rupa" on a linked appointment's patient: her Rupa id.
    """

    open_in_rupa = Signal(str)

    def __init__(
        self,
        presenter: EpicPresenter,
        parent: QWidget | None = None,
        *,
        day: date | None = None,
    ) -> None:
        super().__init__(
            presenter,
            parent,
            title="Today in Epic",
            table_name="Today's appointments",
            columns=COLUMNS,
            stretch=COLUMNS.index("Reason"),
            new_order_column=NEW_ORDER_COLUMN,
            use_tooltip="Open her in Rupa, or fill in the new-patient form from Epic",
        )
        self._day = day or date.today()
        self._visits: list[ScheduledVisit] = []
        self.summary = QLabel()
        self.summary.setAccessibleName("Schedule summary")
        self.summary.setWordWrap(True)
        self.table.setColumnWidth(NEW_ORDER_COLUMN, self.row_button.width_for(NEW_ORDER, self))
        self.new_order_button.setDefault(True)  # Enter on a row starts her order
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setAccessibleName("Refresh the schedule")
        buttons = self.button_row(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.resize(760, 520)
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_INTERVAL_MS)

        self.refresh_button.clicked.connect(self._on_refresh_button_clicked)
        self.use_button.clicked.connect(self._on_use_button_clicked)
        self.new_order_button.clicked.connect(self._on_new_order_button_clicked)
        self.new_order_action.triggered.connect(self._on_new_order_button_clicked)
        self.row_button.clicked.connect(self._on_row_button_clicked)
        self.table.doubleClicked.connect(self._on_table_double_clicked)
        self.table.itemSelectionChanged.connect(self._on_table_item_selection_changed)
        self.timer.timeout.connect(self._on_refresh_button_clicked)
        self.finished.connect(self.timer.stop)
        presenter.schedule_changed.connect(self._on_presenter_schedule_changed)
        presenter.schedule_summary_changed.connect(self.summary.setText)

    async def load(self) -> None:
        """Load the day's schedule now, and again every few minutes while open."""
        self.timer.start()
        await self._presenter.load_schedule(self._day)

    @asyncSlot()
    async def _on_refresh_button_clicked(self) -> None:
        await self._presenter.load_schedule(self._day)

    def _on_presenter_schedule_changed(self, visits: list[ScheduledVisit]) -> None:
        """Fill the table: one block on the UI thread, so the cells a refresh finds in place
        are kept (only changed texts are set) and the links are read in one query."""
        chosen = self._chosen()
        self._visits = list(visits)
        linked = self._presenter.linked_epic_patients()
        table = self.table
        table.setUpdatesEnabled(False)
        try:
            table.setRowCount(len(visits))
            for row, visit in enumerate(visits):
                values = (
                    f"{visit.start:%H:%M}" if visit.start else "",
                    _STATUS_WORDS.get(visit.status, visit.status.capitalize()),
                    visit.patient_name,
                    visit.reason,
                    "Yes" if visit.patient_id in linked else "",
                    NEW_ORDER if visit.patient_id else "",
                )
                for column, text in enumerate(values):
                    item = table.item(row, column)
                    if item is None:
                        item = QTableWidgetItem(text)
                        item.setFlags(_READ_ONLY)
                        table.setItem(row, column, item)
                    elif item.text() != text:
                        item.setText(text)
                if chosen is not None and visit.id == chosen.id:
                    table.selectRow(row)  # a refresh keeps the row the desk was on
            for column in _SIZED_TO_CONTENTS:
                table.resizeColumnToContents(column)
        finally:
            table.setUpdatesEnabled(True)
        self._on_table_item_selection_changed()

    def _on_table_item_selection_changed(self) -> None:
        visit = self._chosen()
        usable = visit is not None and bool(visit.patient_id)
        self.use_button.setEnabled(usable)
        self.new_order_button.setEnabled(usable)
        self.new_order_action.setEnabled(usable)

    def _chosen(self) -> ScheduledVisit | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self._visits):
            return None
        return self._visits[rows[0].row()]

    @asyncSlot()
    async def _on_use_button_clicked(self) -> None:
        await self.use_for_rupa_now(self._chosen(), order=False)

    @asyncSlot()
    async def _on_new_order_button_clicked(self) -> None:
        await self.use_for_rupa_now(self._chosen(), order=True)

    @asyncSlot(QModelIndex)
    async def _on_row_button_clicked(self, index: QModelIndex) -> None:
        if 0 <= index.row() < len(self._visits):
            await self.use_for_rupa_now(self._visits[index.row()], order=True)

    @asyncSlot(QModelIndex)
    async def _on_table_double_clicked(self, index: QModelIndex) -> None:
        if 0 <= index.row() < len(self._visits) and index.column() != NEW_ORDER_COLUMN:
            await self.use_for_rupa_now(self._visits[index.row()], order=True)

    async def use_for_rupa_now(self, visit: ScheduledVisit | None, *, order: bool) -> None:
        """Hand the visit's patient on: her Rupa id when she is linked, else her Epic record
        (loaded now); `order` says whether an order for her starts then."""
        if visit is None or not visit.patient_id:
            return
        rupa_id = self._presenter.rupa_patient_for(visit.patient_id)
        if rupa_id is not None and not order:
            self.open_in_rupa.emit(rupa_id)
            self.accept()
            return
        patient: EhrPatient | None = None
        if rupa_id is None:
            patient = await self._presenter.patient(visit.patient_id)
        if order:
            self.hand_on(visit.patient_id, patient)
        elif patient is not None:
            self.use_for_rupa.emit(patient)
            self.accept()
