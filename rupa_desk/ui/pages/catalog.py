"""The Catalog pane: type-ahead search with filters, lazy results, details and "Add to draft".

Keyboard: Ctrl+F focuses the search box; Down moves into the results; Enter on a result adds
it to the current draft. Each row names its lab company first, so the same test from several
labs is told apart; the row with the focus is always the selected one, and Enter adds only a
row the person can see selected: a row that is not in view is shown first (the next Enter
adds it). Enter in the search box picks the only match. Everything works offline on the
local catalog; "Sync now" updates it.
"""

from __future__ import annotations

import functools
from decimal import Decimal

from PySide6.QtCore import QItemSelection, Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from rupa_desk.core.models import LabTest
from rupa_desk.services.store import CatalogFilters
from rupa_desk.ui.components.catalog_model import (
    COMPANY,
    HIT_ROLE,
    NAME,
    PRICE,
    SAMPLES,
    TURNAROUND,
)
from rupa_desk.ui.components.lab_test_detail import LabTestDetail
from rupa_desk.ui.presenters.catalog import CatalogPresenter, CatalogQuery
from rupa_desk.ui.presenters.panels import PanelsPresenter
from rupa_desk.ui.widgets.elided_text import show_cut_cells_whole
from rupa_desk.ui.widgets.highlight_delegate import HighlightDelegate
from rupa_desk.ui.widgets.keyed_table import one_tab_stop
from rupa_desk.ui.widgets.search_box import SearchBox

ROW_HEIGHT = 26


class ResultsTable(QTableView):
    """The results view: Enter asks to add the selected test, when it is in view.

    Enter never adds a test the person has not seen selected: with no current row it selects
    the first one; on a current row that is not selected, or not wholly in view, it selects
    it and scrolls it into view; only then does Enter ask to add it.

    Signals:
        add_requested(): Enter (or Return) was pressed on a selected row in view.
    """

    add_requested = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() not in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            super().keyPressEvent(event)
            return
        event.accept()
        model = self.model()
        if model is None or model.rowCount() == 0:
            return
        current = self.currentIndex()
        if not current.isValid():
            self.selectRow(0)
            self.scrollToTop()
            return
        if self.row_in_view(current.row()) and self.selectionModel().isRowSelected(current.row()):
            self.add_requested.emit()
            return
        self.selectRow(current.row())
        self.scrollTo(current)

    def row_in_view(self, row: int) -> bool:
        """True when the whole of `row` shows in the viewport."""
        rect = self.visualRect(self.model().index(row, 0))
        return rect.isValid() and self.viewport().rect().contains(rect.adjusted(0, 0, 0, -1))


