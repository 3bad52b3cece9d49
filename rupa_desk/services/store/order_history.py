"""Where the order history download stands, and which late orders were followed up.

The download reads Rupa's order list page by page (newest first). Its cursor is kept here
after every page, so an interrupted download resumes at the page it had reached; once a run
completes, the next one reads only the pages with orders newer than what it already has.

Follow-ups are this PC's own: who marked a late order as followed up, and when.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from rupa_desk.services.store.sync_state import from_iso, to_iso, utc_now


@dataclass(frozen=True, slots=True)
class HistoryCursor:
    """The order history download's progress.

    Attributes:
        next_url: the next page of a run under way (None: no run is under way).
        run_newest_submitted: the newest order of the run under way.
        complete_through: the newest order of the last complete run (None: never complete);
            a new run can stop at pages older than this.
        completed_at: when the last run completed.
        orders_seen: orders read by the runs so far (informative).
    """

    next_url: str | None = None
    run_newest_submitted: datetime | None = None
    complete_through: datetime | None = None
    completed_at: datetime | None = None
    orders_seen: int = 0

    @property
    def in_progress(self) -> bool:
        return self.next_url is not None


@dataclass(frozen=True, slots=True)
class FollowUp:
    """A late order someone followed up."""

    order_id: str
    by: str
    at: datetime


class OrderHistoryState:
    """The `order_history` row and the `order_follow_ups` table."""

    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._db = db
        self._clock = clock

    def cursor(self) -> HistoryCursor:
        row = self._db.execute(
            "SELECT next_url, run_newest_submitted, complete_through, completed_at, orders_seen"
            " FROM order_history WHERE id = 1"
        ).fetchone()
        if row is None:
            return HistoryCursor()
        return HistoryCursor(row[0], from_iso(row[1]), from_iso(row[2]), from_iso(row[3]), row[4])

    def save_cursor(self, cursor: HistoryCursor) -> None:
        """Keep the cursor (one row)."""
        with self._db.atomic():
            self._db.execute(
                "INSERT INTO order_history (id, next_url, run_newest_submitted,"
                " complete_through, completed_at, orders_seen) VALUES (1, ?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET next_url = excluded.next_url,"
                " run_newest_submitted = excluded.run_newest_submitted,"
                " complete_through = excluded.complete_through,"
                " completed_at = excluded.completed_at, orders_seen = excluded.orders_seen",
                [
                    cursor.next_url,
                    _iso(cursor.run_newest_submitted),
                    _iso(cursor.complete_through),
                    _iso(cursor.completed_at),
                    cursor.orders_seen,
                ],
            )

    def mark_followed_up(self, order_id: str, by: str) -> FollowUp:
        """Note that `by` followed up a late order now (again: the newest is kept)."""
        follow_up = FollowUp(order_id, by, self._clock())
        with self._db.atomic():
            self._db.execute(
                "INSERT INTO order_follow_ups (order_id, followed_up_by, followed_up_at)"
                " VALUES (?, ?, ?) ON CONFLICT (order_id) DO UPDATE SET"
                " followed_up_by = excluded.followed_up_by,"
                " followed_up_at = excluded.followed_up_at",
                [order_id, by, to_iso(follow_up.at)],
            )
        return follow_up

    def follow_ups(self) -> dict[str, FollowUp]:
        """Every follow-up, by order id."""
        found = {}
        for order_id, by, at in self._db.execute(
            "SELECT order_id, followed_up_by, followed_up_at FROM order_follow_ups"
        ):
            moment = from_iso(at)
            if moment is not None:
                found[str(order_id)] = FollowUp(str(order_id), str(by), moment)
        return found


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else to_iso(moment)
