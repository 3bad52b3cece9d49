"""The possible-duplicate dialog shows each match whole, reason included."""

from __future__ import annotations

from datetime import date

from pytestqt.qtbot import QtBot

from rupa_desk.core.models import Patient
from rupa_desk.services.store import DuplicateReason, PossibleDuplicate
from rupa_desk.ui.components.duplicate_patient_dialog import DuplicatePatientDialog, describe
from tests.fixtures.qt import unnamed_controls, wait_until

DUPLICATES = [
    PossibleDuplicate(
        Patient(
            "pat_0000001",
            "Maximiliana",
            "Featherstonehaugh",
            "maximiliana.featherstonehaugh@example.com",
            birthday=date(1961, 3, 14),
        ),
        frozenset({DuplicateReason.EMAIL, DuplicateReason.NAME_AND_BIRTHDAY}),
    ),
    PossibleDuplicate(
        Patient("pat_0000002", "Max", "Feather", "max@example.com"),
        frozenset({DuplicateReason.NAME}),
    ),
]


async def test_every_match_is_shown_whole(qtbot: QtBot) -> None:
    dialog = DuplicatePatientDialog(DUPLICATES)
    qtbot.addWidget(dialog)
    dialog.show()
    await wait_until(dialog.isVisible)
    matches = dialog.matches
    for row, duplicate in enumerate(DUPLICATES):
        text = describe(duplicate)
        assert "same email, same name and birthday" in text or "birthday unknown" in text
        needed = matches.fontMetrics().horizontalAdvance(text)
        assert matches.visualItemRect(matches.item(row)).width() >= needed, text
        assert matches.viewport().width() >= needed, text
    assert unnamed_controls(dialog) == []
