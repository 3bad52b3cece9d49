"""Trends: analytes measured more than once, matched by LOINC or by name, never across units."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from rupa_desk.core.hl7_results import ResultsReport, read_results
from rupa_desk.core.result_trends import reference_band, trends

MSH = "MSH|^~\\&|LAB|ACME|||20261207||ORU^R01|1|P|2.5.1"


def report(*obx: str) -> ResultsReport:
    return read_results("\r".join([MSH, "OBR|1|||X^Panel", *obx]))


def at(day: int) -> datetime:
    return datetime(2026, 11, day, 9, 0, tzinfo=UTC)


def test_values_of_one_loinc_code_line_up_oldest_first_with_the_latest_band() -> None:
    found = trends(
        [
            (at(20), report("OBX|1|NM|2345-7^Glucose, fasting^LN||105|mg/dL|70-99|H|||F")),
            (at(2), report("OBX|1|NM|2345-7^Glucose^LN||92|mg/dL|70-100||||F")),
            (at(9), report("OBX|1|NM|718-7^Hemoglobin^LN||13.1|g/dL|12-16||||F")),
        ]
    )
    [glucose] = found
    assert glucose.loinc == "2345-7"
    assert glucose.analyte == "Glucose, fasting"  # as the latest result names it
    assert [(p.at, p.value, p.flags) for p in glucose.points] == [
        (at(2), Decimal(92), ()),
        (at(20), Decimal(105), ("H",)),
    ]
    assert (glucose.low, glucose.high) == (Decimal(70), Decimal(99))


def test_without_loinc_names_match_in_any_case_and_units_never_mix() -> None:
    found = trends(
        [
            (at(1), report("OBX|1|NM|L1^Vitamin D||28|ng/mL|30-100|L|||F")),
            (at(5), report("OBX|1|NM|L9^VITAMIN D||35|ng/mL|30-100||||F")),
            (at(8), report("OBX|1|NM|L9^Vitamin D||80|nmol/L|75-250||||F")),
        ]
    )
    [vitamin_d] = found
    assert vitamin_d.units == "ng/mL"
    assert [p.value for p in vitamin_d.points] == [Decimal(28), Decimal(35)]
    assert vitamin_d.loinc is None


def test_pending_text_and_single_values_make_no_trend() -> None:
    found = trends(
        [
            (at(1), report("OBX|1||2345-7^Glucose^LN||||||||I", "OBX|2|TX|X^Note||fine||||||F")),
            (at(2), report("OBX|1|NM|2345-7^Glucose^LN||90|mg/dL|70-99||||F")),
            (at(3), report("OBX|1|TX|X^Note||fine again||||||F")),
        ]
    )
    assert found == []


@pytest.mark.parametrize(
    ("text", "band"),
    [
        ("70-99", (Decimal(70), Decimal(99))),
        ("0.57 - 1.00", (Decimal("0.57"), Decimal("1.00"))),
        ("<200", (None, Decimal(200))),
        (">= 40", (Decimal(40), None)),
        ("Negative", (None, None)),
        ("", (None, None)),
    ],
)
def test_reference_bands(text: str, band: tuple[Decimal | None, Decimal | None]) -> None:
    assert reference_band(text) == band
