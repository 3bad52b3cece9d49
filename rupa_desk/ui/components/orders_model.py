"""The orders list as a Qt table model, updated row by row (see `KeyedTableModel`)."""

from __future__ import annotations

from PySide6.QtCore import Qt

from rupa_desk.services.store import OrderRow
from rupa_desk.ui.formatting import money, when
from rupa_desk.ui.theme import Tone, order_status_tone
from rupa_desk.ui.widgets.keyed_table import KeyedTableModel

SUBMITTED, PATIENT, STATUS, TOTAL, RESULTS = range(5)


class OrdersTableModel(KeyedTableModel[OrderRow]):
    """Orders: submitted, patient, status, total, results."""

    COLUMNS = ("Submitted", "Patient", "Status", "Total", "Results")

    def key(self, item: OrderRow) -> str:
        return item.id

    def display(self, item: OrderRow, column: int) -> str:
        if column == SUBMITTED:
            return when(item.date_submitted)
        if column == PATIENT:
            return item.patient_name or item.patient_id or "—"
        if column == STATUS:
            return item.status
        if column == TOTAL:
            return money(item.total_price)
        return str(item.results_count) if item.results_count else ""

    def chip(self, item: OrderRow, column: int) -> Tone | None:
        return order_status_tone(item.status) if column == STATUS else None

    def tooltip(self, item: OrderRow, column: int) -> str | None:
        return f"Rupa's reference: {item.id}" if column == SUBMITTED else None

    def alignment(self, column: int) -> Qt.AlignmentFlag | None:
        if column in (TOTAL, RESULTS):
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        return None
