"""The new-patient quick entry: one typed line split into first name, last name and email."""

from __future__ import annotations

import pytest

from rupa_desk.core.quick_entry import QuickEntry, parse_quick_entry


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Maria Garcia maria@example.com", QuickEntry("Maria", "Garcia", "maria@example.com")),
        # the way charts write names
        (
            "Garcia Lopez, Maria maria@example.com",
            QuickEntry("Maria", "Garcia Lopez", "maria@example.com"),
        ),
        # a middle name goes with the first name (Rupa has no middle-name field)
        ("Mary Ann Smith mas@example.com", QuickEntry("Mary Ann", "Smith", "mas@example.com")),
        # surname particles stay with the last name
        ("Juan de la Cruz", QuickEntry("Juan", "de la Cruz", "")),
        # a title is not part of the name; a suffix is kept with the last name
        ("Dr. John Smith Jr. js@example.com", QuickEntry("John", "Smith Jr.", "js@example.com")),
        # the email may come first, or in angle brackets
        ("maria@example.com Maria Garcia", QuickEntry("Maria", "Garcia", "maria@example.com")),
        ("Maria Garcia <maria@example.com>", QuickEntry("Maria", "Garcia", "maria@example.com")),
        # half typed: what is there so far
        ("Maria", QuickEntry("Maria", "", "")),
        ("Garcia Lopez,", QuickEntry("", "Garcia Lopez", "")),
        ("maria@", QuickEntry("", "", "maria@")),
        ("   ", QuickEntry()),
    ],
)
def test_a_line_is_split_into_the_three_fields(line: str, expected: QuickEntry) -> None:
    assert parse_quick_entry(line) == expected


def test_only_the_first_email_like_word_is_the_email() -> None:
    entry = parse_quick_entry("Maria Garcia maria@example.com other@example.com")
    assert entry.email == "maria@example.com"
    assert "other@example.com" in f"{entry.first_name} {entry.last_name}"
