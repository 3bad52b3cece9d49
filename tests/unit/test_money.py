"""Prices as whole cents (rupa_desk.core.money)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rupa_desk.core.money import cents_to_price, price_to_cents


@pytest.mark.parametrize(
    ("price", "cents"),
    [
        (Decimal("0"), 0),
        (Decimal("12.34"), 1234),
        (Decimal("123.45"), 12345),
        (Decimal("99"), 9900),
        (Decimal("1234567.89"), 123456789),
        (None, None),
    ],
)
def test_prices_and_cents_round_trip(price: Decimal | None, cents: int | None) -> None:
    assert price_to_cents(price) == cents
    assert cents_to_price(cents) == price


def test_cents_are_whole() -> None:
    assert isinstance(price_to_cents(Decimal("0.1") + Decimal("0.2")), int)
    assert price_to_cents(Decimal("0.1") + Decimal("0.2")) == 30
    assert str(cents_to_price(5)) == "0.05"
