"""The Reports pane over a simulator clinic's history: charts with their numbers in tables,
a pipeline bar's orders, follow-ups with who and when, CSV, print and PDF, the sidebar count,
and a window that never waits for a report."""

from __future__ import annotations

import asyncio
import csv
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from rupa_desk.paths import AppPaths
from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.services.store import OrderFilters
from rupa_desk.settings import demo
from rupa_desk.ui.account_workspace import AccountContext, AccountWorkspace
from rupa_desk.ui.main_window import MainWindow
from rupa_desk.ui.messages import Message, MessageBridge
from rupa_desk.ui.pages.reports import ReportsPage
from rupa_desk.ui.presenters.connectivity import Connectivity
from rupa_desk.ui.presenters.session import Account
from rupa_desk.ui.tasks import BackgroundTasks
from rupa_desk.ui.window_state import WindowState
from tests.fixtures.orders_env import client_for
from tests.fixtures.qt import wait_until
from tests.fixtures.sandbox import SandboxFactory, small_config


@pytest.fixture
def history_sandbox(sandbox_factory: SandboxFactory) -> SandboxServer:
    return sandbox_factory(small_config(history_orders=600, rate_limit_per_s=1000, rate_burst=1000))


class Desk:
    def __init__(
        self, window: MainWindow, workspace: AccountWorkspace, bridge: MessageBridge
    ) -> None:
        self.window = window
        self.workspace = workspace
        self.bridge = bridge

    @property
    def page(self) -> ReportsPage:
        page = self.workspace.panes["reports"]
        assert isinstance(page, ReportsPage)
        return page


@asynccontextmanager
async def open_desk(
    qtbot: QtBot, history_sandbox: SandboxServer, app_paths: AppPaths
) -> AsyncIterator[Desk]:
    bridge = MessageBridge()
    window = MainWindow(bridge=bridge, window_state=WindowState(app_paths.config_dir))
    qtbot.addWidget(window)
    failures: list[str] = []
    tasks = BackgroundTasks(lambda name, exc: failures.append(f"{name}: {exc!r}"))
    async with client_for(history_sandbox.url, rate_per_second=1000, burst=1000) as client:
        context = AccountContext(
            Account("pra_reports"),
            demo(history_sandbox.url),
            app_paths,
            client,
            bridge,
            Connectivity(),
            window.status,
            tasks,
        )
        workspace = AccountWorkspace.open(context, window.pane_specs)
        try:
            await workspace.catalog.sync_now()
            window.install_panes(workspace.panes)
            window.show_workspace()
            window.show()
            yield Desk(window, workspace, bridge)
        finally:
            await workspace.close(remove_patient_data=False)
            window.remove_panes()
    assert failures == []


def _column(page: ReportsPage, key: str, column: int) -> list[str]:
    table = page.tables[key]
    return [table.item(r, column).text() for r in range(table.rowCount())]  # type: ignore[union-attr]


async def test_the_pane_downloads_the_history_and_shows_each_report_in_a_table(
    qtbot: QtBot, history_sandbox: SandboxServer, app_paths: AppPaths
) -> None:
    async with open_desk(qtbot, history_sandbox, app_paths) as desk:
        await _shows_each_report(desk)


async def _shows_each_report(desk: Desk) -> None:
    stalls: list[float] = []
    stop = False

    async def probe() -> None:  # how late a 5 ms timer fires while the pane opens
        while not stop:
            started = time.monotonic()
            await asyncio.sleep(0.005)
            stalls.append(time.monotonic() - started - 0.005)

    probing = asyncio.create_task(probe())
    desk.window.show_pane("reports")
    page = desk.page
    await wait_until(lambda: page.history_label.text().startswith("Order history as of"))
    await wait_until(lambda: page.tables["revenue"].rowCount() > 0)
    stop = True
    await probing
    assert max(stalls) < 0.5, "the reports are computed off the window's thread"

    snapshot = desk.workspace.store.order_history.cursor()
    assert snapshot.complete_through is not None
    presenter_snapshot = page._snapshot
    assert presenter_snapshot is not None
    assert _column(page, "pipeline", 0) == [r.status for r in presenter_snapshot.pipeline]
    assert _column(page, "pipeline", 1) == [str(r.orders) for r in presenter_snapshot.pipeline]
    assert _column(page, "turnaround", 0) == [r.lab_company for r in presenter_snapshot.turnaround]
    assert _column(page, "revenue", 0) == [r.month for r in presenter_snapshot.revenue]
    assert all(text.startswith("$") for text in _column(page, "revenue", 2))
    for key in ("pipeline", "late", "turnaround", "popularity", "revenue"):
        chart = page.charts[key].chart()
        assert chart is not None
        assert chart.series(), f"the {key} chart shows its figures"

    # a bar of the pipeline lists its orders
    first = presenter_snapshot.pipeline[0]
    series = page.charts["pipeline"].chart().series()[0]  # type: ignore[union-attr]
    series.clicked.emit(0, series.barSets()[0])  # type: ignore[attr-defined]
    assert page.pipeline_orders.rowCount() == first.orders
    assert page.pipeline_label.text() == f"{first.status}: {first.orders} open order(s)"

    # the patient detail shows her lab history from the same orders
    order = desk.workspace.store.orders.listing()[0]
    assert order.patient_id is not None
    patients = desk.workspace.panes["patients"]
    await desk.workspace.patients.show_detail(order.patient_id)
    history = patients.detail.history  # type: ignore[attr-defined]
    await wait_until(lambda: history.count() > 0)
    lines = [history.item(i).text() for i in range(history.count())]
    assert sum(1 for line in lines if " · Ordered: " in line) == len(
        desk.workspace.store.orders.listing(OrderFilters(patient_id=order.patient_id))
    )


