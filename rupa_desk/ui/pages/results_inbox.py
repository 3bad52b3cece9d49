"""The results inbox pane: result values that arrived, newest and flagged first, with the
marks the desk keeps ("Reviewed by practitioner", "Patient told": who and when).

The list is a `KeyedTableModel` filled part by part (one part per turn of the event loop),
so ten thousand values open without the window freezing; a mark repaints only its rows.
Flags are chips with words.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QObject, QTimer
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from rupa_desk.core.hl7_results import ResultStatus, abnormal_flag
from rupa_desk.services.store.lab_results import InboxItem
from rupa_desk.ui.formatting import when
from rupa_desk.ui.presenters.results_inbox import (
    FIRST_PART_SIZE,
    PART_SIZE,
    ResultsInboxPresenter,
)
from rupa_desk.ui.theme import Tone, chip_colors
from rupa_desk.ui.widgets.chip_delegate import PADDING_X, ChipDelegate
from rupa_desk.ui.widgets.keyed_table import KeyedTableModel, read_only_table

ARRIVED, PATIENT, TEST, ANALYTE, FLAG, STATUS, REVIEWED, TOLD = range(8)
_CRITICAL: Final = frozenset({"HH", "LL", "AA"})
#: Room around a cell's text: the chip's padding and the style's margins.
_CELL_MARGINS: Final = 2 * PADDING_X + 24


def _mark(who: str | None, at: datetime | None) -> str:
    return "" if who is None else f"{who}, {when(at)}"


class InboxModel(KeyedTableModel[InboxItem]):
    """Result values: arrived, patient, test, analyte, flag, status and the two marks.

    A row's texts are made when it is first painted and kept while its value is the same
    one: a view asks for each cell's text at every repaint (a part read, a scroll), and
    making a date and flag words each time was most of what a repaint cost.
    """

    COLUMNS = ("Arrived", "Patient", "Test", "Analyte", "Flag", "Status", "Reviewed", "Told")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._texts: dict[int, tuple[InboxItem, tuple[str, ...]]] = {}

    def key(self, item: InboxItem) -> str:
        return str(item.id)

    def display(self, item: InboxItem, column: int) -> str:
        kept = self._texts.get(item.id)
        if kept is None or kept[0] is not item:
            kept = (item, tuple(self._text(item, c) for c in range(len(self.COLUMNS))))
            self._texts[item.id] = kept
        return kept[1][column]

    def _text(self, item: InboxItem, column: int) -> str:
        if column == ARRIVED:
            return when(item.arrived_at)
        if column == PATIENT:
            return item.patient_name or "Patient not known on this computer"
        if column == TEST:
            return item.test
        if column == ANALYTE:
            return item.analyte
        if column == FLAG:
            return ", ".join(abnormal_flag(code).words for code in item.flags)
        if column == STATUS:
            return item.status
        if column == REVIEWED:
            return _mark(item.reviewed_by, item.reviewed_at)
        return _mark(item.told_by, item.told_at)

    def chip(self, item: InboxItem, column: int) -> Tone | None:
        if column != FLAG or not item.flags:
            return None
        return Tone.DANGER if _CRITICAL & set(item.flags) else Tone.WARNING

    def reset(self, items: list[InboxItem]) -> None:
        """Show these values instead of all others (one reset, not a row per value)."""
        self.beginResetModel()
        self._items = list(items)
        self._texts.clear()
        self._reindex()
        self.endResetModel()

    def extend(self, items: list[InboxItem]) -> None:
        """Add these values at the end (the next part of the list)."""
        if not items:
            return
        start = len(self._items)
        self.beginInsertRows(QModelIndex(), start, start + len(items) - 1)
        self._items.extend(items)
        self._rows.update((self.key(item), start + i) for i, item in enumerate(items))
        self.endInsertRows()


class ResultsInboxPage(QWidget):
    """The results inbox (a view of `ResultsInboxPresenter`)."""

    def __init__(self, presenter: ResultsInboxPresenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self.setAccessibleName("Results inbox")
        self.not_told = QCheckBox("Flagged, patient not told")
        self.not_told.setAccessibleName("Show only flagged values not told to the patient")
        self.reviewed_button = QPushButton("Reviewed by practitioner")
        self.reviewed_button.setAccessibleName("Mark the selected values reviewed")
        self.told_button = QPushButton("Patient told")
        self.told_button.setAccessibleName("Mark the selected values told to the patient")
        self.count_label = QLabel()
        self.model = InboxModel(self)
        self.table = QTableView()
        self.table.setAccessibleName("Result values that arrived")
        self.table.setModel(self.model)
        read_only_table(self.table, stretch=ANALYTE)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setItemDelegateForColumn(FLAG, ChipDelegate(chip_colors, self.table))
        # widths for the longest usual texts, not measured again at every part read (those
        # cut end in "…" and show whole in their tooltips)
        header = self.table.horizontalHeader()
        metrics = self.table.fontMetrics()
        for column, longest in (
            (ARRIVED, when(datetime(2026, 12, 31, 23, 59, tzinfo=UTC))),
            (FLAG, abnormal_flag("AA").words),
            (STATUS, max((s.value for s in ResultStatus), key=metrics.horizontalAdvance)),
        ):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(column, metrics.horizontalAdvance(longest) + _CELL_MARGINS)

        bar = QHBoxLayout()
        bar.addWidget(self.not_told)
        bar.addStretch(1)
        bar.addWidget(self.reviewed_button)
        bar.addWidget(self.told_button)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.count_label)

        self._loading = QTimer(self)
        self._loading.setSingleShot(True)
        self._loading.setInterval(0)
        self._flagged = 0
        self._ids: list[int] = []
        self._read = 0

        self.not_told.toggled.connect(self._on_not_told_toggled)
        self.reviewed_button.clicked.connect(self._on_reviewed_button_clicked)
        self.told_button.clicked.connect(self._on_told_button_clicked)
        self._loading.timeout.connect(self._on_loading_timeout)
        presenter.changed.connect(self._on_presenter_changed)
        presenter.marked.connect(self._on_presenter_marked)
        self.refresh()

    @property
    def loading(self) -> bool:
        """True while parts of the list are still to be read."""
        return self._loading.isActive()

    def refresh(self) -> None:
        """Read the list again: its first part now, the others at the next turns of the
        event loop."""
        self._ids = self._presenter.listed_ids(abnormal_not_told=self.not_told.isChecked())
        self._read = 0
        first = self._next_part(FIRST_PART_SIZE)
        self.model.reset(first)
        self._flagged = sum(1 for item in first if item.abnormal)
        if self._read < len(self._ids):
            self._loading.start()
        else:
            self._loading.stop()
        self._show_count()

    def _next_part(self, size: int) -> list[InboxItem]:
        """The next `size` values not read yet, as they are now."""
        ids = self._ids[self._read : self._read + size]
        self._read += len(ids)
        return self._presenter.items(ids, abnormal_not_told=self.not_told.isChecked())

    def _show_count(self) -> None:
        count = self.model.rowCount()
        more = " (reading more…)" if self.loading else ""
        self.count_label.setText(
            f"{count} value{'s' if count != 1 else ''}, {self._flagged} flagged by the lab{more}."
        )

    def selected_ids(self) -> list[int]:
        """The ids of the selected values."""
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.model.item(row).id for row in rows]

    def select_rows(self, rows: list[int]) -> None:
        """Select these rows (for tests and keyboard users' scripts)."""
        selection = self.table.selectionModel()
        selection.clearSelection()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for row in rows:
            selection.select(self.model.index(row, 0), flags)

    def cell(self, row: int, column: int) -> str:
        """The text of a cell."""
        return str(self.model.index(row, column).data() or "")

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._presenter.mark_seen()

    # -- slots ---------------------------------------------------------------------------------

    def _on_not_told_toggled(self, checked: bool) -> None:
        self.refresh()

    def _on_reviewed_button_clicked(self) -> None:
        self._presenter.mark_reviewed(self.selected_ids())

    def _on_told_button_clicked(self) -> None:
        self._presenter.mark_told(self.selected_ids())

    def _on_presenter_changed(self) -> None:
        self.refresh()

    def _on_loading_timeout(self) -> None:
        part = [p for p in self._next_part(PART_SIZE) if self.model.row_of(str(p.id)) < 0]
        self.model.extend(part)
        self._flagged += sum(1 for item in part if item.abnormal)
        if self._read < len(self._ids):
            self._loading.start()
        self._show_count()

    def _on_presenter_marked(self, ids: list[int]) -> None:
        """Repaint the marked values; those the filter no longer shows leave the list."""
        now = {
            str(item.id): item
            for item in self._presenter.items(ids, abnormal_not_told=self.not_told.isChecked())
        }
        for result_id in ids:
            key = str(result_id)
            if key in now:
                self.model.put(now[key])
            elif self.model.row_of(key) >= 0:
                self._flagged -= int(self.model.item(self.model.row_of(key)).abnormal)
                self.model.take(key)
        self._show_count()
