"""When each resource was last synced: "catalog as of …", and what the last attempt did."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from sqlite_utils import Database

#: The resource name of the lab catalog (companies and tests) in `sync_state`.
CATALOG: Final = "catalog"


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_iso(moment: datetime) -> str:
    """An aware datetime as ISO 8601 in UTC (naive datetimes are refused: they are a bug)."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime cannot be stored; pass an aware one")
    return moment.astimezone(UTC).isoformat()


def from_iso(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@dataclass(frozen=True, slots=True)
class SyncRecord:
    """What is known about the syncs of one resource.

    Attributes:
        resource: e.g. "catalog".
        last_success_at: when the last complete sync finished; None if there never was one.
        last_attempt_at: when the last sync (good or not) started.
        item_count: how many items the last complete sync brought.
        last_error: why the last attempt failed, or None if it succeeded.
    """

    resource: str
    last_success_at: datetime | None = None
    last_attempt_at: datetime | None = None
    item_count: int | None = None
    last_error: str | None = None


class SyncState:
    """The `sync_state` table."""

    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._db = db
        self._clock = clock

    def get(self, resource: str) -> SyncRecord:
        row = self._db.execute(
            "SELECT last_success_at, last_attempt_at, item_count, last_error"
            " FROM sync_state WHERE resource = ?",
            [resource],
        ).fetchone()
        if row is None:
            return SyncRecord(resource)
        return SyncRecord(resource, from_iso(row[0]), from_iso(row[1]), row[2], row[3])

    def last_success(self, resource: str) -> datetime | None:
        """When `resource` was last synced completely; None if never."""
        return self.get(resource).last_success_at

    def record_attempt(self, resource: str, *, at: datetime | None = None) -> None:
        self._upsert(resource, last_attempt_at=to_iso(at or self._clock()))

    def record_success(self, resource: str, *, item_count: int, at: datetime | None = None) -> None:
        """A complete sync of `resource` finished (in the transaction that makes it live)."""
        when = to_iso(at or self._clock())
        self._upsert(resource, last_success_at=when, item_count=item_count, last_error=None)

    def record_failure(self, resource: str, error: str) -> None:
        """The last attempt failed; `error` is a message without tokens or patient data."""
        self._upsert(resource, last_error=error)

    def forget(self, resource: str) -> None:
        self._db.execute("DELETE FROM sync_state WHERE resource = ?", [resource])

    def _upsert(self, resource: str, **values: object) -> None:
        columns = ", ".join(values)
        placeholders = ", ".join("?" for _ in values)
        updates = ", ".join(f"{column} = excluded.{column}" for column in values)
        self._db.execute(
            f"INSERT INTO sync_state (resource, {columns}) VALUES (?, {placeholders})"
            f" ON CONFLICT (resource) DO UPDATE SET {updates}",
            [resource, *values.values()],
        )
