"""Drafts in the database: precious, user-authored, written before anything else happens.

Every change goes through the pure state machine of `rupa_desk.core.drafts` and is written in
one transaction (`update`): read the draft, apply the change, write it back. The outbox and the
UI share this object on the UI thread, so a change made while a request is in flight is never
lost: the outbox applies its outcome to the draft as it is *then*, not as it was when it sent.

A draft test also keeps the name and price it had when it was added, so a draft reads well
when the catalog changes or has not been downloaded on this PC; the listing prefers the
current catalog price and flags tests that have left the catalog.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlite_utils import Database

from rupa_desk.core.drafts import Draft, DraftState
from rupa_desk.core.money import cents_to_price, price_to_cents
from rupa_desk.services.store.errors import UnknownDraftError
from rupa_desk.services.store.sync_state import from_iso, to_iso, utc_now

DraftChange = Callable[[Draft], Draft]

_COLUMNS = (
    "id, patient_id, notes, status, order_intent_id, order_id, created_at, updated_at,"
    " revision, sent_revision, checkout_url, failure_reason, unconfirmed_create, return_url,"
    " internal_note"
)
_COLUMN_COUNT = len(_COLUMNS.split(","))


@dataclass(frozen=True, slots=True)
class DraftSummary:
    """One draft tests can still be added to, as listed in an "Add to draft" menu."""

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


@dataclass(frozen=True, slots=True)
class DraftLine:
    """A test on a draft as the drafts pane shows it.

    Attributes:
        lab_test_id: the test.
        name: its name (the catalog's, else the one kept when it was added).
        price: the catalog's current price, else the one kept when it was added.
        left_catalog: the catalog (once downloaded) no longer has this test, or it is
            inactive: Rupa may refuse it.
        lab_company: its lab company from the catalog ("" when not in it).
    """

    lab_test_id: str
    name: str
    price: Decimal | None
    left_catalog: bool
    lab_company: str = ""


@dataclass(frozen=True, slots=True)
class DraftListing:
    """A draft with what the drafts pane shows beside it.

    Attributes:
        draft: the draft itself.
        patient_name: from the patients cache (None if no patient or not cached).
        lines: its tests.
        estimated_total: the sum of the known prices (None when no test has a price).
        unpriced: how many tests have no known price.
    """

    draft: Draft
    patient_name: str | None
    lines: tuple[DraftLine, ...]
    estimated_total: Decimal | None
    unpriced: int


class Drafts:
    """The `drafts` and `draft_tests` tables."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], datetime] = utc_now,
        before_catalog_read: Callable[[], None] = lambda: None,
    ) -> None:
        """`before_catalog_read` moves the connection to the newest catalog (the store's
        `CatalogAttachment.ensure_current`), called before a read that joins the catalog."""
        self._db = db
        self._clock = clock
        self._before_catalog_read = before_catalog_read

    # -- create, read, delete ----------------------------------------------------------------

    def new(
        self,
        *,
        patient_id: str | None = None,
        notes: str = "",
        lab_test_ids: Sequence[str] = (),
    ) -> Draft:
        """Create and save a local draft (its tests keep the catalog's names and prices)."""
        draft = Draft.new(
            self._clock(), patient_id=patient_id, notes=notes, lab_test_ids=lab_test_ids
        )
        if lab_test_ids:
            self._before_catalog_read()  # the tests' names and prices come from the catalog
        with self._db.atomic():
            self._insert(draft)
        return draft

    def create(
        self,
        *,
        patient_id: str | None = None,
        notes: str = "",
        lab_test_ids: Sequence[str] = (),
    ) -> str:
        """Create a local draft and return its id (also put in Rupa's metadata)."""
        return self.new(patient_id=patient_id, notes=notes, lab_test_ids=lab_test_ids).id

    def get(self, draft_id: str) -> Draft:
        """One draft.

        Raises:
            UnknownDraftError: there is no such draft (it may have been deleted).
        """
        row = self._db.execute(f"SELECT {_COLUMNS} FROM drafts WHERE id = ?", [draft_id]).fetchone()
        if row is None:
            raise UnknownDraftError(draft_id)
        return self._draft(row, self._test_ids([draft_id]).get(draft_id, ()))

    def all(self) -> list[Draft]:
        """Every draft, most recently changed first."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM drafts ORDER BY updated_at DESC, id"
        ).fetchall()
        tests = self._test_ids([str(r[0]) for r in rows])
        return [self._draft(r, tests.get(str(r[0]), ())) for r in rows]

    def in_state(self, *states: DraftState) -> list[Draft]:
        """The drafts in these states, oldest first (the order to send them in)."""
        if not states:
            return []
        values = _status_values(states)
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM drafts WHERE status IN ({','.join('?' * len(values))})"
            " ORDER BY created_at, id",
            values,
        ).fetchall()
        tests = self._test_ids([str(r[0]) for r in rows])
        return [self._draft(r, tests.get(str(r[0]), ())) for r in rows]

    def count_in_state(self, *states: DraftState) -> int:
        """How many drafts are in these states (a count only: cheap enough to ask often)."""
        if not states:
            return 0
        values = _status_values(states)
        row = self._db.execute(
            f"SELECT count(*) FROM drafts WHERE status IN ({','.join('?' * len(values))})",
            values,
        ).fetchone()
        return int(row[0])

    def find_by_order(self, order_id: str) -> Draft | None:
        """The draft that became this order, if it was made on this PC."""
        row = self._db.execute("SELECT id FROM drafts WHERE order_id = ?", [order_id]).fetchone()
        return None if row is None else self.get(str(row[0]))

    def find_by_intent(self, order_intent_id: str) -> Draft | None:
        """The draft whose order intent this is, if it was made on this PC."""
        row = self._db.execute(
            "SELECT id FROM drafts WHERE order_intent_id = ?", [order_intent_id]
        ).fetchone()
        return None if row is None else self.get(str(row[0]))

    def delete(self, draft_id: str) -> None:
        """Delete a draft and its tests.

        Raises:
            UnknownDraftError: there is no such draft.
            InvalidDraftTransition: it is being sent right now.
        """
        with self._db.atomic():
            self.get(draft_id).ensure_deletable()
            self._db.execute("DELETE FROM draft_tests WHERE draft_id = ?", [draft_id])
            self._db.execute("DELETE FROM drafts WHERE id = ?", [draft_id])

    # -- change --------------------------------------------------------------------------------

    def update(self, draft_id: str, change: DraftChange) -> Draft:
        """Apply a change to the draft as it is now and save the result, in one transaction.

        Raises:
            UnknownDraftError: there is no such draft.
            InvalidDraftTransition, DraftNotReady, InvalidInput: the change was refused; nothing
                was written.
        """
        with self._db.atomic():
            before = self.get(draft_id)
            after = change(before)
            if after != before:
                self._write(before, after)
        return after

    def edit(
        self,
        draft_id: str,
        *,
        patient_id: str | None = None,
        lab_test_ids: Sequence[str] | None = None,
        notes: str | None = None,
    ) -> Draft:
        """Change the patient, tests or notes (arguments left None stay as they are)."""
        now = self._clock()
        return self.update(
            draft_id,
            lambda d: d.edited(now, patient_id=patient_id, lab_test_ids=lab_test_ids, notes=notes),
        )

    def set_internal_note(self, draft_id: str, internal_note: str) -> Draft:
        """Change the internal note (kept here, never sent; allowed in every state).

        Raises:
            UnknownDraftError: there is no such draft.
            InvalidInput: the note is too long; nothing was written.
        """
        now = self._clock()
        return self.update(draft_id, lambda d: d.with_internal_note(now, internal_note))

    def add_test(
        self, draft_id: str, lab_test_id: str, *, name: str, price: Decimal | None
    ) -> bool:
        """Add a test at the end of a draft, keeping its name and price; False if it was
        already on it.

        Raises:
            UnknownDraftError: there is no such draft.
            InvalidDraftTransition: the draft has been checked out.
        """
        now = self._clock()
        with self._db.atomic():
            before = self.get(draft_id)
            after = before.with_test_added(now, lab_test_id)
            if after == before:
                return False
            self._write(before, after, known={lab_test_id: (name, price_to_cents(price))})
        return True

    def remove_test(self, draft_id: str, lab_test_id: str) -> None:
        """Remove a test from a draft (nothing happens if it was not on it)."""
        now = self._clock()
        self.update(draft_id, lambda d: d.with_test_removed(now, lab_test_id))

    def recover_interrupted(self) -> list[Draft]:
        """At start-up: drafts left `sending` by a crash are queued to be sent again."""
        now = self._clock()
        return [
            self.update(d.id, lambda d: d.recover_interrupted(now))
            for d in self.in_state(DraftState.SENDING)
        ]

    # -- what the panes show -------------------------------------------------------------------

    def tests(self, draft_id: str) -> list[DraftTest]:
        """The tests on a draft, in the order they were added, as they were added."""
        self.get(draft_id)
        rows = self._db.execute(
            "SELECT lab_test_id, name, price_cents FROM draft_tests WHERE draft_id = ?"
            " ORDER BY position",
            [draft_id],
        ).fetchall()
        return [DraftTest(str(r[0]), str(r[1]), cents_to_price(r[2])) for r in rows]

    def open_drafts(self, patient_id: str | None = None) -> list[DraftSummary]:
        """Drafts tests can still be added to (not checked out), most recently changed first;
        only this patient's when `patient_id` is given."""
        mine = " AND d.patient_id = ?" if patient_id is not None else ""
        params = [DraftState.CHECKED_OUT.value]
        if patient_id is not None:
            params.append(patient_id)
        rows = self._db.execute(
            "SELECT d.id, d.patient_id,"
            " (SELECT count(*) FROM draft_tests t WHERE t.draft_id = d.id), d.updated_at"
            f" FROM drafts d WHERE d.status != ?{mine} ORDER BY d.updated_at DESC, d.id",
            params,
        ).fetchall()
        return [
            DraftSummary(str(r[0]), r[1], int(r[2]), from_iso(r[3]) or self._clock()) for r in rows
        ]

    def listing(
        self,
        draft_ids: Iterable[str] | None = None,
        *,
        checked_out_since: datetime | None = None,
        open_only: bool = False,
    ) -> list[DraftListing]:
        """Drafts with patient names, tests (current prices, tests that left the catalog) and
        estimated totals, most recently changed first.

        Args:
            draft_ids: just these drafts (read by id; the others are not read at all).
            checked_out_since: leave out drafts checked out before this time (their orders
                are in the Orders pane); None lists them all.
            open_only: leave out every checked-out draft (each is found from its order).
        """
        conditions: list[str] = []
        params: list[Any] = []
        if draft_ids is not None:
            wanted = list(dict.fromkeys(draft_ids))
            if not wanted:
                return []
            conditions.append(f"id IN ({','.join('?' * len(wanted))})")
            params += wanted
        if open_only:
            conditions.append("status != ?")
            params.append(DraftState.CHECKED_OUT.value)
        if checked_out_since is not None:
            conditions.append("(status != ? OR updated_at >= ?)")
            params += [DraftState.CHECKED_OUT.value, to_iso(checked_out_since)]
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM drafts{where} ORDER BY updated_at DESC, id", params
        ).fetchall()
        if not rows:
            return []
        ids = [str(r[0]) for r in rows]
        drafts = [self._draft(r, ()) for r in rows]
        self._before_catalog_read()
        catalog_known = self._db.execute("SELECT EXISTS (SELECT 1 FROM lab_tests)").fetchone()[0]
        lines: dict[str, list[DraftLine]] = {draft_id: [] for draft_id in ids}
        for chunk in _chunks(ids):
            for row in self._db.execute(
                "SELECT t.draft_id, t.lab_test_id, coalesce(c.name, t.name),"
                " coalesce(c.price_cents, t.price_cents), c.id IS NULL OR c.is_active = 0,"
                " coalesce(c.lab_company_name, '')"
                " FROM draft_tests t LEFT JOIN lab_tests c ON c.id = t.lab_test_id"
                f" WHERE t.draft_id IN ({','.join('?' * len(chunk))})"
                " ORDER BY t.draft_id, t.position",
                chunk,
            ):
                lines[str(row[0])].append(
                    DraftLine(
                        str(row[1]),
                        str(row[2]),
                        cents_to_price(row[3]),
                        bool(row[4] and catalog_known),
                        str(row[5]),
                    )
                )
        patient_ids = sorted({d.patient_id for d in drafts if d.patient_id})
        names: dict[str, str] = {}
        for chunk in _chunks(patient_ids):
            for pid, first, last in self._db.execute(
                "SELECT id, first_name, last_name FROM patients"
                f" WHERE id IN ({','.join('?' * len(chunk))})",
                chunk,
            ):
                names[str(pid)] = f"{first} {last}".strip()
        listings = []
        for draft in drafts:
            draft_lines = tuple(lines[draft.id])
            prices = [line.price for line in draft_lines if line.price is not None]
            listings.append(
                DraftListing(
                    draft=replace(draft, lab_test_ids=tuple(t.lab_test_id for t in draft_lines)),
                    patient_name=names.get(draft.patient_id or ""),
                    lines=draft_lines,
                    estimated_total=sum(prices, Decimal(0)) if prices else None,
                    unpriced=len(draft_lines) - len(prices),
                )
            )
        return listings

    def count_checked_out_before(self, moment: datetime) -> int:
        """How many drafts were checked out before `moment` (hidden from the list)."""
        row = self._db.execute(
            "SELECT count(*) FROM drafts WHERE status = ? AND updated_at < ?",
            [DraftState.CHECKED_OUT.value, to_iso(moment)],
        ).fetchone()
        return int(row[0])

    # -- rows ----------------------------------------------------------------------------------

    def _insert(self, draft: Draft) -> None:
        self._db.execute(
            f"INSERT INTO drafts ({_COLUMNS}) VALUES ({','.join('?' * _COLUMN_COUNT)})",
            self._values(draft),
        )
        self._write_tests(draft, {}, {})

    def _write(
        self,
        before: Draft,
        after: Draft,
        *,
        known: dict[str, tuple[str, int | None]] | None = None,
    ) -> None:
        if after.id != before.id:
            raise ValueError("a change cannot give a draft another id")
        self._db.execute(
            "UPDATE drafts SET patient_id = ?, notes = ?, status = ?, order_intent_id = ?,"
            " order_id = ?, created_at = ?, updated_at = ?, revision = ?, sent_revision = ?,"
            " checkout_url = ?, failure_reason = ?, unconfirmed_create = ?, return_url = ?,"
            " internal_note = ? WHERE id = ?",
            [*self._values(after)[1:], after.id],
        )
        if after.lab_test_ids != before.lab_test_ids:
            existing = {
                str(r[0]): (str(r[1]), r[2], str(r[3]))
                for r in self._db.execute(
                    "SELECT lab_test_id, name, price_cents, added_at FROM draft_tests"
                    " WHERE draft_id = ?",
                    [after.id],
                )
            }
            self._write_tests(after, existing, known or {})

    def _write_tests(
        self,
        draft: Draft,
        existing: dict[str, tuple[str, int | None, str]],
        known: dict[str, tuple[str, int | None]],
    ) -> None:
        """Make `draft_tests` hold exactly the draft's tests, in order."""
        self._db.execute("DELETE FROM draft_tests WHERE draft_id = ?", [draft.id])
        now = to_iso(self._clock())
        missing = [t for t in draft.lab_test_ids if t not in existing and t not in known]
        catalog: dict[str, tuple[str, int | None]] = {}
        if missing:
            for test_id, name, cents in self._db.execute(
                "SELECT id, name, price_cents FROM lab_tests"
                f" WHERE id IN ({','.join('?' * len(missing))})",
                missing,
            ):
                catalog[str(test_id)] = (str(name), cents)
        for position, test_id in enumerate(draft.lab_test_ids):
            if test_id in existing:
                name, cents, added_at = existing[test_id]
            else:
                name, cents = known.get(test_id) or catalog.get(test_id) or ("", None)
                added_at = now
            self._db.execute(
                "INSERT INTO draft_tests (draft_id, lab_test_id, position, name, price_cents,"
                " added_at) VALUES (?, ?, ?, ?, ?, ?)",
                [draft.id, test_id, position, name, cents, added_at],
            )

    def _test_ids(self, draft_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        found: dict[str, list[str]] = {}
        for chunk in _chunks(draft_ids):
            for draft_id, test_id in self._db.execute(
                "SELECT draft_id, lab_test_id FROM draft_tests"
                f" WHERE draft_id IN ({','.join('?' * len(chunk))}) ORDER BY draft_id, position",
                chunk,
            ):
                found.setdefault(str(draft_id), []).append(str(test_id))
        return {k: tuple(v) for k, v in found.items()}

    @staticmethod
    def _values(draft: Draft) -> list[Any]:
        return [
            draft.id,
            draft.patient_id,
            draft.notes,
            draft.state.value,
            draft.intent_id,
            draft.order_id,
            to_iso(draft.created_at),
            to_iso(draft.updated_at),
            draft.revision,
            draft.sent_revision,
            draft.checkout_url,
            draft.failure_reason,
            int(draft.unconfirmed_create),
            draft.return_url,
            draft.internal_note,
        ]

    @staticmethod
    def _draft(row: Sequence[Any], lab_test_ids: tuple[str, ...]) -> Draft:
        status = str(row[3])
        return Draft(
            id=str(row[0]),
            patient_id=row[1],
            notes=str(row[2]),
            # 'open' is the column's old default: a draft nobody has sent yet.
            state=DraftState.LOCAL if status == "open" else DraftState(status),
            intent_id=row[4],
            order_id=row[5],
            created_at=_aware(row[6]),
            updated_at=_aware(row[7]),
            revision=int(row[8]),
            sent_revision=row[9],
            checkout_url=row[10],
            failure_reason=row[11],
            unconfirmed_create=bool(row[12]),
            return_url=row[13],
            internal_note=str(row[14]),
            lab_test_ids=lab_test_ids,
        )


def _chunks(values: Sequence[str], size: int = 500) -> Iterator[list[str]]:
    """`values` in lists of at most `size` (SQLite limits the parameters of a statement)."""
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


def _aware(text: str) -> datetime:
    moment = from_iso(text)
    if moment is None:
        raise ValueError("a draft's dates are never empty")
    return moment


def _status_values(states: tuple[DraftState, ...]) -> list[str]:
    """The `status` column's values of `states` (LOCAL is also the column's old default)."""
    values = [state.value for state in states]
    if DraftState.LOCAL in states:
        values.append("open")  # the column's old default (see `_draft`)
    return values
