"""Order statuses in the order an order goes through them."""

from __future__ import annotations

from rupa_desk.core.status import in_lifecycle_order


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
