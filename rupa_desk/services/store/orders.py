"""Orders, their ordered tests and the history of statuses seen, in the database.

Orders are Rupa's (the system of record); this is a cache that the order poller keeps fresh,
plus what only this PC knows: which draft an order came from, which status changes it saw
and when, and where it saved each result PDF. Every save of an order (its row, its tests and
a status change) is one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from rupa_desk.core.models import Order, OrderedTest
from rupa_desk.core.money import cents_to_price, price_to_cents
from rupa_desk.core.status import is_finished, is_terminal_status
from rupa_desk.services.store.errors import StoreError
from rupa_desk.services.store.sync_state import from_iso, to_iso, utc_now


class UnknownOrderError(StoreError, LookupError):
    """No order with this id is in the database."""

    def __init__(self, order_id: str) -> None:
        self.order_id = order_id
        super().__init__(
            "This order is not on this computer yet. Refresh the orders, then try again."
        )


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """What saving an order changed.

    Attributes:
        order_id: the order.
        previous_status: the status known before (None: the order is new here).
        status: the status now.
        finished: the order will not change any more (stop polling it).
    """

    order_id: str
    previous_status: str | None
    status: str
    finished: bool

    @property
    def is_new(self) -> bool:
        return self.previous_status is None

    @property
    def status_changed(self) -> bool:
        """True when a known order moved to another status."""
        return self.previous_status is not None and self.previous_status != self.status


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """A status this PC saw, and when it first saw it."""

    status: str
    observed_at: datetime


@dataclass(frozen=True, slots=True)
class StoredOrderedTest:
    """An ordered test as the order detail shows it.

    Attributes:
        id: the ordered test (`ordts_…`).
        lab_test_id: the catalog test.
        name: its name from the local catalog ("" when not in it).
        lab_company: its lab company from the local catalog ("" when not in it).
        results_pdf: Rupa's URL of the result PDF, once there are results.
        date_results_received: when the lab sent the results Rupa has now.
        results_file: the downloaded PDF, when downloaded.
        results_file_received: the `date_results_received` of the downloaded file (a result
            re-issued later has a newer date: the file is then out of date).
        requisition: Rupa's URL of the requisition PDF (the form that goes with the
            sample), once there is one.
    """

    id: str
    lab_test_id: str | None
    name: str
    lab_company: str
    results_pdf: str | None
    date_results_received: datetime | None
    results_file: Path | None
    results_file_received: datetime | None
    requisition: str | None = None

    @property
    def has_results(self) -> bool:
        return self.results_pdf is not None

    @property
    def results_up_to_date(self) -> bool:
        """True when the downloaded file holds the results Rupa has now."""
        return self.results_file is not None and (
            self.results_file_received == self.date_results_received
        )


@dataclass(frozen=True, slots=True)
class OrderRow:
    """An order as the orders list shows it."""

    id: str
    status: str
    patient_id: str | None
    patient_name: str | None
    practitioner_id: str | None
    date_submitted: datetime | None
    total_price: Decimal | None
    draft_id: str | None
    results_count: int

    @property
    def finished(self) -> bool:
        return is_terminal_status(self.status)


@dataclass(frozen=True, slots=True)
class OrderDetail:
    """One order with its tests, dates and the statuses seen."""

    row: OrderRow
    order_intent_id: str | None
    date_paid: datetime | None
    date_completed: datetime | None
    date_canceled: datetime | None
    ordered_tests: tuple[StoredOrderedTest, ...]
    history: tuple[StatusEvent, ...]


@dataclass(frozen=True, slots=True)
class TrackedOrder:
    """An order the poller follows, and when it last changed: for an open order its status,
    for a completed one its results (the start of the window for corrections)."""

    id: str
    last_change_at: datetime


@dataclass(frozen=True, slots=True)
class OrderFilters:
    """What the orders list shows.

    Attributes:
        practitioner_id: only this practitioner's orders (None: the whole clinic).
        status: only orders in this status.
        patient_id: only this patient's orders.
        text: words matched against the patient's name and the order id.
    """

    practitioner_id: str | None = None
    status: str | None = None
    patient_id: str | None = None
    text: str = ""


_ROW_SELECT = (
    "SELECT o.id, o.status, o.patient_id, p.first_name || ' ' || p.last_name, o.practitioner_id,"
    " o.date_submitted, o.total_price_cents, o.draft_id,"
    " (SELECT count(*) FROM ordered_tests t WHERE t.order_id = o.id AND t.results_pdf IS NOT NULL)"
    " FROM orders o LEFT JOIN patients p ON p.id = o.patient_id"
)


class Orders:
    """The `orders`, `ordered_tests` and `order_status_history` tables."""

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

    # -- saving --------------------------------------------------------------------------------

    def save(self, order: Order, *, draft_id: str | None = None) -> OrderUpdate:
        """Save an order fetched from Rupa (and its tests, when they were included)."""
        return self.save_many([order], draft_ids={order.id: draft_id} if draft_id else None)[0]

    def save_many(
        self, orders: Iterable[Order], *, draft_ids: dict[str, str] | None = None
    ) -> list[OrderUpdate]:
        """Save orders (e.g. a page of the list) in one transaction; status changes go to
        the history."""
        now = to_iso(self._clock())
        updates = []
        with self._db.atomic():
            for order in orders:
                updates.append(self._save_one(order, now, (draft_ids or {}).get(order.id)))
        return updates

    def _save_one(self, order: Order, now: str, draft_id: str | None) -> OrderUpdate:
        row = self._db.execute(
            "SELECT status, draft_id FROM orders WHERE id = ?", [order.id]
        ).fetchone()
        previous = None if row is None else str(row[0])
        values = {
            "id": order.id,
            "status": order.status,
            "patient_id": order.patient_id,
            "order_intent_id": order.order_intent_id,
            "draft_id": draft_id or (None if row is None else row[1]),
            "total_price_cents": price_to_cents(order.total_price),
            "date_submitted": _iso(order.date_submitted),
            "date_paid": _iso(order.date_paid),
            "date_completed": _iso(order.date_completed),
            "date_canceled": _iso(order.date_canceled),
            "fetched_at": now,
            "practitioner_id": order.patients_practitioner_id,
            "raw": json.dumps(dict(order.raw), default=str),
        }
        columns = ", ".join(values)
        updates = ", ".join(f"{c} = excluded.{c}" for c in values if c != "id")
        self._db.execute(
            f"INSERT INTO orders ({columns}) VALUES ({', '.join('?' * len(values))})"
            f" ON CONFLICT (id) DO UPDATE SET {updates}",
            list(values.values()),
        )
        if previous != order.status:
            self._db.execute(
                "INSERT INTO order_status_history (order_id, status, observed_at) VALUES (?, ?, ?)",
                [order.id, order.status, now],
            )
        for test in order.ordered_tests:
            self._save_test(order.id, test)
        return OrderUpdate(order.id, previous, order.status, is_finished(order))

    def _save_test(self, order_id: str, test: OrderedTest) -> None:
        self._db.execute(
            "INSERT INTO ordered_tests (id, order_id, lab_test_id, requisition, results_pdf,"
            " results_hl7, date_results_received, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET lab_test_id = excluded.lab_test_id,"
            " requisition = excluded.requisition, results_pdf = excluded.results_pdf,"
            " results_hl7 = excluded.results_hl7,"
            " date_results_received = excluded.date_results_received, raw = excluded.raw",
            [
                test.id,
                order_id,
                test.lab_test_id,
                test.requisition,
                test.results_pdf,
                test.results_hl7,
                _iso(test.date_results_received_from_lab),
                json.dumps(dict(test.raw), default=str),
            ],
        )

    def set_results_file(self, ordered_test_id: str, path: Path, received: datetime | None) -> None:
        """Remember the downloaded result PDF of an ordered test (and which result it is)."""
        with self._db.atomic():
            self._db.execute(
                "UPDATE ordered_tests SET results_file = ?, results_file_received = ? WHERE id = ?",
                [str(path), _iso(received), ordered_test_id],
            )

    # -- reading -------------------------------------------------------------------------------

    def listing(
        self, filters: OrderFilters = OrderFilters(), *, ids: Iterable[str] | None = None
    ) -> list[OrderRow]:
        """Orders matching `filters`, newest first; only those among `ids` when given."""
        conditions: list[str] = []
        params: list[Any] = []
        if ids is not None:
            wanted = list(dict.fromkeys(ids))
            if not wanted:
                return []
            conditions.append(f"o.id IN ({','.join('?' * len(wanted))})")
            params += wanted
        if filters.practitioner_id is not None:
            conditions.append("o.practitioner_id = ?")
            params.append(filters.practitioner_id)
        if filters.status is not None:
            conditions.append("o.status = ?")
            params.append(filters.status)
        if filters.patient_id is not None:
            conditions.append("o.patient_id = ?")
            params.append(filters.patient_id)
        for word in filters.text.split():
            conditions.append(
                "(o.id LIKE ? ESCAPE '\\' OR p.first_name || ' ' || p.last_name LIKE ? ESCAPE '\\')"
            )
            pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            params += [pattern, pattern]
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        rows = self._db.execute(
            f"{_ROW_SELECT}{where} ORDER BY coalesce(o.date_submitted, o.fetched_at) DESC, o.id",
            params,
        ).fetchall()
        return [_row(r) for r in rows]

    def statuses(self) -> list[str]:
        """The statuses the cached orders have (for the status filter)."""
        return [
            str(r[0])
            for r in self._db.execute("SELECT DISTINCT status FROM orders ORDER BY status")
        ]

    def patients(self) -> list[tuple[str, str]]:
        """(patient id, name) of the patients with orders, by name (for the patient filter)."""
        rows = self._db.execute(
            "SELECT DISTINCT o.patient_id, coalesce(p.first_name || ' ' || p.last_name,"
            " o.patient_id) AS name FROM orders o LEFT JOIN patients p ON p.id = o.patient_id"
            " WHERE o.patient_id IS NOT NULL ORDER BY name"
        ).fetchall()
        return [(str(r[0]), str(r[1])) for r in rows]

    def unnamed_patient_ids(self) -> list[str]:
        """Patients of cached orders who are not in the patients cache (no name to show)."""
        return [
            str(r[0])
            for r in self._db.execute(
                "SELECT DISTINCT o.patient_id FROM orders o"
                " LEFT JOIN patients p ON p.id = o.patient_id"
                " WHERE o.patient_id IS NOT NULL AND p.id IS NULL ORDER BY o.patient_id"
            )
        ]

    def row(self, order_id: str) -> OrderRow:
        found = self._db.execute(f"{_ROW_SELECT} WHERE o.id = ?", [order_id]).fetchone()
        if found is None:
            raise UnknownOrderError(order_id)
        return _row(found)

    def detail(self, order_id: str) -> OrderDetail:
        """One order with its tests and history.

        Raises:
            UnknownOrderError: it is not in the database.
        """
        row = self.row(order_id)
        extra = self._db.execute(
            "SELECT order_intent_id, date_paid, date_completed, date_canceled FROM orders"
            " WHERE id = ?",
            [order_id],
        ).fetchone()
        return OrderDetail(
            row=row,
            order_intent_id=extra[0],
            date_paid=from_iso(extra[1]),
            date_completed=from_iso(extra[2]),
            date_canceled=from_iso(extra[3]),
            ordered_tests=tuple(self.ordered_tests(order_id)),
            history=tuple(self.history(order_id)),
        )

    def ordered_tests(self, order_id: str) -> list[StoredOrderedTest]:
        self._before_catalog_read()
        rows = self._db.execute(
            "SELECT t.id, t.lab_test_id, coalesce(c.name, ''), coalesce(c.lab_company_name, ''),"
            " t.results_pdf, t.date_results_received, t.results_file, t.results_file_received,"
            " t.requisition FROM ordered_tests t LEFT JOIN lab_tests c ON c.id = t.lab_test_id"
            " WHERE t.order_id = ? ORDER BY t.id",
            [order_id],
        ).fetchall()
        return [
            StoredOrderedTest(
                id=str(r[0]),
                lab_test_id=r[1],
                name=str(r[2]),
                lab_company=str(r[3]),
                results_pdf=r[4],
                date_results_received=from_iso(r[5]),
                results_file=None if r[6] is None else Path(r[6]),
                results_file_received=from_iso(r[7]),
                requisition=r[8],
            )
            for r in rows
        ]

    def history(self, order_id: str) -> list[StatusEvent]:
        """The statuses seen, oldest first."""
        return [
            StatusEvent(str(status), _aware(observed))
            for status, observed in self._db.execute(
                "SELECT status, observed_at FROM order_status_history WHERE order_id = ?"
                " ORDER BY observed_at, id",
                [order_id],
            )
        ]

    def tracked(self) -> list[TrackedOrder]:
        """Orders that may still change, with when their status last changed: a change this
        PC saw (not the first sighting, which is no change), or else Rupa's latest date."""
        rows = self._db.execute(
            "SELECT o.id, o.status, o.date_submitted, o.date_paid, o.fetched_at,"
            " (SELECT max(h.observed_at) FROM order_status_history h WHERE h.order_id = o.id"
            "  AND h.id > (SELECT min(f.id) FROM order_status_history f"
            "  WHERE f.order_id = o.id))"
            " FROM orders o WHERE o.date_completed IS NULL AND o.date_canceled IS NULL"
        ).fetchall()
        tracked = []
        for order_id, status, submitted, paid, fetched, seen_change in rows:
            if is_terminal_status(str(status)):
                continue
            moments = [_aware(t) for t in (seen_change, paid, submitted) if t is not None]
            last = max(moments) if moments else from_iso(fetched) or self._clock()
            tracked.append(TrackedOrder(str(order_id), last))
        return tracked

    def completed(self, *, since: datetime) -> list[TrackedOrder]:
        """Completed orders (not canceled) whose results last arrived at `since` or later,
        with when: the latest of their ordered tests' dates, else the completion date, as
        `rupa_desk.core.status.results_arrived_at` says it for an order in hand. (A clinic's
        whole history may be here: the older ones are left in the database.)"""
        rows = self._db.execute(
            "SELECT id, arrived FROM (SELECT o.id AS id, coalesce((SELECT"
            " max(t.date_results_received) FROM ordered_tests t WHERE t.order_id = o.id),"
            " o.date_completed) AS arrived FROM orders o"
            " WHERE o.date_completed IS NOT NULL AND o.date_canceled IS NULL)"
            " WHERE arrived >= :since",
            {"since": to_iso(since)},
        ).fetchall()
        return [TrackedOrder(str(order_id), _aware(arrived)) for order_id, arrived in rows]


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else to_iso(moment)


def _aware(text: str) -> datetime:
    moment = from_iso(text)
    if moment is None:
        raise ValueError("a status change always has a time")
    return moment


def _row(r: Sequence[Any]) -> OrderRow:
    return OrderRow(
        id=str(r[0]),
        status=str(r[1]),
        patient_id=r[2],
        patient_name=r[3],
        practitioner_id=r[4],
        date_submitted=from_iso(r[5]),
        total_price=cents_to_price(r[6]),
        draft_id=r[7],
        results_count=int(r[8]),
    )
