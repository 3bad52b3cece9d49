"""The Reports pane: the lab pipeline, orders that need a follow-up, turnaround by lab,
popular tests and revenue, for a range of dates, as charts with their numbers in tables.

Each tab has a chart (QtCharts, in the light or dark palette of the app) above a table of the
same figures. A bar of the pipeline lists its orders. The follow-up tab marks an order as
followed up (who and when are kept on this computer). The tab shown can be exported to CSV,
printed, or saved as a PDF, through the system's dialogs.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QChart,
    QChartView,
    QHorizontalBarSeries,
    QValueAxis,
)
from PySide6.QtCore import QBuffer, QByteArray, QDate, QIODevice, QMargins, Qt, Signal
from PySide6.QtGui import QPainter, QShowEvent, QTextDocument
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from rupa_desk.core.money import cents_to_price
from rupa_desk.core.reports import (
    FollowUpRow,
    PipelineRow,
    PopularityRow,
    ReportFilters,
    RevenueRow,
    TurnaroundRow,
    csv_text,
)
from rupa_desk.ui.formatting import money
from rupa_desk.ui.presenters.reports import ReportsPresenter, ReportsSnapshot
from rupa_desk.ui.theme import is_dark
from rupa_desk.ui.widgets import file_dialogs
from rupa_desk.ui.widgets.file_dialogs import ChoosePrinter, ChooseSavePath, save_csv

#: Bars a chart shows at most (the table has every row).
CHART_BARS = 12
#: (key, tab title, row type) of each report, in tab order.
TABS: tuple[tuple[str, str, type[Any]], ...] = (
    ("pipeline", "Pipeline now", PipelineRow),
    ("late", "Needs follow-up", FollowUpRow),
    ("turnaround", "Turnaround by lab", TurnaroundRow),
    ("popularity", "Popular tests", PopularityRow),
    ("revenue", "Revenue by month", RevenueRow),
)
#: Numbers line up on the right (combined once: combining Qt flags is slow in Python).
_NUMBER_ALIGNMENT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
#: Columns are sized by this many rows at most.
_SIZED_BY_ROWS = 60
FOLLOW_UP_HEADERS = ("Patient", "Status", "Why", "Submitted", "Due", "Days late", "Waiting for",
                     "Followed up")  # fmt: skip


def bar_chart(
    title: str,
    categories: Sequence[str],
    sets: Sequence[tuple[str, Sequence[float]]],
    *,
    horizontal: bool = False,
) -> tuple[QChart, QBarSeries | QHorizontalBarSeries]:
    """A bar chart in the app's light or dark palette."""
    chart = QChart()
    chart.setTheme(
        QChart.ChartTheme.ChartThemeDark if is_dark() else QChart.ChartTheme.ChartThemeLight
    )
    chart.setTitle(title)
    chart.setMargins(QMargins(4, 4, 4, 4))
    series: QBarSeries | QHorizontalBarSeries = (
        QHorizontalBarSeries() if horizontal else QBarSeries()
    )
    for name, values in sets:
        bar_set = QBarSet(name)
        bar_set.append([float(v) for v in values])
        series.append(bar_set)
    chart.addSeries(series)
    axis_categories = QBarCategoryAxis()
    axis_categories.append(list(categories))
    axis_values = QValueAxis()
    top = max((float(v) for _, values in sets for v in values), default=0.0)
    axis_values.setRange(0, max(1.0, top * 1.1))
    axis_values.setLabelFormat("%.0f")
    chart.addAxis(
        axis_categories, Qt.AlignmentFlag.AlignLeft if horizontal else Qt.AlignmentFlag.AlignBottom
    )
    chart.addAxis(
        axis_values, Qt.AlignmentFlag.AlignBottom if horizontal else Qt.AlignmentFlag.AlignLeft
    )
    series.attachAxis(axis_categories)
    series.attachAxis(axis_values)
    chart.legend().setVisible(len(sets) > 1)
    return chart, series


