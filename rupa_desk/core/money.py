"""Prices as the database stores them: whole cents (pure).

Rupa sends prices as JSON numbers in US dollars; the app reads them as `Decimal` and the local
database keeps them as integer cents, so sums and comparisons (price filters, draft totals)
are exact.
"""

from __future__ import annotations

from decimal import Decimal


def price_to_cents(price: Decimal | None) -> int | None:
    """`Decimal("12.34")` → 1234; None (no price) stays None."""
    return None if price is None else int((price * 100).to_integral_value())


def cents_to_price(cents: int | None) -> Decimal | None:
    """1234 → `Decimal("12.34")`; None (no price) stays None."""
    return None if cents is None else Decimal(cents) / 100
