"""The practice reports' queries: aggregates over the orders, their tests and the catalog.

Each report is one SQL pass that groups in SQLite, so that it stays fast with tens of
thousands of orders; Python only finishes the small grouped result (percentiles from day
histograms, months from days, names from the catalog). The dates come as the Unix seconds
m014 keeps beside them (read from covering indexes; the reports over tests read only the
tests, on which m014 keeps what they need of their order), and local days from `OffsetSpans` as a
CASE over those seconds.

The start of a test's wait is when this PC saw the order reach Sample Received (a change it
saw, not its first sighting, which may be long after), or else when the order was paid
(m014's `received_seen_s`, and `start_s` on the tests).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
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
from rupa_desk.services.store.sync_state import from_iso

#: An order that is not finished: no completion or cancel date, no terminal status.
_OPEN: Final = (
    "o.date_completed IS NULL AND o.date_canceled IS NULL"
    " AND lower(trim(o.status)) NOT IN ('complete', 'canceled')"
)
_NOT_CANCELED: Final = "o.date_canceled IS NULL AND lower(trim(o.status)) != 'canceled'"
NO_LONGER_OFFERED: Final = "A test no longer offered"


def local_day_sql(seconds: str, spans: OffsetSpans) -> str:
    """SQL for the local day number of Unix `seconds` (an SQL expression; NULL stays NULL)."""
    if len(spans.offsets) == 1:
        return f"(({seconds} + {spans.offsets[0]}) / 86400)"
    cases = " ".join(
        f"WHEN {seconds} < {start} THEN {offset}"
        for start, offset in zip(spans.starts[1:], spans.offsets[:-1], strict=True)
    )
    return f"(({seconds} + CASE {cases} ELSE {spans.offsets[-1]} END) / 86400)"


class ReportQueries:
    """The reports over the `orders`, `ordered_tests` and `order_status_history` tables and
    the catalog's `lab_tests`."""

    def __init__(self, db: Database, *, before_catalog_read: Callable[[], None]) -> None:
        self._db = db
        self._before_catalog_read = before_catalog_read

    def _where(
        self,
        filters: ReportFilters,
        spans: OffsetSpans,
        *,
        seconds: str = "o.submitted_s",
        of_tests: bool = False,
    ) -> tuple[str, list[Any]]:
        """The conditions every report shares: the range of local days (on `seconds`), the
        practitioner, and the lab company: of a test among the order's (`o`), or of the test
        itself (`t`, when `of_tests`)."""
        conditions = [f"{seconds} >= ?", f"{seconds} < ?"]
        params: list[Any] = [
            spans.midnight(day_number(filters.start)),
            spans.midnight(day_number(filters.end) + 1),
        ]
        if filters.practitioner_id is not None:
            conditions.append("t.practitioner_id = ?" if of_tests else "o.practitioner_id = ?")
            params.append(filters.practitioner_id)
        if filters.lab_company_id is not None:
            tests = self._company_tests(filters.lab_company_id)
            marks = ",".join("?" * len(tests))
            conditions.append(
                f"t.lab_test_id IN ({marks})"
                if of_tests
                else "EXISTS (SELECT 1 FROM ordered_tests ft WHERE ft.order_id = o.id"
                f" AND ft.lab_test_id IN ({marks}))"
            )
            params += tests
        return " AND ".join(conditions), params

    def _company_tests(self, lab_company_id: str) -> list[str]:
        self._before_catalog_read()
        return [
            str(r[0])
            for r in self._db.execute(
                "SELECT id FROM lab_tests WHERE lab_company_id = ?", [lab_company_id]
            )
        ]

    def _catalog(self, lab_test_ids: Iterable[str]) -> dict[str, tuple[str, str, str, int | None]]:
        """(name, lab company id, lab company name, turnaround days) of catalog tests."""
        self._before_catalog_read()
        wanted = list(dict.fromkeys(lab_test_ids))
        found: dict[str, tuple[str, str, str, int | None]] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            for test_id, name, company_id, company, days in self._db.execute(
                "SELECT id, name, coalesce(lab_company_id, ''), lab_company_name,"
                f" turnaround_days FROM lab_tests WHERE id IN ({','.join('?' * len(chunk))})",
                chunk,
            ):
                found[str(test_id)] = (str(name), str(company_id), str(company), days)
        return found

    def patient_history(self, patient_id: str) -> tuple[list[Any], list[Any]]:
        """A patient's orders and results (see the module function)."""
        self._before_catalog_read()
        return patient_history(self._db, patient_id)

    def pipeline(self, filters: ReportFilters, spans: OffsetSpans) -> list[PipelineRow]:
        """Open orders by status, in lifecycle order (other statuses after, by name)."""
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
        where, params = self._where(filters, spans)
        rows = self._db.execute(
            f"SELECT o.id FROM orders o WHERE {_OPEN} AND o.status = ? AND {where}"
            " ORDER BY o.submitted_s DESC",
            [status, *params],
        ).fetchall()
        return [str(r[0]) for r in rows]

    def late(
        self, filters: ReportFilters, spans: OffsetSpans, today: date, unpaid_after_days: int
    ) -> list[FollowUpRow]:
        """Open orders late against their tests' advertised turnaround, and orders waiting
        for payment longer than `unpaid_after_days`; the latest first."""
        where, params = self._where(filters, spans)
        today_n = day_number(today)
        submitted = local_day_sql("o.submitted_s", spans)
        start = local_day_sql("coalesce(o.received_seen_s, o.paid_s)", spans)
        patient = "coalesce(p.first_name || ' ' || p.last_name, '')"
        # the open orders first (a small index), then their tests
        found = self._db.execute(
            f"WITH open AS MATERIALIZED (SELECT o.id, o.status, o.patient_id, {submitted} AS d,"
            f" {start} AS s FROM orders o WHERE {_OPEN} AND {where})"
            f" SELECT o.id, o.status, {patient}, o.d, o.s,"
            " group_concat(CASE WHEN t.results_s IS NULL AND t.results_pdf IS NULL"
            " THEN t.lab_test_id END, char(30)), group_concat(t.lab_test_id, char(30))"
            " FROM open o LEFT JOIN patients p ON p.id = o.patient_id"
            " LEFT JOIN ordered_tests t ON t.order_id = o.id GROUP BY o.id",
            params,
        ).fetchall()
        catalog = self._catalog(test for row in found for test in _ids(row[6]))
        rows = []
        for order_id, status, name, sub, begun, waiting, every in found:
            if begun is None:  # not paid yet
                reason, due = "unpaid", int(sub) + unpaid_after_days
                names = [catalog.get(t, (NO_LONGER_OFFERED,))[0] for t in _ids(every)]
            else:
                advertised = [catalog[t][3] for t in _ids(waiting) if t in catalog]
                days = [d for d in advertised if d is not None]
                if not days:
                    continue  # every result is in, or no turnaround to hold it to
                reason, due = "late", int(begun) + max(days)
                names = [catalog[t][0] for t in _ids(waiting) if t in catalog]
            if due >= today_n:
                continue
            rows.append(
                FollowUpRow(
                    order_id=str(order_id),
                    patient_name=str(name),
                    status=str(status),
                    reason=reason,
                    submitted=day_of(int(sub)),
                    due=day_of(due),
                    days_late=today_n - due,
                    tests=", ".join(names),
                )
            )
        rows.sort(key=lambda r: (-r.days_late, r.order_id))
        return rows

    def turnaround(self, filters: ReportFilters, spans: OffsetSpans) -> list[TurnaroundRow]:
        """Per lab company: local days from the start to each test's results (orders
        canceled left out; tests without results yet, as in partial results, too)."""
        where, params = self._where(filters, spans, seconds="t.submitted_s", of_tests=True)
        received = local_day_sql("t.results_s", spans)
        start = local_day_sql("t.start_s", spans)
        # grouped by test in the order of an index (no sorting), each test's days as a
        # JSON array: far cheaper than grouping by test and day in SQL
        found = self._db.execute(
            f"SELECT t.lab_test_id, json_group_array({received} - {start})"
            " FROM ordered_tests t WHERE t.canceled = 0 AND t.results_s IS NOT NULL"
            f" AND t.start_s IS NOT NULL AND {where} GROUP BY t.lab_test_id",
            params,
        ).fetchall()
        rows = [
            (test_id, days, count)
            for test_id, days_json in found
            for days, count in Counter(json.loads(days_json)).items()
        ]
        catalog = self._catalog(str(r[0]) for r in rows)
        names: dict[str, str] = {}
        taken: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        advertised: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for test_id, days, count in rows:
            known = catalog.get(str(test_id))
            if known is None or days is None or int(days) < 0:
                continue  # no lab company known, or results dated before the start
            _, company_id, company, promised = known
            if filters.lab_company_id is not None and company_id != filters.lab_company_id:
                continue
            names[company_id] = company
            taken[company_id][int(days)] += int(count)
            if promised is not None:
                advertised[company_id][int(promised)] += int(count)
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
        where, params = self._where(filters, spans, seconds="t.submitted_s", of_tests=True)
        rows = self._db.execute(
            "SELECT t.lab_test_id, count(*) FROM ordered_tests t"
            f" WHERE t.canceled = 0 AND {where} GROUP BY t.lab_test_id",
            params,
        ).fetchall()
        catalog = self._catalog(str(r[0]) for r in rows)
        found = []
        for test_id, count in rows:
            name, company_id, company, _ = catalog.get(
                str(test_id), (NO_LONGER_OFFERED, "", "", None)
            )
            if filters.lab_company_id is None or company_id == filters.lab_company_id:
                found.append(PopularityRow(name, company, int(count)))
        found.sort(key=lambda r: (-r.orders, r.lab_test, r.lab_company))
        return found[:limit]

    def revenue(self, filters: ReportFilters, spans: OffsetSpans) -> list[RevenueRow]:
        """Order totals by the local month they were paid in (canceled orders left out)."""
        where, params = self._where(filters, spans, seconds="o.paid_s")
        paid = local_day_sql("o.paid_s", spans)
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


