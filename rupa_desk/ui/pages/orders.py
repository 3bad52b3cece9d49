"""The Orders pane: the orders (mine or the clinic's), newest first, and the one selected.

Filters: my orders or the whole clinic, a status, a patient, and a search over patient names
and order ids. The detail shows the ordered tests with their lab company and result state and
a status timeline (Rupa's dates and the statuses this PC saw), and the selected test's result
values (`ResultsTable`); it opens result PDFs and requisitions (fetched fresh, to show, print
or save) in their own large windows (closed with the account), prints a summary of the order,
names the draft it was made from on this computer, and offers "Order again" (a new draft, same
tests).
"""

from __future__ import annotations

import html
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QItemSelection, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QMenu,
    QPushButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from rupa_desk.core.file_names import requisition_file_name, result_file_name, safe_file_stem
from rupa_desk.core.order_timeline import Source, order_timeline
from rupa_desk.services.store import OrderDetail, OrderFilters, StoredOrderedTest
from rupa_desk.ui.components.epic_filing import EpicFilingBar
from rupa_desk.ui.components.orders_model import STATUS, OrdersTableModel
from rupa_desk.ui.components.results_table import ResultsTable
from rupa_desk.ui.formatting import money, when
from rupa_desk.ui.presenters.epic_filing import EpicFilingPresenter
from rupa_desk.ui.presenters.orders import OrdersPresenter
from rupa_desk.ui.theme import chip_colors
from rupa_desk.ui.widgets.chip_delegate import ChipDelegate
from rupa_desk.ui.widgets.clipboard import copy_action
from rupa_desk.ui.widgets.elided_text import ElidedLabel, show_cut_cells_whole
from rupa_desk.ui.widgets.file_dialogs import WaysOut
from rupa_desk.ui.widgets.keyed_table import ID_ROLE, read_only_table, select_key, selected_key
from rupa_desk.ui.widgets.search_box import SearchBox

if TYPE_CHECKING:
    from rupa_desk.ui.components.result_window import ResultWindow, ResultWindows

ALL = ""
COPY_REFERENCE = "Copy Rupa's reference"
COPY_REFERENCE_TIP = "Copy the order's reference, to paste into a message to Rupa's support"


class Reordering(Protocol):
    """ "Order again" (`rupa_desk.ui.presenters.drafts.DraftsPresenter`)."""

    async def order_again(self, order_id: str) -> bool:
        """A new draft with the order's patient and tests, opened in Draft orders."""


#: The most of a draft's notes the order detail shows (all of them in its tooltip).
NOTE_SHOWN_CHARS = 400


def result_state(test: StoredOrderedTest) -> str:
    if not test.has_results:
        return "No results yet"
    if test.results_up_to_date:
        return "Results downloaded"
    if test.results_file is not None:
        return "Updated results: downloading"
    return "Results ready: downloading"


def order_summary_html(detail: OrderDetail, timeline: list[str], *, printed: datetime) -> str:
    """The order as a printed page says it: patient, date, status, total, the tests with their
    lab company and result state, and the timeline (every value escaped)."""
    row = detail.row

    def cell(text: str, tag: str = "td") -> str:
        return f"<{tag} align='left'>{html.escape(text)}</{tag}>"

    facts = [
        ("Patient", row.patient_name or "Unknown patient"),
        ("Order date", when(row.date_submitted)),
        ("Status", row.status),
        ("Total", money(row.total_price)),
        ("Order", row.id),
    ]
    tests = "".join(
        "<tr>"
        + cell(test.name or test.lab_test_id or "Unknown test")
        + cell(test.lab_company or "—")
        + cell(result_state(test))
        + "</tr>"
        for test in detail.ordered_tests
    )
    steps = "".join(f"<li>{html.escape(line)}</li>" for line in timeline)
    return (
        "<h2>Order summary</h2>"
        "<table cellspacing='0' cellpadding='3'>"
        + "".join(f"<tr>{cell(label, 'th')}{cell(value)}</tr>" for label, value in facts)
        + "</table><h3>Ordered tests</h3>"
        "<table border='1' cellspacing='0' cellpadding='4' width='100%'><tr>"
        + cell("Test", "th")
        + cell("Lab company", "th")
        + cell("Results", "th")
        + f"</tr>{tests}</table><h3>Timeline</h3><ul>{steps}</ul>"
        f"<p><small>Printed {html.escape(when(printed))} by Rupa Desk.</small></p>"
    )


