"""Today in Epic: the day's appointments (time, status, patient, reason), refreshed politely
while the window is open; "Use for Rupa" on a row opens her Rupa patient when she is linked,
else fills the new-patient form from Epic (as Find in Epic does)."""

from __future__ import annotations

from datetime import date
from typing import Final

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from rupa_desk.core.fhir import ScheduledVisit
from rupa_desk.ui.presenters.epic import EpicPresenter

#: How often an open schedule is loaded again (a schedule changes over the day, not by the
#: second; Epic's fair-use guidance asks for restraint).
REFRESH_INTERVAL_MS: Final = 5 * 60 * 1000
COLUMNS: Final = ("Time", "Status", "Patient", "Reason", "In Rupa")
_STATUS_WORDS: Final = {
    "booked": "Booked",
    "arrived": "Arrived",
    "checked-in": "Checked in",
    "fulfilled": "Seen",
    "cancelled": "Cancelled",
    "noshow": "No-show",
}


class EpicScheduleDialog(QDialog):
    """Today's appointments in Epic.

    Signals:
        open_in_rupa(str): the Rupa patient id of a linked appointment's patient.
        use_for_rupa(EhrPatient): an unlinked appointment's patient, loaded from Epic.
    """

    open_in_rupa = Signal(str)
    use_for_rupa = Signal(object)

    def __init__(
        self,
        presenter: EpicPresenter,
        parent: QWidget | None = None,
        *,
        day: date | None = None,
    ) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self._day = day or date.today()
        self._visits: list[ScheduledVisit] = []
        self.setWindowTitle("Today in Epic")
        self.setAccessibleName("Today in Epic")
        self.summary = QLabel()
        self.summary.setAccessibleName("Schedule summary")
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setAccessibleName("Today's appointments")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setAccessibleName("Refresh the schedule")
        self.use_button = QPushButton("Use for Rupa")
        self.use_button.setAccessibleName("Use this patient for Rupa")
        self.use_button.setToolTip("Open her in Rupa, or fill in the new-patient form from Epic")
        self.use_button.setEnabled(False)
        close = QPushButton("Close")
        close.setAccessibleName("Close Today in Epic")
        buttons = QHBoxLayout()
        buttons.addWidget(self.refresh_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        buttons.addWidget(self.use_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.resize(760, 520)
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_INTERVAL_MS)

        self.refresh_button.clicked.connect(self._on_refresh_button_clicked)
        self.use_button.clicked.connect(self._on_use_button_clicked)
        self.table.itemSelectionChanged.connect(self._on_table_item_selection_changed)
        self.timer.timeout.connect(self._on_refresh_button_clicked)
        close.clicked.connect(self.reject)
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
        chosen = self._chosen()
        self._visits = list(visits)
        self.table.setRowCount(len(visits))
        for row, visit in enumerate(visits):
            linked = visit.patient_id and self._presenter.rupa_patient_for(visit.patient_id)
            values = (
                f"{visit.start:%H:%M}" if visit.start else "",
                _STATUS_WORDS.get(visit.status, visit.status.capitalize()),
                visit.patient_name,
                visit.reason,
                "Yes" if linked else "",
            )
            for column, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.table.setItem(row, column, item)
            if chosen is not None and visit.id == chosen.id:
                self.table.selectRow(row)  # a refresh keeps the row the desk was on
        self.table.resizeColumnsToContents()

    def _on_table_item_selection_changed(self) -> None:
        visit = self._chosen()
        self.use_button.setEnabled(visit is not None and bool(visit.patient_id))

    def _chosen(self) -> ScheduledVisit | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self._visits):
            return None
        return self._visits[rows[0].row()]

    @asyncSlot()
    async def _on_use_button_clicked(self) -> None:
        visit = self._chosen()
        if visit is None or not visit.patient_id:
            return
        rupa_id = self._presenter.rupa_patient_for(visit.patient_id)
        if rupa_id is not None:
            self.open_in_rupa.emit(rupa_id)
            self.accept()
            return
        patient = await self._presenter.patient(visit.patient_id)
        if patient is not None:
            self.use_for_rupa.emit(patient)
            self.accept()
