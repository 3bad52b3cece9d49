"""How amounts and moments read in the panes (one place, so every pane says them alike)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal


def money(amount: Decimal | None) -> str:
    """A price in dollars ("—" when unknown)."""
    return "—" if amount is None else f"${amount:,.2f}"


def when(moment: datetime | None) -> str:
    """A moment in local time to the minute ("—" when unknown)."""
    return "—" if moment is None else moment.astimezone().strftime("%Y-%m-%d %H:%M")


def tests_count(count: int) -> str:
    """The number of tests in words: "1 test", "3 tests", "0 tests"."""
    return "1 test" if count == 1 else f"{count} tests"