class OrderDetailView(QWidget):
    """One order: tests, timeline; results open in their own windows; "Order again".

    Args:
        presenter: the pane's presenter.
        ways_out: the dialogs for saving, printing and opening outside (the system's by
            default; tests pass their own).
        ordering: makes "Order again" drafts (None: the button is not offered).
        epic_filing: "File to Epic", when Epic is set up.
    """

    def __init__(
        self,
        presenter: OrdersPresenter,
        parent: QWidget | None = None,
        *,
        ways_out: WaysOut | None = None,
        ordering: Reordering | None = None,
        epic_filing: EpicFilingPresenter | None = None,
    ) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self._ordering = ordering
        self._ways_out = ways_out or WaysOut()
        self.epic_bar = EpicFilingBar(epic_filing) if epic_filing is not None else None
        self._detail: OrderDetail | None = None
        self._timeline_lines: list[str] = []
        self.result_windows: ResultWindows | None = None
        self.setAccessibleName("Order detail")

        self.header = ElidedLabel()
        self.header.setAccessibleName("Order")
        self.copy_button = QToolButton()
        self.copy_reference_action = copy_action(
            self.header,
            COPY_REFERENCE,
            self._reference,
            tooltip=COPY_REFERENCE_TIP,
            near=self.copy_button,
        )
        self.copy_button.setDefaultAction(self.copy_reference_action)
        self.copy_button.setText("Copy reference")
        self.copy_button.setAccessibleName(COPY_REFERENCE)
        self.from_draft = QLabel()
        self.from_draft.setWordWrap(True)
        self.from_draft.setAccessibleName("The draft this order was made from")
        self.from_draft.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.from_draft.hide()
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setAccessibleName("Fetch this order from Rupa")
        self.download_button = QPushButton("Download results")
        self.download_button.setAccessibleName("Download the result PDFs")
        self.view_button = QPushButton("Show result")
        self.view_button.setAccessibleName("Show the selected test's result PDF")
        self.requisition_button = QPushButton("Requisition")
        self.requisition_button.setAccessibleName("The selected test's requisition")
        self.requisition_button.setToolTip(
            "The form that goes with the sample: show, print or save it"
        )
        requisition_menu = QMenu(self.requisition_button)
        self.show_requisition_action = requisition_menu.addAction("Show requisition")
        self.print_requisition_action = requisition_menu.addAction("Print requisition…")
        self.save_requisition_action = requisition_menu.addAction("Save requisition as…")
        self.requisition_button.setMenu(requisition_menu)
        self.print_button = QPushButton("Print summary…")
        self.print_button.setAccessibleName("Print a summary of this order")
        self.again_button = QPushButton("Order again")
        self.again_button.setAccessibleName("Order the same tests again for this patient")
        self.again_button.setToolTip("A new draft for this patient with the same tests")
        self.again_button.setVisible(ordering is not None)
        self.tests = QTableWidget(0, 3)
        self.tests.setAccessibleName("Ordered tests")
        self.tests.setHorizontalHeaderLabels(["Test", "Lab company", "Results"])
        read_only_table(self.tests, stretch=0)
        for column in (1, 2):  # "Real Time Laboratories", "Results downloaded": in full
            self.tests.horizontalHeader().setSectionResizeMode(
                column, QHeaderView.ResizeMode.ResizeToContents
            )
        self.results = ResultsTable(ways_out=self._ways_out)
        self.results.action_failed.connect(self._on_result_windows_action_failed)
        self.timeline = QListWidget()
        show_cut_cells_whole(self.timeline)
        self.timeline.setAccessibleName("Status timeline")

        buttons = QHBoxLayout()
        buttons.addWidget(self.refresh_button)
        buttons.addWidget(self.download_button)
        buttons.addStretch(1)
        buttons.addWidget(self.again_button)
        buttons.addWidget(self.print_button)
        layout = QVBoxLayout(self)
        heading = QHBoxLayout()
        heading.addWidget(self.header, 1)
        heading.addWidget(self.copy_button)
        layout.addLayout(heading)
        layout.addWidget(self.from_draft)
        layout.addLayout(buttons)
        if self.epic_bar is not None:
            layout.addWidget(self.epic_bar)
        layout.addWidget(self.tests, 2)
        test_actions = QHBoxLayout()  # what acts on the selected test, under the tests
        test_actions.addWidget(self.view_button)
        test_actions.addWidget(self.requisition_button)
        test_actions.addStretch(1)
        layout.addLayout(test_actions)
        layout.addWidget(self.results, 3)
        layout.addWidget(QLabel("Timeline"))
        layout.addWidget(self.timeline, 1)

        self.refresh_button.clicked.connect(self._on_refresh_button_clicked)
        self.download_button.clicked.connect(self._on_download_button_clicked)
        self.view_button.clicked.connect(self._on_view_button_clicked)
        self.print_button.clicked.connect(self._on_print_button_clicked)
        self.show_requisition_action.triggered.connect(self._on_show_requisition_triggered)
        self.print_requisition_action.triggered.connect(self._on_print_requisition_triggered)
        self.save_requisition_action.triggered.connect(self._on_save_requisition_triggered)
        self.again_button.clicked.connect(self._on_again_button_clicked)
        self.tests.itemDoubleClicked.connect(self._on_tests_item_double_clicked)
        self.tests.itemSelectionChanged.connect(self._on_tests_item_selection_changed)
        presenter.detail_changed.connect(self._on_presenter_detail_changed)
        presenter.result_ready.connect(self._on_presenter_result_ready)
        presenter.closing.connect(self._on_presenter_closing)
        self.show_detail(None)

    def show_detail(self, detail: OrderDetail | None) -> None:
        self._detail = detail
        self.setEnabled(detail is not None)
        if self.epic_bar is not None:
            self.epic_bar.show_detail(detail)
        if detail is None:
            self.header.setText("Select an order.")
            self.from_draft.hide()
            self.tests.setRowCount(0)
            self.timeline.clear()
            self._timeline_lines = []
            self._enable_requisition()
            return
        row = detail.row
        self.header.setText(
            f"{row.patient_name or 'Patient not known on this computer'} · {row.status} · "
            f"{money(row.total_price)} · submitted {when(row.date_submitted)}"
        )
        self.header.setToolTip(f"Rupa's reference: {row.id}")  # for a call to Rupa's support
        self._show_draft(row.id)
        self.tests.setRowCount(len(detail.ordered_tests))
        for index, test in enumerate(detail.ordered_tests):
            name = QTableWidgetItem(test.name or test.lab_test_id or test.id)
            name.setData(ID_ROLE, test.id)
            self.tests.setItem(index, 0, name)
            self.tests.setItem(index, 1, QTableWidgetItem(test.lab_company or "—"))
            self.tests.setItem(index, 2, QTableWidgetItem(result_state(test)))
        if detail.ordered_tests and self.tests.currentRow() < 0:
            self.tests.selectRow(0)
        self.timeline.clear()
        self._timeline_lines = []
        for entry in order_timeline(
            submitted=row.date_submitted,
            paid=detail.date_paid,
            completed=detail.date_completed,
            canceled=detail.date_canceled,
            seen=[(e.status, e.observed_at) for e in detail.history],
        ):
            seen = " (seen by Rupa Desk)" if entry.source is Source.SEEN else ""
            self._timeline_lines.append(f"{when(entry.at)}  {entry.label}{seen}")
            self.timeline.addItem(self._timeline_lines[-1])
        self._show_selected_values()
        has_results = any(t.has_results for t in detail.ordered_tests)
        self.download_button.setEnabled(has_results)
        self.view_button.setEnabled(any(t.results_file for t in detail.ordered_tests))
        self._enable_requisition()

    def _show_draft(self, order_id: str) -> None:
        """The draft the order was made from on this computer, with its notes (it left the
        drafts list at checkout: this is where it is found)."""
        draft = self._presenter.draft_of(order_id)
        self.from_draft.setVisible(draft is not None)
        if draft is None:
            return
        made = draft.created_at.astimezone()
        lines = [f"Made from a draft on this computer ({when(made)})."]
        if draft.notes:
            lines.append(f"Note to the patient: {draft.notes}")
        if draft.internal_note:
            lines.append(f"Internal note (this computer only): {draft.internal_note}")
        text = "\n".join(lines)
        shown = text if len(text) <= NOTE_SHOWN_CHARS else text[:NOTE_SHOWN_CHARS] + "…"
        self.from_draft.setText(shown)
        self.from_draft.setToolTip(text if shown != text else "")

    def show_result(self, path: Path, title: str = "", save_name: str = "") -> ResultWindow | None:
        """Show a result PDF (or a requisition) in its own window (raised when it is open
        already; QtPdf is loaded on first use). A file that cannot be shown is said in the
        message bar (None is returned)."""
        from rupa_desk.ui.components.result_window import ResultWindows
        from rupa_desk.ui.widgets.pdf_viewer import PdfNotReadable

        if self.result_windows is None:
            self.result_windows = ResultWindows(self._ways_out, self)
            self.result_windows.action_failed.connect(self._on_result_windows_action_failed)
        try:
            return self.result_windows.show(
                path, title=title or path.name, save_name=save_name, near=self.window()
            )
        except PdfNotReadable as exc:
            self._presenter.warn(str(exc))
            return None

    def print_summary(self) -> None:
        """Print a page about the order shown, through the print dialog."""
        if self._detail is None:
            return
        from PySide6.QtGui import QTextDocument
        from PySide6.QtPrintSupport import QPrinter

        detail = self._detail
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        patient = self._presenter.patient_file_label(detail.row) or detail.row.id
        # Printing to a file names the file after the document: a safe name.
        printer.setDocName(safe_file_stem(f"Order summary - {patient}"))
        document = QTextDocument()
        document.setHtml(
            order_summary_html(detail, self._timeline_lines, printed=datetime.now().astimezone())
        )
        document.setPageSize(printer.pageRect(QPrinter.Unit.Point).size())
        if self._ways_out.choose_printer(self, printer, document.pageCount()):
            document.print_(printer)

    async def show_requisition(self) -> ResultWindow | None:
        """Fetch the selected test's requisition from Rupa and show it in its own window
        (Print… and Save as… there); None when there is none to show (said so)."""
        test = self._selected_test()
        if self._detail is None or test is None or test.requisition is None:
            return None
        row = self._detail.row
        path = await self._presenter.requisition(row.id, test.id)
        if path is None or self._detail is None or self._detail.row.id != row.id:
            return None  # nothing came, or another order is shown by now
        if self.result_windows is not None:
            self.result_windows.file_changed(path)  # a fresh copy: shown if open already
        submitted = row.date_submitted
        return self.show_result(
            path,
            title=f"{row.patient_name or 'Unknown patient'} · {test.name or 'Lab test'} · "
            "Requisition",
            save_name=requisition_file_name(
                patient=self._presenter.patient_file_label(row),
                test=test.name,
                ordered=None if submitted is None else submitted.astimezone().date(),
            ),
        )

    async def print_requisition(self) -> None:
        """Show the selected test's requisition and ask for a printer (the print dialog)."""
        window = await self.show_requisition()
        if window is not None:
            window.viewer.print_document()

    async def save_requisition(self) -> None:
        """Show the selected test's requisition and ask where to save a copy."""
        window = await self.show_requisition()
        if window is not None:
            window.viewer.save_as()

    def _enable_requisition(self) -> None:
        test = self._selected_test()
        has = test is not None and test.requisition is not None
        self.requisition_button.setEnabled(has)
        self.requisition_button.setToolTip(
            "The form that goes with the sample: show, print or save it"
            if has
            else "Rupa makes the requisition once the order is paid"
        )

    def _reference(self) -> str | None:
        """Rupa's full reference of the order shown (for a message to Rupa's support)."""
        return None if self._detail is None else self._detail.row.id

    def _selected_test(self) -> StoredOrderedTest | None:
        if self._detail is None:
            return None
        item = self.tests.item(self.tests.currentRow(), 0)
        wanted = None if item is None else item.data(ID_ROLE)
        for test in self._detail.ordered_tests:
            if test.id == wanted:
                return test
        return None

    def _show_selected_values(self) -> None:
        test = self._selected_test()
        values = None if test is None else self._presenter.test_results(test.id)
        self.results.show_results(values, has_pdf=test is not None and test.has_results)
        if self._detail is not None:
            row = self._detail.row
            self.results.set_order(
                row.patient_name or "Unknown patient",
                f"Submitted {when(row.date_submitted)} · {row.status}",
                self._presenter.order_results(self._detail),
            )

    def _show_selected(self) -> None:
        test = self._selected_test()
        if self._detail is None or test is None or test.results_file is None:
            return
        row = self._detail.row
        received = test.results_file_received or test.date_results_received
        test_name = test.name or "Results"
        self.show_result(
            test.results_file,
            title=f"{row.patient_name or 'Unknown patient'} · {test_name}",
            save_name=result_file_name(
                patient=self._presenter.patient_file_label(row),
                test=test.name,
                received=None if received is None else received.astimezone().date(),
            ),
        )

    # -- slots ---------------------------------------------------------------------------------

    def _on_presenter_detail_changed(self, detail: OrderDetail | None) -> None:
        self.show_detail(detail)

    def _on_presenter_result_ready(self, path: str) -> None:
        if self.result_windows is not None:
            self.result_windows.file_changed(Path(path))  # updated results: shown if open

    def _on_presenter_closing(self) -> None:
        if self.result_windows is not None:
            self.result_windows.close_all()

    def _on_result_windows_action_failed(self, message: str) -> None:
        self._presenter.warn(message)

    def _on_print_button_clicked(self) -> None:
        self.print_summary()

    @asyncSlot()
    async def _on_show_requisition_triggered(self) -> None:
        await self.show_requisition()

    @asyncSlot()
    async def _on_print_requisition_triggered(self) -> None:
        await self.print_requisition()

    @asyncSlot()
    async def _on_save_requisition_triggered(self) -> None:
        await self.save_requisition()

    @asyncSlot()
    async def _on_again_button_clicked(self) -> None:
        if self._ordering is not None and self._detail is not None:
            await self._ordering.order_again(self._detail.row.id)

    @asyncSlot()
    async def _on_refresh_button_clicked(self) -> None:
        await self._presenter.open_order(self._presenter.current)

    @asyncSlot()
    async def _on_download_button_clicked(self) -> None:
        await self._presenter.download_results(self._presenter.current or "")

    def _on_view_button_clicked(self) -> None:
        self._show_selected()

    def _on_tests_item_double_clicked(self, item: QTableWidgetItem) -> None:
        self._show_selected()

    def _on_tests_item_selection_changed(self) -> None:
        self._show_selected_values()
        self._enable_requisition()


