"""An order's timeline: Rupa's dates, and the statuses this PC saw in between (pure).

Rupa gives an order a few dates (submitted, paid, completed, canceled); the statuses between
(In Progress, Sample Received, …) have no date of their own, so the app records when it first
saw each one. The timeline merges both, oldest first; a status whose date Rupa gives is shown
once, with Rupa's date.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

#: Statuses whose moment Rupa dates itself, and the milestone that dates them.
_DATED_STATUSES: Final = {
    "pending payment": "submitted",
    "paid": "paid",
    "complete": "completed",
    "canceled": "canceled",
}


class Source(enum.Enum):
    """Where a timeline entry's time comes from."""

    RUPA = "rupa"  # a date Rupa gave
    SEEN = "seen"  # when Rupa Desk first saw the status


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One step of an order.

    Attributes:
        at: when.
        label: what happened ("Submitted", "Paid", "In Progress", …).
        source: Rupa's date, or the moment this PC saw it.
    """

    at: datetime
    label: str
    source: Source


def order_timeline(
    *,
    submitted: datetime | None,
    paid: datetime | None,
    completed: datetime | None,
    canceled: datetime | None,
    seen: Iterable[tuple[str, datetime]],
) -> list[TimelineEntry]:
    """The steps of an order, oldest first.

    Args:
        submitted, paid, completed, canceled: Rupa's dates (None when not reached).
        seen: (status, first seen at) pairs from the order's history.
    """
    milestones = {
        "submitted": ("Submitted", submitted),
        "paid": ("Paid", paid),
        "completed": ("Completed", completed),
        "canceled": ("Canceled", canceled),
    }
    entries = [
        TimelineEntry(at, label, Source.RUPA) for label, at in milestones.values() if at is not None
    ]
    shown: set[str] = set()
    for status, at in seen:
        key = status.strip().casefold()
        milestone = _DATED_STATUSES.get(key)
        if milestone is not None and milestones[milestone][1] is not None:
            continue  # Rupa dates it
        if key in shown:
            continue
        shown.add(key)
        entries.append(TimelineEntry(at, status.strip(), Source.SEEN))
    entries.sort(key=lambda e: e.at)
    return entries
