"""Order status rules. Status is an open set of strings (RUPA_API.md, "Order status")."""

from __future__ import annotations

from collections.abc import Iterable
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


def is_finished(order: Order) -> bool:
    """True when the order will not change: a terminal status or a completion/cancel date."""
    return (
        is_terminal_status(order.status)
        or order.date_completed is not None
        or order.date_canceled is not None
    )
