"""The unlock PIN's hash: salted, slow, never the PIN itself."""

from __future__ import annotations

import pytest

from rupa_desk.core.pin import hash_pin, pin_problem, verify_pin


def test_the_hash_is_not_the_pin_and_is_salted() -> None:
    first, second = hash_pin("4821"), hash_pin("4821")
    assert "4821" not in first
    assert first != second  # a random salt each time


def test_the_right_pin_verifies_and_a_wrong_one_does_not() -> None:
    stored = hash_pin("4821")
    assert verify_pin("4821", stored)
    assert not verify_pin("4822", stored)
    assert not verify_pin("", stored)


@pytest.mark.parametrize("stored", ["", "4821", "scrypt$x$8$1$00$00", "md5$1$1$1$aa$bb"])
def test_a_stored_value_that_is_not_a_hash_is_refused(stored: str) -> None:
    with pytest.raises(ValueError, match="not a stored PIN hash"):
        verify_pin("4821", stored)


@pytest.mark.parametrize(
    ("pin", "fine"),
    [
        ("4821", True),
        ("123456789012", True),
        ("123", False),
        ("12a4", False),
        ("１２３４", False),
        ("", False),
    ],
)
def test_new_pins_are_four_to_twelve_digits(pin: str, fine: bool) -> None:
    assert (pin_problem(pin) == "") is fine
