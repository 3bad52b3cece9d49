"""The names result PDFs are saved under: readable, and safe on Windows, macOS and Linux."""

from __future__ import annotations

from datetime import date

import pytest

from rupa_desk.core.file_names import (
    PATIENT_BYTES,
    TEST_BYTES,
    clean_part,
    patient_file_label,
    requisition_file_name,
    result_file_name,
    safe_file_name,
    safe_file_stem,
)

DAY = date(2026, 12, 7)
#: What any of Windows, macOS or Linux refuses or treats specially in a file name.
REFUSED = set('<>:"/\\|?*') | {chr(c) for c in range(32)} | {"\x7f"}


def assert_safe(name: str) -> None:
    assert name
    assert not REFUSED & set(name)
    assert len(name.encode("utf-8")) <= 255
    stem = name.rsplit(".", 1)[0]
    assert stem == stem.strip(" .")
    assert stem.split(".")[0].upper() not in {"CON", "PRN", "AUX", "NUL", "COM1", "LPT1"}


def test_a_result_is_named_after_the_patient_the_test_and_the_day() -> None:
    label = patient_file_label("Ada", "Lovelace")
    assert label == "Lovelace Ada"
    name = result_file_name(patient=label, test="Lipid Panel", received=DAY)
    assert name == "Lovelace Ada - Lipid Panel - 2026-12-07.pdf"


def test_a_requisition_is_named_like_a_result_with_requisition_after_the_test() -> None:
    name = requisition_file_name(patient="Lovelace Ada", test="Lipid Panel", ordered=DAY)
    assert name == "Lovelace Ada - Lipid Panel - Requisition - 2026-12-07.pdf"
    assert requisition_file_name(patient="", test="", ordered=None) == "Requisition.pdf"
    long = requisition_file_name(patient="Lovelace Ada", test="Panel " * 60, ordered=DAY)
    assert_safe(long)
    assert long.endswith(" - Requisition - 2026-12-07.pdf")  # a long test name gives way


def test_what_is_unknown_is_left_out_and_the_name_is_never_empty() -> None:
    assert result_file_name(patient="", test="Lipid Panel", received=None) == "Lipid Panel.pdf"
    assert result_file_name(patient="Lovelace Ada", test="", received=DAY) == (
        "Lovelace Ada - 2026-12-07.pdf"
    )
    assert result_file_name(patient="", test="", received=None) == "Results.pdf"
    assert patient_file_label("", "Lovelace") == "Lovelace"
    assert patient_file_label("  ", "  ") == ""


@pytest.mark.parametrize(
    ("patient", "test", "expected"),
    [
        ("O'Brien/Smith Jo", "Panel A/B", "O'Brien Smith Jo - Panel A B - 2026-12-07.pdf"),
        (
            'Ada "Bug" <Lovelace>',
            "Test: one|two?*",
            "Ada Bug Lovelace - Test one two - 2026-12-07.pdf",
        ),
        ("Back\\slash", "C:\\Windows", "Back slash - C Windows - 2026-12-07.pdf"),
        ("Tab\tNew\nLine", "Bell\x07Null\x00", "Tab New Line - BellNull - 2026-12-07.pdf"),
        ("...", "..", "2026-12-07.pdf"),
        ("  . Dots .  ", "Trailing dot.", "Dots - Trailing dot - 2026-12-07.pdf"),
        ("Right\u202eLeft", "Zero\u200bWidth", "RightLeft - ZeroWidth - 2026-12-07.pdf"),
        ("Müller Zoë", "Vitamin D₃", "Müller Zoë - Vitamin D₃ - 2026-12-07.pdf"),
    ],
)
def test_hostile_names_become_safe_readable_names(patient: str, test: str, expected: str) -> None:
    name = result_file_name(patient=patient, test=test, received=DAY)
    assert name == expected
    assert_safe(name)


def test_only_refused_characters_give_the_fallback_name() -> None:
    name = result_file_name(patient="///", test="\x00\x01:*?", received=None)
    assert name == "Results.pdf"
    assert safe_file_stem("  ...  ") == "Results"
    assert safe_file_stem("Order summary - Lovelace/Ada") == "Order summary - Lovelace Ada"


@pytest.mark.parametrize("reserved", ["CON", "con", "Nul", "COM1", "lpt9", "AUX.txt", "PRN "])
def test_names_windows_reserves_are_avoided(reserved: str) -> None:
    name = safe_file_name(reserved, "pdf")
    assert_safe(name)
    device = reserved.strip().split(".")[0]
    assert name.startswith(f"{device}_")  # still recognisable


def test_a_reserved_name_inside_a_longer_name_is_left_alone() -> None:
    assert result_file_name(patient="Con", test="Nul", received=DAY) == "Con - Nul - 2026-12-07.pdf"
    assert result_file_name(patient="", test="CON", received=None) == "CON_.pdf"


def test_long_names_are_bounded_in_bytes_without_splitting_a_character() -> None:
    patient = "Ä" * 200  # two bytes each in UTF-8
    test = "Comprehensive " * 40
    name = result_file_name(patient=patient, test=test, received=DAY)
    assert_safe(name)
    patient_part, test_part, day = name.removesuffix(".pdf").split(" - ")
    assert patient_part == "Ä" * (PATIENT_BYTES // 2)
    assert len(test_part.encode("utf-8")) <= TEST_BYTES
    assert test_part.startswith("Comprehensive Comprehensive")
    assert day == "2026-12-07"
    assert clean_part("€" * 10, max_bytes=7) == "€€"  # three bytes each: no half character
