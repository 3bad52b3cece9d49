"""Trends: each analyte a patient had measured more than once, as values over time.

Results are matched across orders by LOINC code when the lab gave one, else by name (any
case); units are part of the match, so values in different units are never put on one line.
Only numeric results that came in count (pending and "not performed" ones do not). The band
is the latest reference range, when it reads as numbers ("70-99", "<200", ">40").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Final

from rupa_desk.core.hl7_results import ResultsReport, ResultStatus

_NUMBER: Final = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_BETWEEN: Final = re.compile(rf"\s*({_NUMBER})\s*[-–]\s*({_NUMBER})\s*")
_BOUND: Final = re.compile(rf"\s*([<>]=?)\s*({_NUMBER})\s*")
_COUNTED: Final = frozenset({ResultStatus.PRELIMINARY, ResultStatus.FINAL, ResultStatus.CORRECTED})


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One measurement: when, the value (as a number and as shown), its flags' codes."""

    at: datetime
    value: Decimal
    shown: str
    flags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Trend:
    """One analyte over time.

    Attributes:
        analyte: its name (as the latest result says it).
        units: its units (the same for every point).
        loinc: its LOINC code, when matched by it.
        low, high: the latest reference range's bounds, when it has them.
        points: the measurements, oldest first.
    """

    analyte: str
    units: str
    loinc: str | None
    low: Decimal | None
    high: Decimal | None
    points: tuple[TrendPoint, ...]


def reference_band(text: str) -> tuple[Decimal | None, Decimal | None]:
    """The bounds of a reference range that reads as numbers; (None, None) otherwise."""
    try:
        if match := _BETWEEN.fullmatch(text):
            return Decimal(match.group(1)), Decimal(match.group(2))
        if match := _BOUND.fullmatch(text):
            bound = Decimal(match.group(2))
            return (None, bound) if match.group(1).startswith("<") else (bound, None)
    except InvalidOperation:  # pragma: no cover - the patterns admit only numbers
        pass
    return None, None


def trends(reports: Iterable[tuple[datetime, ResultsReport]]) -> list[Trend]:
    """The analytes measured more than once across these reports (each with the date its
    results came), by name; the points of each oldest first."""
    groups: dict[tuple[str, str, str], list[tuple[datetime, str, str, TrendPoint]]] = {}
    for received, report in reports:
        for panel in report.panels:
            for o in panel.observations:
                if o.numeric is None or o.status not in _COUNTED:
                    continue
                at = o.observed_at or panel.observed_at or received
                key = (
                    ("LN", o.loinc, o.units) if o.loinc else ("name", o.analyte.casefold(), o.units)
                )
                point = TrendPoint(at, o.numeric, o.value, tuple(f.code for f in o.flags))
                groups.setdefault(key, []).append((at, o.analyte, o.reference_range, point))
    found = []
    for (kind, code, units), entries in groups.items():
        if len(entries) < 2:
            continue
        entries.sort(key=lambda entry: _sortable(entry[0]))
        _, name, reference_range, _ = entries[-1]
        low, high = reference_band(reference_range)
        found.append(
            Trend(
                analyte=name,
                units=units,
                loinc=code if kind == "LN" else None,
                low=low,
                high=high,
                points=tuple(entry[3] for entry in entries),
            )
        )
    return sorted(found, key=lambda t: (t.analyte.casefold(), t.units))


def _sortable(moment: datetime) -> float:
    """A moment as a number to sort by (a lab may send moments with or without an offset)."""
    return moment.timestamp()
