"""Epic in the local database: which Rupa patient is which Epic patient (and her MRN), and the
state of each result filed to an Epic chart (`filing` while it is sent, then `filed` with
the document's id, or `failed` with a message for the user)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlite_utils import Database

from rupa_desk.services.store.sync_state import from_iso, to_iso, utc_now

FilingState = Literal["filing", "filed", "failed"]


@dataclass(frozen=True, slots=True)
class EpicLink:
    """A Rupa patient and the Epic patient she is."""

    rupa_patient_id: str
    epic_patient_id: str
    mrn: str
    linked_at: datetime | None


@dataclass(frozen=True, slots=True)
class Filing:
    """Where the filing of one ordered test's result to Epic stands.

    Attributes:
        state: `filing` (sent, or about to be: look in Epic before sending again), `filed`
            or `failed`.
        document_id: the Epic DocumentReference, once filed.
        problem: why it failed (a message for the user; no patient data).
    """

    ordered_test_id: str
    epic_patient_id: str
    state: FilingState
    document_id: str | None
    problem: str | None
    updated_at: datetime | None


class EpicLinks:
    """The `epic_patient_links` and `epic_filings` tables."""

    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._db = db
        self._clock = clock

    def link(self, rupa_patient_id: str, epic_patient_id: str, mrn: str) -> None:
        """Remember that a Rupa patient is this Epic patient (replacing an older link)."""
        with self._db.atomic():
            self._db.execute(
                "INSERT OR REPLACE INTO epic_patient_links"
                " (rupa_patient_id, epic_patient_id, mrn, linked_at) VALUES (?, ?, ?, ?)",
                [rupa_patient_id, epic_patient_id, mrn, to_iso(self._clock())],
            )

    def link_for(self, rupa_patient_id: str) -> EpicLink | None:
        row = self._db.execute(
            "SELECT epic_patient_id, mrn, linked_at FROM epic_patient_links"
            " WHERE rupa_patient_id = ?",
            [rupa_patient_id],
        ).fetchone()
        if row is None:
            return None
        return EpicLink(rupa_patient_id, row[0], row[1], from_iso(row[2]))

    def rupa_patient_for(self, epic_patient_id: str) -> str | None:
        """The Rupa patient linked to this Epic patient (the latest link), if any."""
        row = self._db.execute(
            "SELECT rupa_patient_id FROM epic_patient_links WHERE epic_patient_id = ?"
            " ORDER BY linked_at DESC LIMIT 1",
            [epic_patient_id],
        ).fetchone()
        return None if row is None else str(row[0])

    def linked_epic_patients(self) -> frozenset[str]:
        """Every Epic patient linked to a Rupa patient."""
        rows = self._db.execute("SELECT DISTINCT epic_patient_id FROM epic_patient_links")
        return frozenset(str(row[0]) for row in rows.fetchall())

    def filing(self, ordered_test_id: str) -> Filing | None:
        row = self._db.execute(
            "SELECT epic_patient_id, state, document_id, problem, updated_at FROM epic_filings"
            " WHERE ordered_test_id = ?",
            [ordered_test_id],
        ).fetchone()
        if row is None:
            return None
        return Filing(ordered_test_id, row[0], row[1], row[2], row[3], from_iso(row[4]))

    def orders_to_retry(self) -> list[str]:
        """The orders with a result whose filing failed or was cut short (oldest first)."""
        rows = self._db.execute(
            "SELECT t.order_id FROM epic_filings f JOIN ordered_tests t"
            " ON t.id = f.ordered_test_id WHERE f.state IN ('filing', 'failed')"
            " GROUP BY t.order_id ORDER BY MIN(f.updated_at)"
        ).fetchall()
        return [str(row[0]) for row in rows]

    def record(
        self,
        ordered_test_id: str,
        epic_patient_id: str,
        state: FilingState,
        *,
        document_id: str | None = None,
        problem: str | None = None,
    ) -> None:
        """Write where a filing stands (written *before* the create is sent, as `filing`)."""
        with self._db.atomic():
            self._db.execute(
                "INSERT OR REPLACE INTO epic_filings (ordered_test_id, epic_patient_id, state,"
                " document_id, problem, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    ordered_test_id,
                    epic_patient_id,
                    state,
                    document_id,
                    problem,
                    to_iso(self._clock()),
                ],
            )