async def test_marking_a_follow_up_notes_who_and_lowers_the_sidebar_count(
    qtbot: QtBot, history_sandbox: SandboxServer, app_paths: AppPaths
) -> None:
    async with open_desk(qtbot, history_sandbox, app_paths) as desk:
        await _follow_up(desk)


async def _follow_up(desk: Desk) -> None:
    desk.window.show_pane("reports")
    page = desk.page
    await wait_until(lambda: page.history_label.text().startswith("Order history as of"))
    await wait_until(lambda: page.tables["revenue"].rowCount() > 0)
    before = desk.workspace.attention()["reports"][0]
    assert before == page.tables["late"].rowCount()

    page.tabs.setCurrentIndex(1)
    assert not page.follow_up_button.isEnabled()
    page.tables["late"].selectRow(0)
    assert page.follow_up_button.isEnabled()
    followed = page.tables["late"].item(0, 0).data(Qt.ItemDataRole.UserRole)  # type: ignore[union-attr]
    await page.mark_selected_followed_up()
    await wait_until(lambda: "Signed in, " in _column(page, "late", 7)[0])  # who, and when
    assert page.tables["late"].item(0, 0).data(Qt.ItemDataRole.UserRole) == followed  # type: ignore[union-attr]
    assert desk.workspace.attention()["reports"][0] == before - 1


async def test_the_report_shown_goes_to_csv_print_and_pdf(
    qtbot: QtBot, history_sandbox: SandboxServer, app_paths: AppPaths, tmp_path: Path
) -> None:
    async with open_desk(qtbot, history_sandbox, app_paths) as desk:
        await _ways_out(desk, tmp_path)


async def _ways_out(desk: Desk, tmp_path: Path) -> None:
    desk.window.show_pane("reports")
    page = desk.page
    await wait_until(lambda: page.tables["revenue"].rowCount() > 0)
    page.tabs.setCurrentIndex(4)  # revenue
    asked: list[str] = []

    def choose(parent: QWidget, suggested: str) -> str:
        asked.append(suggested)
        return str(tmp_path / suggested)

    page._choose_csv_path = choose
    page._choose_pdf_path = choose
    path = page.export_csv()
    assert path is not None
    assert path.read_bytes().startswith("\ufeff".encode())  # spreadsheets read UTF-8 right
    rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0] == ["month", "orders", "total_cents"]
    assert len(rows) == 1 + page.tables["revenue"].rowCount()

    messages: list[Message] = []
    desk.bridge.message_shown.connect(messages.append)
    page._choose_csv_path = lambda parent, suggested: str(tmp_path / "no-such-folder" / "r.csv")
    assert page.export_csv() is None  # a folder that cannot take it: said, not a bug report
    told = [m.text for m in (*messages, *desk.bridge.queued()) if isinstance(m, Message)]
    assert told  # to the banner, or queued for it (this window never attached it)
    assert "could not be saved there" in told[-1]
    assert "Choose another folder" in told[-1]
    page._choose_csv_path = choose

    pdf = page.save_pdf()
    assert pdf is not None
    assert pdf.read_bytes().startswith(b"%PDF")

    printed = tmp_path / "printed.pdf"

    def to_file(parent: QWidget, printer: QPrinter, pages: int) -> bool:
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(str(printed))
        return True

    page._choose_printer = to_file
    assert page.print_report()
    assert printed.read_bytes().startswith(b"%PDF")
    assert asked[0].startswith("revenue-")
    assert asked[0].endswith(".csv")
