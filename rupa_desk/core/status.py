"""Order status rules. Status is an open set of strings (RUPA_API.md, "Order status")."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Final

from rupa_desk.core.models import Order

#: The lifecycle the simulator follows, in order; the real Rupa may send others.
LIFECYCLE: Final[tuple[str, ...]] = (
    "Pending Payment",
    "Paid",
    "In Progress",
    "Sample Received",
    "Partial Results",
    "Complete",
)
CANCELED: Final = "Canceled"
TERMINAL_STATUSES: Final[frozenset[str]] = frozenset({"Complete", CANCELED})


def in_lifecycle_order(statuses: Iterable[str]) -> list[str]:
    """Statuses in the order an order goes through them (`LIFECYCLE`), then Canceled, then
    any other (Rupa may send statuses the simulator does not know) alphabetically."""

    def place(status: str) -> tuple[int, str]:
        folded = status.strip().casefold()
        for index, known in enumerate((*LIFECYCLE, CANCELED)):
            if folded == known.casefold():
                return index, ""
        return len(LIFECYCLE) + 1, folded

    return sorted(dict.fromkeys(statuses), key=place)


def is_terminal_status(status: str) -> bool:
    """True for a status after which an order never changes (case-insensitive)."""
    return status.strip().casefold() in {s.casefold() for s in TERMINAL_STATUSES}


def results_arrived_at(order: Order) -> datetime | None:
    """When a finished order's results last arrived (a corrected result is a new arrival):
    the latest of its ordered tests' dates, else its completion date; None for a canceled
    order or one without results (nothing to correct)."""
    if order.date_canceled is not None or order.status.strip().casefold() == CANCELED.casefold():
        return None
    dates = [
        test.date_results_received_from_lab
        for test in order.ordered_tests
        if test.date_results_received_from_lab is not None
    ]
    return max(dates) if dates else order.date_completed


def is_finished(order: Order) -> bool:
    """True when the order will not change: a terminal status or a completion/cancel date."""
    return (
        is_terminal_status(order.status)
        or order.date_completed is not None
        or order.date_canceled is not None
    )