class CatalogPage(QWidget):
    """The catalog pane (a view of `CatalogPresenter`).

    Args:
        presenter: runs the pane's requests.
        panels: the saved panels, for "Add to panel" (None: the pane offers no panels).
        parent: the widget it belongs to.
    """

    def __init__(
        self,
        presenter: CatalogPresenter,
        panels: PanelsPresenter | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self._panels = panels
        self.setAccessibleName("Catalog")

        self.search_box = SearchBox(paced_by_search=True)  # results follow the last key
        self.search_box.setPlaceholderText("Search tests, biomarkers, labs… (Ctrl+F)")
        self.search_box.setAccessibleName("Search the catalog")
        self.company = QComboBox()
        self.company.setAccessibleName("Lab company filter")
        self.company.setMinimumContentsLength(14)
        self.sample_type = QComboBox()
        self.sample_type.setAccessibleName("Sample type filter")
        self.price_min = self._price_box("Lowest price")
        self.price_max = self._price_box("Highest price")
        self.sync_button = QPushButton("Sync now")
        self.sync_button.setAccessibleName("Sync the catalog now")
        self.sync_button.setToolTip("Download the latest catalog from Rupa")

        self.table = ResultsTable()
        self.table.setAccessibleName("Catalog results")
        self.table.setModel(presenter.model)
        self.table.setItemDelegateForColumn(NAME, HighlightDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        one_tab_stop(self.table)
        show_cut_cells_whole(self.table)
        self.table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        vertical = self.table.verticalHeader()
        vertical.setVisible(False)
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(ROW_HEIGHT)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)
        header.setHighlightSections(False)
        for column, width in ((COMPANY, 170), (PRICE, 80), (SAMPLES, 150), (TURNAROUND, 90)):
            header.resizeSection(column, width)

        self.detail = LabTestDetail()
        self.detail.setMinimumWidth(260)
        self.panel_menu = QMenu(self)
        self.panel_menu.setAccessibleName("Saved panels")
        self.panel_button = QToolButton()
        self.panel_button.setText("Add to panel")
        self.panel_button.setAccessibleName("Add the selected test to a saved panel")
        self.panel_button.setToolTip("Add this test to a saved panel, or start a new panel")
        self.panel_button.setMenu(self.panel_menu)
        self.panel_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.panel_button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.panel_button.setVisible(panels is not None)
        self.panel_button.setEnabled(False)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        detail_layout = self.detail.layout()
        if detail_layout is not None:  # the button lines up with the detail's own
            margins = detail_layout.contentsMargins()
            side_layout.setContentsMargins(margins.left(), 0, margins.right(), margins.bottom())
        else:
            side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.detail, 1)
        side_layout.addWidget(self.panel_button)
        self.summary = QLabel()
        self.summary.setAccessibleName("Result summary")

        # Two rows, so that the search box keeps its width in a small window.
        search = QHBoxLayout()
        search.addWidget(self.search_box, 1)
        search.addWidget(self.sync_button)
        filters = QHBoxLayout()
        filters.addWidget(self.company, 2)
        filters.addWidget(self.sample_type, 2)
        filters.addWidget(QLabel("Price"))
        filters.addWidget(self.price_min)
        filters.addWidget(QLabel("to"))
        filters.addWidget(self.price_max)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(search)
        layout.addLayout(filters)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.summary)  # the catalog's age is in the status bar

        self._find = QShortcut(QKeySequence(QKeySequence.StandardKey.Find), self)
        self._find.setContext(Qt.ShortcutContext.WindowShortcut)
        self._find.activated.connect(self._on_find_activated)

        self._reload_filters()
        self.search_box.search_requested.connect(self._on_search_box_search_requested)
        self.search_box.returnPressed.connect(self._on_search_box_return_pressed)
        self.search_box.pick_only_match_in(self.table)
        self.company.currentIndexChanged.connect(self._on_filter_changed)
        self.sample_type.currentIndexChanged.connect(self._on_filter_changed)
        self.price_min.valueChanged.connect(self._on_filter_changed)
        self.price_max.valueChanged.connect(self._on_filter_changed)
        self.sync_button.clicked.connect(self._on_sync_button_clicked)
        self.table.add_requested.connect(self._on_table_add_requested)
        selection = self.table.selectionModel()
        selection.selectionChanged.connect(self._on_table_selection_changed)
        self.detail.add_requested.connect(self._on_detail_add_requested)
        self.panel_menu.aboutToShow.connect(self._on_panel_menu_about_to_show)
        presenter.results_changed.connect(self._on_presenter_results_changed)
        presenter.model.rows_fetched.connect(self._on_model_rows_fetched)
        presenter.detail_changed.connect(self._on_presenter_detail_changed)
        presenter.sync_started.connect(self._on_presenter_sync_started)
        presenter.sync_finished.connect(self._on_presenter_sync_finished)
        self._on_presenter_results_changed(presenter.query)

    def _price_box(self, name: str) -> QSpinBox:
        box = QSpinBox()
        box.setAccessibleName(name)
        box.setRange(0, 100_000)
        box.setPrefix("$")
        box.setSpecialValueText("Any")
        box.setSingleStep(25)
        box.setKeyboardTracking(False)
        return box

    # -- filters -------------------------------------------------------------------------------

    def _reload_filters(self) -> None:
        """Fill the company and sample type lists from the catalog (keeping the choices)."""
        chosen_company = self.company.currentData()
        chosen_sample = self.sample_type.currentData()
        for box in (self.company, self.sample_type):
            box.blockSignals(True)
            box.clear()
        self.company.addItem("All lab companies", None)
        for company in self._presenter.companies():
            self.company.addItem(f"{company.name} ({company.test_count:,})", company.id)
        self.sample_type.addItem("All sample types", None)
        for sample in self._presenter.sample_types():
            self.sample_type.addItem(f"{sample.name} ({sample.test_count:,})", sample.name)
        self.company.setCurrentIndex(max(self.company.findData(chosen_company), 0))
        self.sample_type.setCurrentIndex(max(self.sample_type.findData(chosen_sample), 0))
        for box in (self.company, self.sample_type):
            box.blockSignals(False)

    def filters(self) -> CatalogFilters:
        """The filters as chosen."""
        low, high = self.price_min.value(), self.price_max.value()
        return CatalogFilters(
            lab_company_id=self.company.currentData(),
            sample_type=self.sample_type.currentData(),
            price_min=Decimal(low) if low else None,
            price_max=Decimal(high) if high else None,
        )

    # -- slots ---------------------------------------------------------------------------------

    @asyncSlot(str)
    async def _on_search_box_search_requested(self, text: str) -> None:
        try:
            await self._presenter.search(text)
        finally:
            self.search_box.search_finished()  # the keys typed meanwhile: one search now

    @asyncSlot()
    async def _on_filter_changed(self) -> None:
        await self._presenter.set_filters(self.filters())

    @asyncSlot()
    async def _on_sync_button_clicked(self) -> None:
        await self._presenter.sync_now()

    @asyncSlot()
    async def _on_table_add_requested(self) -> None:
        self._select_current_row()  # the focused row is the one added, and shown
        await self._presenter.add_to_draft(self.selected_test_id() or "")

    @asyncSlot(str)
    async def _on_detail_add_requested(self, lab_test_id: str) -> None:
        await self._presenter.add_to_draft(lab_test_id)

    @asyncSlot(QItemSelection, QItemSelection)
    async def _on_table_selection_changed(
        self, selected: QItemSelection, deselected: QItemSelection
    ) -> None:
        self.panel_button.setEnabled(self.selected_test_id() is not None)
        await self._presenter.show_detail(self.selected_test_id())

    def _on_panel_menu_about_to_show(self) -> None:
        """The panels as they are now: a new panel, or one of the saved ones."""
        self.panel_menu.clear()
        panels = self._panels
        test_id = self.selected_test_id()
        if panels is None or test_id is None:
            return
        new = self.panel_menu.addAction("New panel with this test")
        new.triggered.connect(functools.partial(panels.save_tests, [test_id]))
        saved = panels.panels()
        if saved:
            self.panel_menu.addSeparator()
        for panel in saved:
            add = self.panel_menu.addAction(f"Add to “{panel.name}”")
            add.triggered.connect(functools.partial(panels.add_test, panel.id, test_id))

    def _on_find_activated(self) -> None:
        self.search_box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_box.selectAll()

    def _on_search_box_return_pressed(self) -> None:
        self._enter_results()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Down and self.search_box.hasFocus():
            self._enter_results()
            return
        super().keyPressEvent(event)

    def _enter_results(self) -> None:
        """Move the focus into the results, the focused row selected (the first row when
        none is focused)."""
        self.table.setFocus(Qt.FocusReason.OtherFocusReason)
        self._select_current_row()

    def _select_current_row(self) -> None:
        """Select the focused row (the first when none is): new results clear the selection
        but may leave a row focused, and Enter must add the row the person sees focused."""
        if not self._presenter.model.rowCount():
            return
        current = self.table.currentIndex()
        row = current.row() if current.isValid() else 0
        if not self.table.selectionModel().isRowSelected(row):
            self.table.selectRow(row)

    def selected_test_id(self) -> str | None:
        """The id of the selected result (None: no selection)."""
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        hit = rows[0].data(HIT_ROLE)
        return str(hit.id) if hit is not None else None

    def _on_presenter_results_changed(self, query: CatalogQuery) -> None:
        self._update_summary()
        if self._presenter.model.rowCount():
            self.table.scrollToTop()
        if self.selected_test_id() is None:
            # New results clear the selection (no signal for that): the detail panel must
            # not go on showing, and offering to add, a test that is not selected (or listed).
            self.detail.show_test(None)
            self.panel_button.setEnabled(False)

    def _on_model_rows_fetched(self, count: int) -> None:
        self._update_summary()

    def _update_summary(self) -> None:
        model = self._presenter.model
        count = model.rowCount()
        if count == 0:
            if self._presenter.test_count() == 0:
                text = "No catalog on this computer yet: choose “Sync now” to download it."
            else:
                text = "No tests match. Try fewer words or other filters."
        elif model.has_more:
            text = f"{count:,}+ tests match (scroll for more)"
        else:
            text = "1 test matches" if count == 1 else f"{count:,} tests match"
        self.summary.setText(text)

    def _on_presenter_detail_changed(self, test: LabTest | None) -> None:
        if test is not None and test.id != self.selected_test_id():
            test = None  # loaded for a selection that new results have cleared since
        self.detail.show_test(test)

    def _on_presenter_sync_started(self) -> None:
        self.sync_button.setEnabled(False)
        self.sync_button.setText("Syncing…")

    def _on_presenter_sync_finished(self, succeeded: bool) -> None:
        self.sync_button.setEnabled(True)
        self.sync_button.setText("Sync now")
        if succeeded:
            self._reload_filters()
