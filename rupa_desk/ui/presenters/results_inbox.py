"""The results inbox's presenter: result values that arrived, and the marks kept on this PC.

Newest first and, among those that came together, the flagged ones first; a filter shows
only flagged values whose patient was not told yet. "Reviewed by practitioner" and "Patient
told" are kept locally with who and when (never sent to Rupa). Opening the inbox counts as
having looked: the sidebar then counts only what arrives after.

A long inbox is read in parts (`PART_SIZE` values each), so that no single read keeps the
window from answering.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from PySide6.QtCore import QObject, Signal

from rupa_desk.services.store.lab_results import InboxItem, LabResults

#: The inbox shows at most this many values (the newest).
INBOX_LIMIT: Final = 10_000
#: Values read at once when the list is (re)read: a screenful and more.
FIRST_PART_SIZE: Final = 100
#: Values read at each later turn of the event loop.
PART_SIZE: Final = 150


class ResultsInboxPresenter(QObject):
    """Result values for the inbox pane.

    Args:
        lab_results: the structured results in the database.
        who: the name the marks are made under (the signed-in account's).

    Signals:
        changed(): values arrived or left (read the list again).
        marked(object): these values' marks changed (a list of their ids).
        seen(): the inbox was looked at (the sidebar's count changes).
    """

    changed = Signal()
    marked = Signal(object)
    seen = Signal()

    def __init__(self, lab_results: LabResults, *, who: str, parent: QObject | None = None):
        super().__init__(parent)
        self._lab_results = lab_results
        self.who = who

    def listed_ids(self, *, abnormal_not_told: bool = False) -> list[int]:
        """The ids of the values the inbox lists, in its order (at most `INBOX_LIMIT`)."""
        return self._lab_results.inbox_ids(abnormal_not_told=abnormal_not_told, limit=INBOX_LIMIT)

    def items(self, ids: Sequence[int], *, abnormal_not_told: bool = False) -> list[InboxItem]:
        """These values as they are now (those the filter still shows)."""
        if not ids:
            return []
        return self._lab_results.inbox(abnormal_not_told=abnormal_not_told, limit=len(ids), ids=ids)

    def mark_reviewed(self, ids: Sequence[int]) -> None:
        """Mark these values "Reviewed by practitioner" (by `who`, now)."""
        if ids:
            self._lab_results.mark_reviewed(ids, self.who)
            self.marked.emit(list(ids))

    def mark_told(self, ids: Sequence[int]) -> None:
        """Mark these values "Patient told" (by `who`, now)."""
        if ids:
            self._lab_results.mark_told(ids, self.who)
            self.marked.emit(list(ids))

    def mark_seen(self) -> None:
        """The inbox is on screen: what arrived so far has been seen."""
        self._lab_results.mark_inbox_seen()
        self.seen.emit()

    def results_arrived(self) -> None:
        """New values may have arrived (the tracker saved some): show them."""
        self.changed.emit()
