"""The drafts list as a Qt table model, updated row by row (see `KeyedTableModel`)."""

from __future__ import annotations

from PySide6.QtCore import Qt

from rupa_desk.core.drafts import DraftState
from rupa_desk.services.store import DraftListing
from rupa_desk.ui.formatting import money
from rupa_desk.ui.presenters.drafts import short_state, state_tooltip
from rupa_desk.ui.theme import Tone
from rupa_desk.ui.widgets.keyed_table import KeyedTableModel

PATIENT, TESTS, TOTAL, STATE = range(4)

#: A draft state's chip: what it asks of the person (a failed send: look at it).
STATE_TONES: dict[DraftState, Tone] = {
    DraftState.LOCAL: Tone.NEUTRAL,
    DraftState.SENDING: Tone.INFO,
    DraftState.SENT: Tone.INFO,
    DraftState.QUEUED: Tone.WARNING,
    DraftState.FAILED: Tone.DANGER,
    DraftState.CHECKED_OUT: Tone.SUCCESS,
}


def estimate(listing: DraftListing) -> str:
    """The estimated total from cached prices, and how many tests have none."""
    text = money(listing.estimated_total)
    if listing.unpriced and listing.estimated_total is not None:
        text += f" + {listing.unpriced} unpriced"
    return text


class DraftsTableModel(KeyedTableModel[DraftListing]):
    """Drafts: patient, tests, estimated total, state with Rupa's id (the full state, with a
    failed send's reason, in the tooltip)."""

    COLUMNS = ("Patient", "Tests", "Estimated total", "State")

    def key(self, item: DraftListing) -> str:
        return item.draft.id

    def display(self, item: DraftListing, column: int) -> str:
        draft = item.draft
        if column == PATIENT:
            return item.patient_name or draft.patient_id or "No patient"
        if column == TESTS:
            flagged = sum(line.left_catalog for line in item.lines)
            left = f" ({flagged} left catalog)" if flagged else ""
            return f"{len(item.lines)}{left}"
        if column == TOTAL:
            return estimate(item)
        return short_state(draft)

    def chip(self, item: DraftListing, column: int) -> Tone | None:
        return STATE_TONES[item.draft.state] if column == STATE else None

    def tooltip(self, item: DraftListing, column: int) -> str | None:
        if column == TESTS:
            return (
                "\n".join(
                    (line.name or line.lab_test_id)
                    + (" (no longer in the catalog)" if line.left_catalog else "")
                    for line in item.lines
                )
                or None
            )
        if column == STATE:
            return state_tooltip(item.draft)
        return None

    def alignment(self, column: int) -> Qt.AlignmentFlag | None:
        if column == TOTAL:
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        return None
