"""Order statuses in the order an order goes through them; when results last arrived."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from rupa_desk.core.models import Order, OrderedTest
from rupa_desk.core.status import in_lifecycle_order, results_arrived_at


def test_statuses_read_in_lifecycle_order_then_canceled_then_unknown_ones() -> None:
    seen = ["Complete", "Paid", "Awaiting Review", "Canceled", "Pending Payment", "In Progress"]
    assert in_lifecycle_order(seen) == [
        "Pending Payment",
        "Paid",
        "In Progress",
        "Complete",
        "Canceled",
        "Awaiting Review",
    ]


def test_the_order_ignores_case_and_repeats() -> None:
    assert in_lifecycle_order(["paid", "pending payment", "paid", "Zeta", "Alpha"]) == [
        "pending payment",
        "paid",
        "Alpha",
        "Zeta",
    ]


def test_results_last_arrived_at_the_latest_test_else_at_completion() -> None:
    t0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    tests = (
        OrderedTest("ordts_AAAAAAA", None, date_results_received_from_lab=t0),
        OrderedTest("ordts_BBBBBBB", None, date_results_received_from_lab=t0 + timedelta(days=3)),
        OrderedTest("ordts_CCCCCCC", None),
    )
    done = Order("ord_AAAAAAA", "Complete", None, date_completed=t0 + timedelta(days=1))
    assert results_arrived_at(replace(done, ordered_tests=tests)) == t0 + timedelta(days=3)
    assert results_arrived_at(done) == t0 + timedelta(days=1)  # from the list: no tests
    assert results_arrived_at(replace(done, status="Canceled", date_completed=None)) is None
    assert results_arrived_at(replace(done, date_canceled=t0)) is None
    assert results_arrived_at(replace(done, status="Paid", date_completed=None)) is None