def patient_history(db: Database, patient_id: str) -> tuple[list[Any], list[Any]]:
    """A patient's orders (id, test names, submitted, paid, completed, canceled) and the
    results of their tests (order id, test name, received), for `core.reports.lab_history`.
    The catalog must be attached (its test names)."""
    name = f"coalesce(c.name, '{NO_LONGER_OFFERED}')"
    orders = [
        (str(r[0]), str(r[1] or ""), *(from_iso(t) for t in r[2:]))
        for r in db.execute(
            f"SELECT o.id, group_concat({name}, ', '), o.date_submitted, o.date_paid,"
            " o.date_completed, o.date_canceled FROM orders o"
            " LEFT JOIN ordered_tests t ON t.order_id = o.id"
            " LEFT JOIN lab_tests c ON c.id = t.lab_test_id"
            " WHERE o.patient_id = ? GROUP BY o.id",
            [patient_id],
        )
    ]
    results = [
        (str(r[0]), str(r[1]), from_iso(r[2]))
        for r in db.execute(
            f"SELECT o.id, {name}, t.date_results_received FROM orders o"
            " JOIN ordered_tests t ON t.order_id = o.id"
            " LEFT JOIN lab_tests c ON c.id = t.lab_test_id"
            " WHERE o.patient_id = ? AND t.date_results_received IS NOT NULL",
            [patient_id],
        )
    ]
    return orders, results


def _ids(joined: str | None) -> list[str]:
    """The ids `group_concat(…, char(30))` joined (a record separator: in no id)."""
    return [part for part in (joined or "").split("\x1e") if part]
