"""The practice reports' queries: aggregates over the orders, their tests and the catalog.

Each report is one SQL pass that groups in SQLite, so that it stays fast with tens of
thousands of orders; Python only finishes the small grouped result (percentiles from day
histograms, months from days). Local days come from `OffsetSpans` as a CASE over Unix
seconds (`unixepoch` reads Rupa's ISO timestamps with their offsets).

The start of a test's wait is when this PC saw the order reach Sample Received (a change it
saw, not its first sighting, which may be long after), or else when the order was paid.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date
from typing import Any, Final

from sqlite_utils import Database

from rupa_desk.core.reports import (
    FollowUpRow,
    OffsetSpans,
    PipelineRow,
    PopularityRow,
    ReportFilters,
    RevenueRow,
    TurnaroundRow,
    day_number,
    day_of,
    median,
    percentile,
)
from rupa_desk.core.status import LIFECYCLE, is_terminal_status

SAMPLE_RECEIVED: Final = "Sample Received"
PENDING_PAYMENT: Final = "Pending Payment"
#: An order that is not finished: no terminal status (any case), no completion or cancel date.
_OPEN: Final = (
    "o.date_completed IS NULL AND o.date_canceled IS NULL"
    " AND lower(trim(o.status)) NOT IN ('complete', 'canceled')"
)
_NOT_CANCELED: Final = "o.date_canceled IS NULL AND lower(trim(o.status)) != 'canceled'"
#: When this PC saw each order reach Sample Received (changes only, not first sightings).
_SEEN_RECEIVED: Final = (
    "seen AS (SELECT h.order_id, min(h.observed_at) AS at FROM order_status_history h"
    " WHERE h.status = 'Sample Received' AND h.id > (SELECT min(f.id)"
    " FROM order_status_history f WHERE f.order_id = h.order_id) GROUP BY h.order_id)"
)


def local_day_sql(expression: str, spans: OffsetSpans) -> str:
    """SQL for the local day number of an ISO timestamp `expression` (NULL stays NULL)."""
    epoch = f"unixepoch({expression})"
    if len(spans.offsets) == 1:
        return f"(({epoch} + {spans.offsets[0]}) / 86400)"
    cases = " ".join(
        f"WHEN {epoch} < {start} THEN {offset}"
        for start, offset in zip(spans.starts[1:], spans.offsets[:-1], strict=True)
    )
    return f"(({epoch} + CASE {cases} ELSE {spans.offsets[-1]} END) / 86400)"


class ReportQueries:
    """The reports over the `orders`, `ordered_tests`, `order_status_history` and
    `order_follow_ups` tables and the catalog's `lab_tests`."""

    def __init__(self, db: Database, *, before_catalog_read: Callable[[], None]) -> None:
        self._db = db
        self._before_catalog_read = before_catalog_read

    def _where(
        self,
        filters: ReportFilters,
        spans: OffsetSpans,
        *,
        column: str = "o.date_submitted",
        company_of_tests: bool = False,
    ) -> tuple[str, list[Any]]:
        """The conditions every report shares: the range (on `column`), the practitioner,
        the lab company (of one of the order's tests, or of the joined test `c`)."""
        day = local_day_sql(column, spans)
        # the text range first (an index), then the exact local days
        low = day_of(day_number(filters.start) - 2).isoformat()
        high = day_of(day_number(filters.end) + 2).isoformat()
        conditions = [f"{column} >= ?", f"{column} < ?", f"{day} BETWEEN ? AND ?"]
        params: list[Any] = [low, high, day_number(filters.start), day_number(filters.end)]
        if filters.practitioner_id is not None:
            conditions.append("o.practitioner_id = ?")
            params.append(filters.practitioner_id)
        if filters.lab_company_id is not None:
            if company_of_tests:
                conditions.append("c.lab_company_id = ?")
            else:
                conditions.append(
                    "EXISTS (SELECT 1 FROM ordered_tests ft JOIN lab_tests fc"
                    " ON fc.id = ft.lab_test_id WHERE ft.order_id = o.id"
                    " AND fc.lab_company_id = ?)"
                )
            params.append(filters.lab_company_id)
        return " AND ".join(conditions), params

    def pipeline(self, filters: ReportFilters, spans: OffsetSpans) -> list[PipelineRow]:
        """Open orders by status, in lifecycle order (other statuses after, by name)."""
        self._before_catalog_read()
        where, params = self._where(filters, spans)
        rows = self._db.execute(
            f"SELECT o.status, count(*) FROM orders o WHERE {_OPEN} AND {where} GROUP BY o.status",
            params,
        ).fetchall()
        found = [PipelineRow(str(s), int(n)) for s, n in rows if not is_terminal_status(str(s))]
        rank = {status: index for index, status in enumerate(LIFECYCLE)}
        return sorted(found, key=lambda r: (rank.get(r.status, len(rank)), r.status))

    def pipeline_orders(self, filters: ReportFilters, spans: OffsetSpans, status: str) -> list[str]:
        """The ids of the open orders in one status (a bar of the pipeline), newest first."""
        self._before_catalog_read()
        where, params = self._where(filters, spans)
        rows = self._db.execute(
            f"SELECT o.id FROM orders o WHERE {_OPEN} AND o.status = ? AND {where}"
            " ORDER BY o.date_submitted DESC",
            [status, *params],
        ).fetchall()
        return [str(r[0]) for r in rows]

    def late(
        self, filters: ReportFilters, spans: OffsetSpans, today: date, unpaid_after_days: int
    ) -> list[FollowUpRow]:
        """Open orders late against their tests' advertised turnaround, and orders waiting
        for payment longer than `unpaid_after_days`; the latest first."""
        self._before_catalog_read()
        where, params = self._where(filters, spans)
        today_n = day_number(today)
        submitted = local_day_sql("o.date_submitted", spans)
        start = local_day_sql("coalesce(seen.at, o.date_paid)", spans)
        patient = "coalesce(p.first_name || ' ' || p.last_name, '')"
        late = self._db.execute(
            f"WITH {_SEEN_RECEIVED}"
            f" SELECT o.id, o.status, {patient}, {submitted},"
            f" {start} + max(c.turnaround_days) AS due, group_concat(c.name, ', ')"
            " FROM orders o LEFT JOIN seen ON seen.order_id = o.id"
            " LEFT JOIN patients p ON p.id = o.patient_id"
            " JOIN ordered_tests t ON t.order_id = o.id"
            " AND t.date_results_received IS NULL AND t.results_pdf IS NULL"
            " JOIN lab_tests c ON c.id = t.lab_test_id AND c.turnaround_days IS NOT NULL"
            f" WHERE {_OPEN} AND o.date_paid IS NOT NULL AND {where}"
            " GROUP BY o.id HAVING due < ?",
            [*params, today_n],
        ).fetchall()
        unpaid = self._db.execute(
            f"SELECT o.id, o.status, {patient}, {submitted} AS sub,"
            f" {submitted} + ? AS due, coalesce(group_concat(c.name, ', '), '')"
            " FROM orders o LEFT JOIN patients p ON p.id = o.patient_id"
            " LEFT JOIN ordered_tests t ON t.order_id = o.id"
            " LEFT JOIN lab_tests c ON c.id = t.lab_test_id"
            f" WHERE {_OPEN} AND o.date_paid IS NULL AND {where}"
            " GROUP BY o.id HAVING due < ?",
            [unpaid_after_days, *params, today_n],
        ).fetchall()
        rows = []
        for reason, found in (("late", late), ("unpaid", unpaid)):
            for order_id, status, name, sub, due, tests in found:
                rows.append(
                    FollowUpRow(
                        order_id=str(order_id),
                        patient_name=str(name),
                        status=str(status),
                        reason=reason,
                        submitted=day_of(int(sub)),
                        due=day_of(int(due)),
                        days_late=today_n - int(due),
                        tests=str(tests or ""),
                    )
                )
        rows.sort(key=lambda r: (-r.days_late, r.order_id))
        return rows

    def turnaround(self, filters: ReportFilters, spans: OffsetSpans) -> list[TurnaroundRow]:
        """Per lab company: local days from the start to each test's results (orders
        canceled left out; tests without results yet, as in partial results, too)."""
        self._before_catalog_read()
        where, params = self._where(filters, spans, company_of_tests=True)
        received = local_day_sql("t.date_results_received", spans)
        start = local_day_sql("coalesce(seen.at, o.date_paid)", spans)
        rows = self._db.execute(
            f"WITH {_SEEN_RECEIVED}"
            " SELECT c.lab_company_id, max(c.lab_company_name),"
            f" {received} - {start} AS days, c.turnaround_days, count(*)"
            " FROM orders o LEFT JOIN seen ON seen.order_id = o.id"
            " JOIN ordered_tests t ON t.order_id = o.id"
            " JOIN lab_tests c ON c.id = t.lab_test_id"
            f" WHERE {_NOT_CANCELED} AND t.date_results_received IS NOT NULL"
            f" AND coalesce(seen.at, o.date_paid) IS NOT NULL AND {where}"
            " GROUP BY c.lab_company_id, days, c.turnaround_days",
            params,
        ).fetchall()
        names: dict[str, str] = {}
        taken: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        advertised: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for company, name, days, promised, count in rows:
            if days is None or int(days) < 0:
                continue  # results dated before the start: not a turnaround
            key = str(company or "")
            names[key] = str(name or "")
            taken[key][int(days)] += int(count)
            if promised is not None:
                advertised[key][int(promised)] += int(count)
        report = [
            TurnaroundRow(
                lab_company=names[key],
                tests=sum(hist.values()),
                median_days=median(hist),
                p90_days=percentile(hist, 0.9),
                advertised_days=median(advertised[key]) if advertised[key] else 0.0,
            )
            for key, hist in taken.items()
        ]
        report.sort(key=lambda r: (-r.tests, r.lab_company))
        return report

    def popularity(
        self, filters: ReportFilters, spans: OffsetSpans, limit: int
    ) -> list[PopularityRow]:
        """The tests ordered most often (canceled orders left out), most first."""
        self._before_catalog_read()
        where, params = self._where(filters, spans, company_of_tests=True)
        rows = self._db.execute(
            "SELECT coalesce(c.name, ''), coalesce(c.lab_company_name, ''), count(*) AS n"
            " FROM orders o JOIN ordered_tests t ON t.order_id = o.id"
            " LEFT JOIN lab_tests c ON c.id = t.lab_test_id"
            f" WHERE {_NOT_CANCELED} AND {where}"
            " GROUP BY t.lab_test_id ORDER BY n DESC, 1, t.lab_test_id LIMIT ?",
            [*params, limit],
        ).fetchall()
        return [
            PopularityRow(str(name) or "A test no longer offered", str(company), int(n))
            for name, company, n in rows
        ]

    def revenue(self, filters: ReportFilters, spans: OffsetSpans) -> list[RevenueRow]:
        """Order totals by the local month they were paid in (canceled orders left out)."""
        self._before_catalog_read()
        where, params = self._where(filters, spans, column="o.date_paid")
        paid = local_day_sql("o.date_paid", spans)
        rows = self._db.execute(
            f"SELECT {paid} AS d, count(*), coalesce(sum(o.total_price_cents), 0)"
            f" FROM orders o WHERE {_NOT_CANCELED} AND {where} GROUP BY d",
            params,
        ).fetchall()
        months: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for day, count, cents in rows:
            month = day_of(int(day)).strftime("%Y-%m")
            months[month][0] += int(count)
            months[month][1] += int(cents)
        return [RevenueRow(m, n, cents) for m, (n, cents) in sorted(months.items())]
