"""The Reports pane's coroutines: compute the reports, download the order history, follow-ups.

The reports are computed by `PracticeReports` (the same code as `rupa-desk report`) on a
worker thread, over a read-only connection of its own to the account's database (WAL lets it
read while the UI's connection writes), so that the window never waits for them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from rupa_desk.core.reports import (
    FollowUpRow,
    PipelineRow,
    PopularityRow,
    ReportFilters,
    RevenueRow,
    TurnaroundRow,
    default_range,
)
from rupa_desk.services.errors import RupaError
from rupa_desk.services.order_history import HistorySource, download_on_own_connection
from rupa_desk.services.reports import PracticeReports
from rupa_desk.services.store import OrderRow, Store, StoreError, connect
from rupa_desk.services.store.sync_state import utc_now
from rupa_desk.ui.messages import MessageBridge
from rupa_desk.ui.tasks import BackgroundTasks

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReportsSnapshot:
    """Every report for one set of filters, and the sidebar's follow-up count."""

    filters: ReportFilters
    pipeline: list[PipelineRow]
    late: list[FollowUpRow]
    turnaround: list[TurnaroundRow]
    popularity: list[PopularityRow]
    revenue: list[RevenueRow]
    follow_up_count: int


def compute(
    database: Path, filters: ReportFilters, zone: tzinfo | None, clock: Callable[[], datetime]
) -> ReportsSnapshot:
    """Every report, on a connection of its own (run it on a worker thread) that only reads:
    no migration, so it takes no lock a write of the window's connection would wait for."""
    with Store(connect(database), database) as store:
        reports = PracticeReports(store, zone=zone, clock=clock)
        return ReportsSnapshot(
            filters=filters,
            pipeline=reports.pipeline(filters),
            late=reports.late(filters),
            turnaround=reports.turnaround(filters),
            popularity=reports.popularity(filters),
            revenue=reports.revenue(filters),
            follow_up_count=reports.follow_up_count(),
        )


class ReportsPresenter(QObject):
    """What the Reports pane shows and does.

    Signals:
        changed(ReportsSnapshot): new figures.
        history_changed(str): how far the order history download is, in words.

    Args:
        store: the account's database (the UI thread's connection).
        client: the Rupa API (for the order history).
        bridge: messages to the user.
        tasks: the account's background tasks (the history download runs there).
        user: who is signed in, by name (noted on follow-ups).
        user_id: who is signed in (the "my orders" filter).
        zone: the clinic's time zone (None: this computer's).
        clock: the wall clock.
    """

    changed = Signal(object)
    history_changed = Signal(str)

    def __init__(
        self,
        store: Store,
        client: HistorySource,
        bridge: MessageBridge,
        tasks: BackgroundTasks,
        *,
        user: str,
        user_id: str,
        zone: tzinfo | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__()
        if store.path is None:
            raise ValueError("the reports read the database from a worker thread: a file")
        self._store = store
        self._database = store.path
        self._client = client
        self._bridge = bridge
        self._tasks = tasks
        self._zone = zone
        self._clock = clock
        self.user = user
        self.user_id = user_id
        self.reports = PracticeReports(store, zone=zone, clock=clock)
        start, end = default_range(self.reports.today())
        self.filters = ReportFilters(start, end)
        self.snapshot: ReportsSnapshot | None = None

    def tell_problem(self, text: str) -> None:
        """Say that something the user asked for (saving a report) could not be done."""
        self._bridge.warning(text)

    def today(self) -> date:
        return self.reports.today()

    def start(self) -> None:
        """Show the reports of what this computer has, then bring the history up to date
        (in the background: both end with the account)."""
        self._tasks.spawn(self.refresh(), name="reports")
        self._tasks.spawn(self.download_history(), name="order-history")

    async def refresh(self, filters: ReportFilters | None = None) -> ReportsSnapshot:
        """Compute every report for `filters` (the last ones when None) off the UI thread."""
        if filters is not None:
            self.filters = filters
        wanted = self.filters
        snapshot = await asyncio.to_thread(compute, self._database, wanted, self._zone, self._clock)
        if wanted == self.filters:  # a newer request has not replaced it meanwhile
            self.snapshot = snapshot
            self.changed.emit(snapshot)
        return snapshot

    async def download_history(self) -> None:
        """Bring the order history up to date, then compute the reports again."""
        self.history_changed.emit("Downloading the order history…")

        def progress(done: object) -> None:
            orders = getattr(done, "orders", 0)
            self.history_changed.emit(f"Downloading the order history… {orders:,} orders so far")

        try:
            await download_on_own_connection(self._client, self._database, on_progress=progress)
        except (RupaError, StoreError) as exc:
            log.info("the order history download stopped: %s", type(exc).__name__)
            self.history_changed.emit(
                "The order history could not be brought up to date; the reports show what"
                " this computer has. It goes on from there next time."
            )
            return
        self.history_changed.emit(self.history_status())
        await self.refresh()

    def history_status(self) -> str:
        """Where the order history stands, in words."""
        cursor = self._store.order_history.cursor()
        if cursor.in_progress:
            return "The order history is partly downloaded; it goes on from there next time."
        if cursor.completed_at is None:
            return "The order history has not been downloaded yet."
        at = cursor.completed_at.astimezone(self._zone)
        return f"Order history as of {at:%b %d, %Y %H:%M}."

    async def mark_followed_up(self, order_id: str) -> None:
        """Note that the signed-in user followed up an order, and show it."""
        self.reports.mark_followed_up(order_id, self.user)
        await self.refresh()

    def pipeline_orders(self, status: str) -> list[str]:
        """The open orders in one status, for the current filters."""
        return self.reports.pipeline_orders(self.filters, status)

    def order_rows(self, order_ids: list[str]) -> list[OrderRow]:
        """The orders list's rows of some orders (the pipeline's bar), newest first."""
        return self._store.orders.listing(ids=order_ids)

    def lab_companies(self) -> list[tuple[str, str]]:
        """(id, name) of the catalog's lab companies, for the filter."""
        return [(c.id, c.name) for c in self._store.catalog.companies()]
