"""The reports over the store: what only this PC saw (Sample Received), orders that change
after their tests were saved, and a database migrated with orders already in it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlite_utils import Database

from rupa_desk.core.models import LabCompany, LabTest, Order, OrderedTest
from rupa_desk.core.reports import ReportFilters
from rupa_desk.services.reports import PracticeReports
from rupa_desk.services.store import Store
from rupa_desk.services.store.migrations import MIGRATIONS
from rupa_desk.services.store.orders import Orders
from tests.fixtures.catalog_data import load_catalog

ZONE = ZoneInfo("America/New_York")
PAID = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # 10 am in New York
NOW = datetime(2026, 3, 20, 16, 0, tzinfo=UTC)
LAB = LabCompany("labco_0000001", "Great Plains Laboratory", "GPL")
TESTS = (
    LabTest("labts_0000001", "Organic Acids", Decimal("300"), LAB.id,
            estimated_days_for_results=10, lab_company=LAB),
    LabTest("labts_0000002", "Mycotoxins", Decimal("200"), LAB.id,
            estimated_days_for_results=5, lab_company=LAB),
)  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = PAID

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> Iterator[Store]:
    with Store.in_memory() as store:
        store.orders = Orders(store.db, clock=clock)
        load_catalog(store, [LAB], TESTS)
        yield store


def _order(status: str, *, results: dict[str, datetime] | None = None, **dates: datetime) -> Order:
    results = results or {}
    tests = tuple(
        OrderedTest(f"ordts_000000{i}", t.id, date_results_received_from_lab=results.get(t.id))
        for i, t in enumerate(TESTS, 1)
    )
    return Order(
        "ord_0000001",
        status,
        "pat_0000001",
        total_price=Decimal("500.00"),
        date_submitted=PAID - timedelta(hours=2),
        date_paid=PAID,
        patients_practitioner_id="pra_0000001",
        ordered_test_ids=tuple(t.id for t in tests),
        ordered_tests=tests,
        **dates,
    )


def _reports(store: Store) -> PracticeReports:
    return PracticeReports(store, zone=ZONE, clock=lambda: NOW)


FILTERS = ReportFilters(date(2026, 1, 1), date(2026, 3, 20))


def test_a_late_order_counts_from_the_sample_received_this_pc_saw(
    store: Store, clock: Clock
) -> None:
    store.orders.save(_order("Paid"))
    [late] = _reports(store).late(FILTERS)  # due 10 days after payment: March 12th
    assert (late.reason, late.due, late.days_late) == ("late", date(2026, 3, 12), 8)
    assert late.tests == "Organic Acids, Mycotoxins"

    clock.now = datetime(2026, 3, 16, 3, 30, tzinfo=UTC)  # March 15th, 11:30 pm in New York
    store.orders.save(_order("Sample Received"))
    assert _reports(store).late(FILTERS) == []  # due March 25th now

    results = {TESTS[0].id: datetime(2026, 3, 19, 12, 0, tzinfo=UTC)}
    store.orders.save(_order("Partial Results", results=results))
    assert _reports(store).late(FILTERS) == []  # due March 20th: not late on the 20th
    next_day = PracticeReports(store, zone=ZONE, clock=lambda: NOW + timedelta(days=1))
    [still] = next_day.late(ReportFilters(FILTERS.start, date(2026, 3, 21)))
    # only the test without results is waited for: 5 days from March 15th, not 10
    assert (still.due, still.days_late, still.tests) == (date(2026, 3, 20), 1, "Mycotoxins")
    [turnaround] = _reports(store).turnaround(FILTERS)
    assert (turnaround.tests, turnaround.median_days) == (1, 4)  # March 15th to 19th


def test_an_order_first_seen_at_sample_received_counts_from_its_payment(store: Store) -> None:
    store.orders.save(_order("Sample Received"))
    [late] = _reports(store).late(FILTERS)
    assert late.due == date(2026, 3, 12)


def test_an_order_canceled_after_its_tests_were_saved_leaves_the_reports(store: Store) -> None:
    results = {t.id: datetime(2026, 3, 9, 12, 0, tzinfo=UTC) for t in TESTS}
    store.orders.save(_order("Complete", results=results, date_completed=results[TESTS[0].id]))
    reports = _reports(store)
    assert [(r.tests, r.median_days) for r in reports.turnaround(FILTERS)] == [(2, 7)]
    assert sum(r.orders for r in reports.popularity(FILTERS)) == 2
    assert [r.total_cents for r in reports.revenue(FILTERS)] == [50000]

    store.orders.save(_order("Canceled", date_canceled=NOW))
    assert reports.turnaround(FILTERS) == []
    assert reports.popularity(FILTERS) == []
    assert reports.revenue(FILTERS) == []


def test_orders_saved_before_the_migration_are_in_the_reports(store: Store) -> None:
    old = Database(memory=True)
    MIGRATIONS.apply(old, stop_before="m014_order_history")
    Orders(old, clock=lambda: PAID).save(_order("Paid"))
    MIGRATIONS.apply(old)
    row = old.execute(
        "SELECT submitted_s, start_s, canceled FROM ordered_tests WHERE id = 'ordts_0000001'"
    ).fetchone()
    assert row == (int(PAID.timestamp()) - 7200, int(PAID.timestamp()), 0)
    old.close()


def test_a_patients_lab_history_lists_orders_and_results_newest_first(store: Store) -> None:
    results = {TESTS[0].id: datetime(2026, 3, 10, 3, 0, tzinfo=UTC)}  # March 9th in New York
    store.orders.save(_order("Partial Results", results=results))
    history = _reports(store).patient_history("pat_0000001")
    assert [e.line() for e in history] == [
        "Mar 09, 2026 · Results in: Organic Acids",
        "Mar 02, 2026 · Order paid",
        "Mar 02, 2026 · Ordered: Organic Acids, Mycotoxins",
    ]
    assert _reports(store).patient_history("pat_0000002") == []