class OrdersPage(QWidget):
    """The Orders pane (a view of `OrdersPresenter`).

    The table is a view of an `OrdersTableModel`: an update from the presenter changes only
    the rows of the orders it names (a status change repaints one row), and the whole list
    is read again (and changed by difference) only when it may have changed.

    Args:
        presenter: the pane's presenter.
        ways_out: the dialogs for saving, printing and opening outside.
        ordering: makes "Order again" drafts (None: not offered).
    """

    def __init__(
        self,
        presenter: OrdersPresenter,
        parent: QWidget | None = None,
        *,
        ways_out: WaysOut | None = None,
        ordering: Reordering | None = None,
        epic_filing: EpicFilingPresenter | None = None,
    ) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self._choices: dict[QComboBox, list[tuple[str, str]]] = {}
        self.setAccessibleName("Orders")

        self.search_box = SearchBox()
        self.search_box.setPlaceholderText("Search by patient or order id")
        self.search_box.setAccessibleName("Search orders")
        self.search_box.setMinimumWidth(160)  # the filters beside it give way instead
        self.whole_clinic = QCheckBox("Whole clinic")
        self.whole_clinic.setAccessibleName("Show the whole clinic's orders")
        self.status_filter = QComboBox()
        self.status_filter.setAccessibleName("Status filter")
        self.patient_filter = QComboBox()
        self.patient_filter.setAccessibleName("Patient filter")
        for box in (self.status_filter, self.patient_filter):
            box.setMinimumContentsLength(12)
            box.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setAccessibleName("Refresh the orders from Rupa")
        self.model = OrdersTableModel(self)
        self.table = QTableView()
        self.table.setAccessibleName("Orders")
        self.table.setModel(self.model)
        read_only_table(self.table, stretch=1)
        self.copy_reference_action = copy_action(
            self.table,
            COPY_REFERENCE,
            lambda: selected_key(self.table),
            tooltip=COPY_REFERENCE_TIP,
        )
        self.table.setItemDelegateForColumn(STATUS, ChipDelegate(chip_colors, self.table))
        header = self.table.horizontalHeader()
        for column in (0, 2, 3, 4):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.detail = OrderDetailView(
            presenter, ways_out=ways_out, ordering=ordering, epic_filing=epic_filing
        )

        filters = QHBoxLayout()
        filters.addWidget(self.search_box, 1)
        filters.addWidget(self.status_filter)
        filters.addWidget(self.patient_filter)
        filters.addWidget(self.whole_clinic)
        filters.addWidget(self.refresh_button)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 1)  # the detail holds no viewer: the list gets room too
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(splitter, 1)

        self.search_box.search_requested.connect(self._on_filter_changed)
        self.whole_clinic.toggled.connect(self._on_filter_changed)
        self.status_filter.currentIndexChanged.connect(self._on_filter_changed)
        self.patient_filter.currentIndexChanged.connect(self._on_filter_changed)
        self.refresh_button.clicked.connect(self._on_refresh_button_clicked)
        self.table.selectionModel().selectionChanged.connect(self._on_table_selection_changed)
        presenter.orders_changed.connect(self._on_presenter_orders_changed)
        self.refresh()

    def filters(self) -> OrderFilters:
        """The filters as set."""
        return OrderFilters(
            practitioner_id=None
            if self.whole_clinic.isChecked()
            else self._presenter.practitioner_id,
            status=self.status_filter.currentData() or None,
            patient_id=self.patient_filter.currentData() or None,
            text=self.search_box.text(),
        )

    def refresh(self) -> None:
        """Show the orders as they are in the database (rows changed by difference)."""
        self._fill_filter(
            self.status_filter, "All statuses", [(s, s) for s in self._presenter.statuses()]
        )
        self._fill_filter(self.patient_filter, "All patients", self._presenter.patients())
        self.model.set_rows(self._presenter.listing(self.filters()))
        self._keep_selection()

    def update_orders(self, order_ids: frozenset[str]) -> None:
        """Show these orders again: their rows are repainted, or leave the list when they no
        longer match the filters. An order that must move or appear rereads the list."""
        matching = {row.id: row for row in self._presenter.listing(self.filters(), order_ids)}
        for order_id in order_ids:
            row = matching.get(order_id)
            at = self.model.row_of(order_id)
            if row is None:
                self.model.take(order_id)
                continue
            if (
                at < 0
                or row.date_submitted is None
                or self.model.item(at).date_submitted != row.date_submitted
            ):
                self.refresh()  # it appears, or its place in the list changes
                return
            self.model.put(row)
        self._fill_filter(
            self.status_filter, "All statuses", [(s, s) for s in self._presenter.statuses()]
        )
        self._keep_selection()

    def row_of(self, order_id: str) -> int:
        """The list row of an order (-1 when not listed)."""
        return self.model.row_of(order_id)

    def cell(self, row: int, column: int) -> str:
        """The text of a cell of the list."""
        return str(self.model.index(row, column).data() or "")

    def _keep_selection(self) -> None:
        """Select the order shown in the detail (if it is listed), without reopening it."""
        current = self._presenter.current
        if selected_key(self.table) == current:
            return
        selection = self.table.selectionModel()
        selection.blockSignals(True)
        try:
            select_key(self.table, current)
        finally:
            selection.blockSignals(False)

    def _fill_filter(
        self, combo: QComboBox, everything: str, choices: list[tuple[str, str]]
    ) -> None:
        if self._choices.get(combo) == choices:
            return  # unchanged: keep the popup as it is
        self._choices[combo] = choices
        chosen = combo.currentData()
        combo.blockSignals(True)
        try:
            combo.clear()
            combo.addItem(everything, ALL)
            for value, label in choices:
                combo.addItem(label, value)
            index = combo.findData(chosen)
            combo.setCurrentIndex(max(index, 0))
        finally:
            combo.blockSignals(False)

    # -- slots ---------------------------------------------------------------------------------

    def _on_filter_changed(self) -> None:
        self.refresh()

    def _on_presenter_orders_changed(self, order_ids: frozenset[str] | None) -> None:
        if order_ids is None:
            self.refresh()
        else:
            self.update_orders(order_ids)

    @asyncSlot()
    async def _on_refresh_button_clicked(self) -> None:
        await self._presenter.refresh_all()

    def _on_table_selection_changed(
        self, selected: QItemSelection, deselected: QItemSelection
    ) -> None:
        self._open_selected()

    @asyncSlot()
    async def _open_selected(self) -> None:
        await self._presenter.open_order(selected_key(self.table))
