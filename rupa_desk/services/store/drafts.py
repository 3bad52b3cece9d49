"""Drafts, as far as the catalog needs them: create one and add or remove tests.

Drafts are precious, user-authored data: every change is one transaction, written before any
network call. The drafts pane, the outbox and checkout build on these tables (orders issue).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlite_utils import Database

from rupa_desk.services.store.errors import UnknownDraftError
from rupa_desk.services.store.sync_state import from_iso, to_iso, utc_now


@dataclass(frozen=True, slots=True)
class DraftSummary:
    """One open draft, as listed in an "Add to draft" menu."""

    id: str
    patient_id: str | None
    test_count: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class DraftTest:
    """A test on a draft, with the name and price it had when it was added."""

    lab_test_id: str
    name: str
    price: Decimal | None


def price_to_cents(price: Decimal | None) -> int | None:
    return None if price is None else int((price * 100).to_integral_value())


def cents_to_price(cents: int | None) -> Decimal | None:
    return None if cents is None else Decimal(cents) / 100


class Drafts:
    """The `drafts` and `draft_tests` tables."""

    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._db = db
        self._clock = clock

    def create(self, *, patient_id: str | None = None, notes: str = "") -> str:
        """Create an open draft and return its id (a UUID, also used in Rupa's metadata)."""
        draft_id = f"draft_{uuid.uuid4().hex}"
        now = to_iso(self._clock())
        with self._db.atomic():
            self._db.execute(
                "INSERT INTO drafts (id, patient_id, notes, status, created_at, updated_at)"
                " VALUES (?, ?, ?, 'open', ?, ?)",
                [draft_id, patient_id, notes, now, now],
            )
        return draft_id

    def open_drafts(self) -> list[DraftSummary]:
        """Open drafts, most recently changed first."""
        rows = self._db.execute(
            "SELECT d.id, d.patient_id, count(t.lab_test_id), d.updated_at FROM drafts d"
            " LEFT JOIN draft_tests t ON t.draft_id = d.id WHERE d.status = 'open'"
            " GROUP BY d.id ORDER BY d.updated_at DESC, d.id"
        ).fetchall()
        return [
            DraftSummary(str(r[0]), r[1], int(r[2]), from_iso(r[3]) or self._clock()) for r in rows
        ]

    def add_test(
        self, draft_id: str, lab_test_id: str, *, name: str, price: Decimal | None
    ) -> bool:
        """Add a test at the end of a draft; False if it was already on it.

        Raises:
            UnknownDraftError: there is no such draft.
        """
        now = to_iso(self._clock())
        with self._db.atomic():
            self._require(draft_id)
            cursor = self._db.execute(
                "INSERT INTO draft_tests (draft_id, lab_test_id, position, name, price_cents,"
                " added_at) SELECT ?, ?, coalesce(max(position), -1) + 1, ?, ?, ?"
                " FROM draft_tests WHERE draft_id = ?"
                " ON CONFLICT (draft_id, lab_test_id) DO NOTHING",
                [draft_id, lab_test_id, name, price_to_cents(price), now, draft_id],
            )
            added = cursor.rowcount == 1
            if added:
                self._touch(draft_id, now)
        return added

    def remove_test(self, draft_id: str, lab_test_id: str) -> None:
        now = to_iso(self._clock())
        with self._db.atomic():
            self._require(draft_id)
            self._db.execute(
                "DELETE FROM draft_tests WHERE draft_id = ? AND lab_test_id = ?",
                [draft_id, lab_test_id],
            )
            self._touch(draft_id, now)

    def tests(self, draft_id: str) -> list[DraftTest]:
        """The tests on a draft, in the order they were added."""
        self._require(draft_id)
        rows = self._db.execute(
            "SELECT lab_test_id, name, price_cents FROM draft_tests WHERE draft_id = ?"
            " ORDER BY position",
            [draft_id],
        ).fetchall()
        return [DraftTest(str(r[0]), str(r[1]), cents_to_price(r[2])) for r in rows]

    def _require(self, draft_id: str) -> None:
        if self._db.execute("SELECT 1 FROM drafts WHERE id = ?", [draft_id]).fetchone() is None:
            raise UnknownDraftError(draft_id)

    def _touch(self, draft_id: str, now: str) -> None:
        self._db.execute("UPDATE drafts SET updated_at = ? WHERE id = ?", [now, draft_id])
