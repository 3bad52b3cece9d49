"""Rupa-style resource ids: a type prefix, an underscore and 7 base62 characters."""

from __future__ import annotations

import random
import re
import string
from typing import Final

BASE62: Final = string.digits + string.ascii_letters

PRACTITIONER: Final = "pra"
CLINIC: Final = "cli"
PATIENT: Final = "pat"
LAB_COMPANY: Final = "labco"
LAB_TEST: Final = "labts"
ORDER_INTENT: Final = "ordin"
ORDER: Final = "ord"
ORDERED_TEST: Final = "ordts"

ID_PATTERN: Final = re.compile(r"^(pra|cli|pat|labco|labts|ordin|ord|ordts)_[0-9A-Za-z]{7}$")


class IdFactory:
    """Makes unique ids from a seeded random generator (deterministic for a given seed)."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used: set[str] = set()

    def new(self, prefix: str) -> str:
        """A fresh id such as `labts_4fT9aQ2`."""
        while True:
            candidate = prefix + "_" + "".join(self._rng.choices(BASE62, k=7))
            if candidate not in self._used:
                self._used.add(candidate)
                return candidate

    def many(self, prefix: str, count: int) -> list[str]:
        """`count` fresh ids at once (fast for a 100,000-test catalog)."""
        choices = self._rng.choices
        used = self._used
        made: list[str] = []
        while len(made) < count:
            candidate = prefix + "_" + "".join(choices(BASE62, k=7))
            if candidate not in used:
                used.add(candidate)
                made.append(candidate)
        return made