def _table(headers: Sequence[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(list(headers))
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    table.horizontalHeader().setStretchLastSection(True)
    table.horizontalHeader().setResizeContentsPrecision(_SIZED_BY_ROWS)
    return table


def _fill(table: QTableWidget, rows: Sequence[Sequence[str]], keys: Sequence[str] = ()) -> None:
    """Put `rows` in `table` (each row's key in its cells' user data), then size the columns
    once (sizing them as each cell arrives would measure every row again and again)."""
    table.setUpdatesEnabled(False)
    table.clearContents()
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            if keys:
                item.setData(Qt.ItemDataRole.UserRole, keys[r])
            if (c and text[:1].isdigit()) or text.startswith("$"):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(r, c, item)
    table.resizeColumnsToContents()
    table.setUpdatesEnabled(True)


def _to_date(value: QDate) -> date:
    return date(value.year(), value.month(), value.day())


def _cell(table: QTableWidget, row: int, column: int) -> str:
    item = table.item(row, column)
    return "" if item is None else item.text()


def _header(table: QTableWidget, column: int) -> str:
    item = table.horizontalHeaderItem(column)
    return "" if item is None else item.text()


def _days(value: float) -> str:
    return f"{value:g}"


def _day(value: date) -> str:
    return f"{value:%b %d, %Y}"


class ReportsPage(QWidget):
    """The Reports pane (see the module docstring).

    Signals:
        shown(): every report of the newest figures is on screen.

    Args:
        presenter: computes the reports, downloads the order history, keeps follow-ups.
        choose_csv_path, choose_pdf_path, choose_printer: the system's dialogs (tests pass
            their own).
    """

    shown = Signal()

    def __init__(
        self,
        presenter: ReportsPresenter,
        *,
        choose_csv_path: ChooseSavePath = file_dialogs.choose_save_path,
        choose_pdf_path: ChooseSavePath = file_dialogs.choose_save_path,
        choose_printer: ChoosePrinter = file_dialogs.choose_printer,
    ) -> None:
        super().__init__()
        self._presenter = presenter
        self._choose_csv_path = choose_csv_path
        self._choose_pdf_path = choose_pdf_path
        self._choose_printer = choose_printer
        self._started = False
        self._snapshot: ReportsSnapshot | None = None

        filters = presenter.filters
        self.start_edit = QDateEdit(
            QDate(filters.start.year, filters.start.month, filters.start.day)
        )
        self.end_edit = QDateEdit(QDate(filters.end.year, filters.end.month, filters.end.day))
        for edit in (self.start_edit, self.end_edit):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("MMM d, yyyy")
        self.whose = QComboBox()
        self.whose.addItem("Everyone's orders", None)
        self.whose.addItem("My orders", presenter.user_id)
        self.company = QComboBox()
        self.company.setAccessibleName("Lab company")
        self.show_button = QPushButton("Show")
        self.export_button = QPushButton("Export CSV…")
        self.print_button = QPushButton("Print…")
        self.pdf_button = QPushButton("Save as PDF…")
        self.company.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.company.setMinimumContentsLength(14)  # a long lab name does not widen the pane
        filters_row = QHBoxLayout()
        for widget in (QLabel("From"), self.start_edit, QLabel("to"), self.end_edit, self.whose,
                       self.company):  # fmt: skip
            filters_row.addWidget(widget)
        filters_row.addStretch(1)
        actions_row = QHBoxLayout()
        actions_row.addWidget(self.show_button)
        actions_row.addStretch(1)
        for button in (self.export_button, self.print_button, self.pdf_button):
            actions_row.addWidget(button)
        self.history_label = QLabel(presenter.history_status())
        self.history_label.setWordWrap(True)

        self.tabs = QTabWidget()
        self.charts: dict[str, QChartView] = {}
        self.tables: dict[str, QTableWidget] = {}
        headers = {
            "pipeline": ("Status", "Open orders"),
            "late": FOLLOW_UP_HEADERS,
            "turnaround": (
                "Lab company",
                "Tests",
                "Median days",
                "90% within (days)",
                "Advertised days",
            ),
            "popularity": ("Test", "Lab company", "Times ordered"),
            "revenue": ("Month", "Orders paid", "Total"),
        }
        for key, title, _ in TABS:
            view = QChartView()
            view.setRenderHint(QPainter.RenderHint.Antialiasing)
            view.setMinimumHeight(220)
            self.charts[key] = view
            self.tables[key] = _table(headers[key])
            splitter = QSplitter(Qt.Orientation.Vertical)
            splitter.addWidget(view)
            splitter.addWidget(self.tables[key])
            tab = QWidget()
            layout = QVBoxLayout(tab)
            layout.addWidget(splitter)
            if key == "pipeline":
                self.pipeline_label = QLabel("Click a bar to list its orders.")
                self.pipeline_orders = _table(("Patient", "Submitted", "Total"))
                splitter.addWidget(self.pipeline_label)
                splitter.addWidget(self.pipeline_orders)
            if key == "late":
                self.follow_up_button = QPushButton("Mark followed up")
                self.follow_up_button.setEnabled(False)
                row = QHBoxLayout()
                row.addStretch(1)
                row.addWidget(self.follow_up_button)
                layout.addLayout(row)
            self.tabs.addTab(tab, title)

        layout = QVBoxLayout(self)
        layout.addLayout(filters_row)
        layout.addLayout(actions_row)
        layout.addWidget(self.history_label)
        layout.addWidget(self.tabs, 1)

        self._fill_companies()
        presenter.changed.connect(self._on_presenter_changed)
        presenter.history_changed.connect(self.history_label.setText)
        self.show_button.clicked.connect(self._on_show_button_clicked)
        self.export_button.clicked.connect(self._on_export_button_clicked)
        self.print_button.clicked.connect(self._on_print_button_clicked)
        self.pdf_button.clicked.connect(self._on_pdf_button_clicked)
        self.follow_up_button.clicked.connect(self._on_follow_up_button_clicked)
        self.tables["late"].itemSelectionChanged.connect(self._on_late_selection_changed)

    # -- what the user does ------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._started:
            self._started = True
            self._presenter.start()

    def current_filters(self) -> ReportFilters:
        start = _to_date(self.start_edit.date())
        end = _to_date(self.end_edit.date())
        if end < start:
            start, end = end, start
        return ReportFilters(start, end, self.whose.currentData(), self.company.currentData())

    @asyncSlot()
    async def _on_show_button_clicked(self) -> None:
        await self._presenter.refresh(self.current_filters())

    @asyncSlot()
    async def _on_follow_up_button_clicked(self) -> None:
        await self.mark_selected_followed_up()

    async def mark_selected_followed_up(self) -> None:
        """Note the selected order of the follow-up list as followed up."""
        order_id = self._selected_late()
        if order_id is not None:
            await self._presenter.mark_followed_up(order_id)

    def _selected_late(self) -> str | None:
        items = self.tables["late"].selectedItems()
        return None if not items else str(items[0].data(Qt.ItemDataRole.UserRole))

    def _on_late_selection_changed(self) -> None:
        self.follow_up_button.setEnabled(self._selected_late() is not None)

    def current_report(self) -> str:
        return TABS[self.tabs.currentIndex()][0]

    def _on_export_button_clicked(self) -> None:
        self.export_csv()

    def export_csv(self) -> Path | None:
        """Save the report shown as CSV where the user chooses."""
        if self._snapshot is None:
            return None
        key = self.current_report()
        chosen = self._choose_csv_path(self, f"{key}-{self._snapshot.filters.end}.csv")
        if not chosen:
            return None
        path = Path(chosen)
        row_type = dict((k, t) for k, _, t in TABS)[key]
        problem = save_csv(path, csv_text(getattr(self._snapshot, key), row_type), "The report")
        if problem is not None:
            self._presenter.tell_problem(problem)
            return None
        return path

    def _on_print_button_clicked(self) -> None:
        self.print_report()

    def _on_pdf_button_clicked(self) -> None:
        self.save_pdf()

    def print_report(self) -> bool:
        """Print the report shown through the system's print dialog."""
        from PySide6.QtPrintSupport import QPrinter

        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        if not self._choose_printer(self, printer, 1):
            return False
        self._document().print_(printer)
        return True

    def save_pdf(self) -> Path | None:
        """Save the report shown as a PDF where the user chooses."""
        from PySide6.QtPrintSupport import QPrinter

        if self._snapshot is None:
            return None
        chosen = self._choose_pdf_path(
            self, f"{self.current_report()}-{self._snapshot.filters.end}.pdf"
        )
        if not chosen:
            return None
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(chosen)
        self._document().print_(printer)
        return Path(chosen)

    def _document(self) -> QTextDocument:
        """The report shown, as a document: its title, range, chart and table."""
        key = self.current_report()
        title = self.tabs.tabText(self.tabs.currentIndex())
        image = self.charts[key].grab()
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buffer, "PNG")
        table = self.tables[key]
        head = "".join(
            f"<th>{html.escape(_header(table, c))}</th>" for c in range(table.columnCount())
        )
        body = "".join(
            "<tr>"
            + "".join(
                f"<td>{html.escape(_cell(table, r, c))}</td>" for c in range(table.columnCount())
            )
            + "</tr>"
            for r in range(table.rowCount())
        )
        filters = self._snapshot.filters if self._snapshot else self.current_filters()
        document = QTextDocument()
        document.setHtml(
            f"<h2>{html.escape(title)}</h2><p>{_day(filters.start)} to {_day(filters.end)}</p>"
            f'<p><img src="data:image/png;base64,{bytes(data.toBase64().data()).decode()}"'
            ' width="600"></p>'
            f'<table border="1" cellspacing="0" cellpadding="3"><tr>{head}</tr>{body}</table>'
        )
        return document

    # -- what the presenter says --------------------------------------------------------------

    def _fill_companies(self) -> None:
        self.company.clear()
        self.company.addItem("Every lab company", None)
        for company_id, name in self._presenter.lab_companies():
            self.company.addItem(name, company_id)

    @asyncSlot(object)
    async def _on_presenter_changed(self, snapshot: ReportsSnapshot) -> None:
        await self.show_snapshot(snapshot)

    async def show_snapshot(self, snapshot: ReportsSnapshot) -> None:
        """Show every report of `snapshot`, one after the other, letting the window breathe
        in between (a newer snapshot stops an older one)."""
        self._snapshot = snapshot
        for show in (
            self._show_pipeline,
            self._show_late,
            self._show_turnaround,
            self._show_popularity,
            self._show_revenue,
        ):
            show(snapshot)
            await asyncio.sleep(0)
            if not shiboken6.isValid(self) or self._snapshot is not snapshot:
                return  # the pane is gone (signed out), or newer figures came
        self.shown.emit()

    def _show_pipeline(self, snapshot: ReportsSnapshot) -> None:
        pipeline = snapshot.pipeline
        chart, series = bar_chart(
            "Open orders by status",
            [r.status for r in pipeline],
            [("Orders", [r.orders for r in pipeline])],
        )
        series.clicked.connect(self._on_pipeline_series_clicked)
        self._set_chart("pipeline", chart)
        _fill(self.tables["pipeline"], [(r.status, str(r.orders)) for r in pipeline])

    def _show_late(self, snapshot: ReportsSnapshot) -> None:
        late = snapshot.late
        reasons = {"late": "Results late", "unpaid": "Not paid yet"}
        _fill(
            self.tables["late"],
            [
                (
                    r.patient_name or "Patient not on this computer",
                    r.status,
                    reasons[r.reason],
                    _day(r.submitted),
                    _day(r.due),
                    str(r.days_late),
                    r.tests,
                    ""
                    if r.followed_up_at is None
                    else f"{r.followed_up_by}, {r.followed_up_at.astimezone():%b %d %H:%M}",
                )
                for r in late
            ],
            [r.order_id for r in late],
        )
        counts = {reason: sum(1 for r in late if r.reason == reason) for reason in reasons}
        chart, _ = bar_chart(
            "Orders that need a follow-up",
            [reasons[k] for k in reasons],
            [("Orders", [counts[k] for k in reasons])],
        )
        self._set_chart("late", chart)

    def _show_turnaround(self, snapshot: ReportsSnapshot) -> None:
        turnaround = snapshot.turnaround[:CHART_BARS]
        chart, _ = bar_chart(
            "Days to results by lab company",
            [r.lab_company for r in turnaround],
            [
                ("Median", [r.median_days for r in turnaround]),
                ("90% within", [r.p90_days for r in turnaround]),
                ("Advertised", [r.advertised_days for r in turnaround]),
            ],
            horizontal=True,
        )
        self._set_chart("turnaround", chart)
        _fill(
            self.tables["turnaround"],
            [
                (
                    r.lab_company,
                    str(r.tests),
                    _days(r.median_days),
                    str(r.p90_days),
                    _days(r.advertised_days),
                )
                for r in snapshot.turnaround
            ],
        )

    def _show_popularity(self, snapshot: ReportsSnapshot) -> None:
        popular = snapshot.popularity[:CHART_BARS]
        chart, _ = bar_chart(
            "Tests ordered most often",
            [r.lab_test for r in reversed(popular)],
            [("Times ordered", [r.orders for r in reversed(popular)])],
            horizontal=True,
        )
        self._set_chart("popularity", chart)
        _fill(
            self.tables["popularity"],
            [(r.lab_test, r.lab_company, str(r.orders)) for r in snapshot.popularity],
        )

    def _show_revenue(self, snapshot: ReportsSnapshot) -> None:
        revenue = snapshot.revenue
        chart, _ = bar_chart(
            "Order totals paid by month (dollars)",
            [r.month for r in revenue],
            [("Total", [r.total_cents / 100 for r in revenue])],
        )
        self._set_chart("revenue", chart)
        _fill(
            self.tables["revenue"],
            [(r.month, str(r.orders), money(cents_to_price(r.total_cents))) for r in revenue],
        )

    def _set_chart(self, key: str, chart: QChart) -> None:
        view = self.charts[key]
        old = view.chart()
        view.setChart(chart)
        if old is not None:
            old.deleteLater()

    def _on_pipeline_series_clicked(self, index: int, _bar_set: QBarSet) -> None:
        if self._snapshot is None or not 0 <= index < len(self._snapshot.pipeline):
            return
        self.show_pipeline_orders(self._snapshot.pipeline[index].status)

    def show_pipeline_orders(self, status: str) -> None:
        """List the open orders in `status` under the pipeline chart."""
        rows = self._presenter.order_rows(self._presenter.pipeline_orders(status))
        self.pipeline_label.setText(f"{status}: {len(rows)} open order(s)")
        _fill(
            self.pipeline_orders,
            [
                (
                    r.patient_name or "Patient not on this computer",
                    "" if r.date_submitted is None else _day(r.date_submitted.astimezone().date()),
                    money(r.total_price),
                )
                for r in rows
            ],
            [r.id for r in rows],
        )
