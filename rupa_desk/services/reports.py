"""The practice reports: one code path for the Reports pane and `rupa-desk report`.

`PracticeReports` computes each report over the local database (the order history the
download keeps, and the catalog), so reports work offline and the pane and the command line
show the same numbers. Days are the clinic's local days (this computer's time zone unless
told otherwise); money is cents.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Final

from rupa_desk.core.reports import (
    REPORTS,
    UNPAID_AFTER_DAYS,
    FollowUpRow,
    HistoryEvent,
    OffsetSpans,
    PipelineRow,
    PopularityRow,
    ReportFilters,
    RevenueRow,
    Row,
    TurnaroundRow,
    csv_text,
    lab_history,
    offset_spans,
    row_type_of,
)
from rupa_desk.services.store import Store
from rupa_desk.services.store.order_history import FollowUp
from rupa_desk.services.store.sync_state import utc_now

#: The follow-up count on the sidebar looks this far back.
FOLLOW_UP_DAYS: Final = 730
#: Results may come this long after a report's range (the offsets cover it).
RESULTS_REACH: Final = timedelta(days=400)
POPULAR_TESTS: Final = 25


class PracticeReports:
    """The reports over one account's database.

    Args:
        store: the account's database.
        zone: the clinic's time zone (None: this computer's).
        clock: the wall clock (for "today" and "how late").
        unpaid_after_days: an order waiting for payment longer than this needs a follow-up.
    """

    def __init__(
        self,
        store: Store,
        *,
        zone: tzinfo | None = None,
        clock: Callable[[], datetime] = utc_now,
        unpaid_after_days: int = UNPAID_AFTER_DAYS,
    ) -> None:
        self._store = store
        self._zone = zone
        self._clock = clock
        self.unpaid_after_days = unpaid_after_days

    def today(self) -> date:
        """The clinic's date now."""
        return self._clock().astimezone(self._zone).date()

    def pipeline(self, filters: ReportFilters) -> list[PipelineRow]:
        """Open orders by status."""
        return self._store.reports.pipeline(filters, self._spans(filters))

    def pipeline_orders(self, filters: ReportFilters, status: str) -> list[str]:
        """The open orders in one status (a bar of the pipeline)."""
        return self._store.reports.pipeline_orders(filters, self._spans(filters), status)

    def late(self, filters: ReportFilters) -> list[FollowUpRow]:
        """Orders that need a follow-up, with the follow-ups noted on this PC."""
        rows = self._store.reports.late(
            filters, self._spans(filters), self.today(), self.unpaid_after_days
        )
        follow_ups = self._store.order_history.follow_ups()
        return [_with_follow_up(row, follow_ups.get(row.order_id)) for row in rows]

    def turnaround(self, filters: ReportFilters) -> list[TurnaroundRow]:
        """Days to results per lab company against what it advertises."""
        return self._store.reports.turnaround(filters, self._spans(filters))

    def popularity(self, filters: ReportFilters, limit: int = POPULAR_TESTS) -> list[PopularityRow]:
        """The tests ordered most often."""
        return self._store.reports.popularity(filters, self._spans(filters), limit)

    def revenue(self, filters: ReportFilters) -> list[RevenueRow]:
        """Order totals by month paid (cents)."""
        return self._store.reports.revenue(filters, self._spans(filters))

    def run(self, report: str, filters: ReportFilters) -> Sequence[Row]:
        """A report by its name (`core.reports.REPORTS`)."""
        if report not in REPORTS:
            raise KeyError(report)
        compute: Callable[[ReportFilters], Sequence[Row]] = getattr(self, report)
        return compute(filters)

    def csv(self, report: str, filters: ReportFilters) -> str:
        """A report as CSV text (UTF-8 when written; a header, ISO dates)."""
        return csv_text(self.run(report, filters), row_type_of(report))

    def follow_up_count(self) -> int:
        """Orders that need a follow-up and have none noted yet (the sidebar's count)."""
        today = self.today()
        filters = ReportFilters(today - timedelta(days=FOLLOW_UP_DAYS), today)
        return sum(1 for row in self.late(filters) if row.followed_up_at is None)

    def patient_history(self, patient_id: str) -> list[HistoryEvent]:
        """A patient's lab history on this computer, newest first (orders and results)."""
        orders, results = self._store.reports.patient_history(patient_id)
        return lab_history(orders, results, self._zone)

    def mark_followed_up(self, order_id: str, by: str) -> FollowUp:
        """Note that `by` followed up an order now."""
        return self._store.order_history.mark_followed_up(order_id, by)

    def _spans(self, filters: ReportFilters) -> OffsetSpans:
        last = max(filters.end, self.today())
        return _spans(self._zone, filters.start, last)


@functools.lru_cache(maxsize=32)
def _spans(zone: tzinfo | None, first: date, last: date) -> OffsetSpans:
    start = datetime(first.year, first.month, first.day, tzinfo=UTC) - timedelta(days=2)
    end = datetime(last.year, last.month, last.day, tzinfo=UTC) + RESULTS_REACH
    return offset_spans(zone, start, end)


def _with_follow_up(row: FollowUpRow, follow_up: FollowUp | None) -> FollowUpRow:
    if follow_up is None:
        return row
    return replace(row, followed_up_by=follow_up.by, followed_up_at=follow_up.at)
