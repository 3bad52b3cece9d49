"""Building a new catalog beside the live one, and swapping it in in one transaction.

Used by the catalog sync on its own connection and thread:

1. `begin()` drops what a killed sync may have left and creates the staging tables.
2. `add_companies()` / `add_tests()` write each downloaded page in a short transaction, so
   neither the whole catalog nor a long write lock is ever held.
3. `build_and_swap()` numbers the tests in rank order into the `_next` tables and fills their
   indexes, in chunks of short transactions, then drops the live tables and renames the
   `_next` ones into place in one transaction, together with the lab companies and the sync
   time. Until that commit, every reader sees the old catalog; if the process dies before it,
   the old catalog is untouched and the leftovers are dropped by the next `begin()`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Final

from sqlite_utils import Database

from rupa_desk.core.models import LabCompany, LabTest
from rupa_desk.core.money import price_to_cents
from rupa_desk.services.store.catalog_schema import (
    SWAPPED_TABLES,
    catalog_ddl,
    company_tag,
    name_key,
    sample_type_key,
    sample_type_tag,
)
from rupa_desk.services.store.sync_state import CATALOG, SyncState

log = logging.getLogger(__name__)

NEXT: Final = "_next"
#: Rows per transaction while building the next catalog (each one a short write lock).
CHUNK_ROWS: Final = 5000

_STAGING_DDL: Final = """
CREATE TABLE stage_lab_companies (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    short_name TEXT NOT NULL,
    raw TEXT NOT NULL
);
CREATE TABLE stage_lab_tests (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    lab_company_id TEXT,
    lab_company_name TEXT NOT NULL,
    price_cents INTEGER,
    sample_types TEXT NOT NULL,
    sample_types_key TEXT NOT NULL,
    sample_types_text TEXT NOT NULL,
    sample_type_tags TEXT NOT NULL,
    biomarkers TEXT NOT NULL,
    biomarkers_text TEXT NOT NULL,
    categories TEXT NOT NULL,
    turnaround_days INTEGER,
    is_active INTEGER NOT NULL,
    updated_at TEXT,
    raw TEXT NOT NULL
);
"""
_STAGING_TABLES: Final = ("stage_lab_companies", "stage_lab_tests", "stage_order")


def _test_row(test: LabTest) -> dict[str, object]:
    sample_keys = [sample_type_key(s) for s in test.sample_types]
    return {
        "id": test.id,
        "name": test.name,
        "name_key": name_key(test.name),
        "lab_company_id": test.lab_company_id,
        "lab_company_name": test.lab_company.name if test.lab_company else "",
        "price_cents": price_to_cents(test.price),
        "sample_types": json.dumps(list(test.sample_types)),
        "sample_types_key": "|" + "|".join(sample_keys) + "|",
        "sample_types_text": "; ".join(test.sample_types),
        "sample_type_tags": " ".join(sample_type_tag(s) for s in test.sample_types),
        "biomarkers": json.dumps(list(test.biomarkers)),
        "biomarkers_text": "; ".join(test.biomarkers),
        "categories": json.dumps(list(test.categories)),
        "turnaround_days": test.estimated_days_for_results,
        "is_active": int(test.is_active),
        "updated_at": test.updated_at.isoformat() if test.updated_at else None,
        "raw": json.dumps(dict(test.raw), default=str),
    }


class CatalogBuilder:
    """Stages a downloaded catalog and swaps it in (one connection, one thread)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def begin(self) -> None:
        """Start a build: drop leftovers of an earlier, interrupted one; create staging."""
        self.discard()
        with self._db.atomic():
            self._db.executescript(_STAGING_DDL)

    def discard(self) -> None:
        """Drop the staging and `_next` tables (the live catalog is not touched)."""
        with self._db.atomic():
            for table in (*_STAGING_TABLES, *(t + NEXT for t in SWAPPED_TABLES)):
                self._db.execute(f"DROP TABLE IF EXISTS {table}")

    def add_companies(self, companies: Iterable[LabCompany]) -> int:
        rows = [
            {
                "id": c.id,
                "name": c.name,
                "short_name": c.short_name,
                "raw": json.dumps(dict(c.raw), default=str),
            }
            for c in companies
        ]
        with self._db.atomic():
            self._db.table("stage_lab_companies").insert_all(rows, replace=True)
        return len(rows)

    def add_tests(self, tests: Iterable[LabTest]) -> int:
        """Stage one page of tests (a test seen twice keeps its last version)."""
        rows = [_test_row(test) for test in tests]
        with self._db.atomic():
            self._db.table("stage_lab_tests").insert_all(rows, replace=True)
        return len(rows)

    def clear_tests(self) -> None:
        """Forget the tests staged so far (before downloading them again another way)."""
        with self._db.atomic():
            self._db.execute("DELETE FROM stage_lab_tests")

    def staged_test_count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM stage_lab_tests").fetchone()[0])

    def build_and_swap(
        self, *, synced_at: datetime, checkpoint: Callable[[], None] = lambda: None
    ) -> int:
        """Build the next catalog from staging and swap it in; returns the number of tests.

        `checkpoint` is called between chunks; it may raise (e.g. when the sync is cancelled)
        to stop before the swap, leaving the live catalog as it was.
        """
        db = self._db
        with db.atomic():
            db.executescript(catalog_ddl(NEXT))
            # The rank: the order search shows tests in within one tier.
            db.execute(
                "CREATE TABLE stage_order AS SELECT id FROM stage_lab_tests"
                " ORDER BY is_active DESC, length(name_key), name_key, id"
            )
        total = int(db.execute("SELECT count(*) FROM stage_order").fetchone()[0])
        sample_types: dict[str, tuple[str, int]] = {}
        for low in range(1, total + 1, CHUNK_ROWS):
            checkpoint()
            self._build_chunk(low, low + CHUNK_ROWS - 1, sample_types)
        with db.atomic():
            db.table("catalog_sample_types" + NEXT).insert_all(
                {"key": key, "name": name, "test_count": count}
                for key, (name, count) in sample_types.items()
            )
        checkpoint()
        with db.atomic():
            for table in SWAPPED_TABLES:
                db.execute(f"DROP TABLE {table}")
                db.execute(f"ALTER TABLE {table}{NEXT} RENAME TO {table}")
            db.execute("DELETE FROM lab_companies")
            db.execute(
                "INSERT INTO lab_companies (id, name, short_name, test_count, raw)"
                " SELECT c.id, c.name, c.short_name,"
                " (SELECT count(*) FROM lab_tests t WHERE t.lab_company_id = c.id), c.raw"
                " FROM stage_lab_companies c"
            )
            SyncState(db).record_success(CATALOG, item_count=total, at=synced_at)
        self.discard()
        db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        log.info("Catalog swapped in: %d tests", total)
        return total

    def _build_chunk(self, low: int, high: int, sample_types: dict[str, tuple[str, int]]) -> None:
        """Number one chunk of tests into `lab_tests_next` and index them.

        `sample_types` collects, per sample type key, a display name and a test count.
        """
        db = self._db
        bounds = {"low": low, "high": high}
        with db.atomic():
            db.execute(
                f"INSERT INTO lab_tests{NEXT} (row_no, id, name, name_key, lab_company_id,"
                " lab_company_name, price_cents, sample_types, sample_types_key, biomarkers,"
                " categories, turnaround_days, is_active, updated_at, raw)"
                " SELECT o.rowid, s.id, s.name, s.name_key, s.lab_company_id,"
                " coalesce(c.name, s.lab_company_name), s.price_cents, s.sample_types,"
                " s.sample_types_key, s.biomarkers, s.categories, s.turnaround_days,"
                " s.is_active, s.updated_at, s.raw"
                " FROM stage_order o JOIN stage_lab_tests s ON s.id = o.id"
                " LEFT JOIN stage_lab_companies c ON c.id = s.lab_company_id"
                " WHERE o.rowid BETWEEN :low AND :high ORDER BY o.rowid",
                bounds,
            )
            rows = db.execute(
                "SELECT t.row_no, s.name, s.biomarkers_text, t.lab_company_name,"
                " s.sample_types_text, s.sample_type_tags, s.lab_company_id, t.name_key,"
                " t.sample_types"
                f" FROM lab_tests{NEXT} t JOIN stage_lab_tests s ON s.id = t.id"
                " WHERE t.row_no BETWEEN :low AND :high AND t.is_active = 1"
                " ORDER BY t.row_no",
                bounds,
            ).fetchall()
            db.conn.executemany(
                f"INSERT INTO catalog_words{NEXT}"
                " (rowid, name, biomarkers, company, sample_types, tags) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    (
                        r[0],
                        r[1],
                        r[2],
                        r[3],
                        r[4],
                        (company_tag(r[6]) + " " if r[6] else "") + r[5],
                    )
                    for r in rows
                ),
            )
            junction: set[tuple[str, str, int]] = set()
            for r in rows:
                for sample_type in json.loads(r[8]):
                    key = sample_type_key(sample_type)
                    if (key, r[7], r[0]) in junction:
                        continue
                    junction.add((key, r[7], r[0]))
                    name, count = sample_types.get(key, (sample_type.strip(), 0))
                    sample_types[key] = (name, count + 1)
            db.conn.executemany(
                f"INSERT INTO lab_test_sample_types{NEXT} (sample_type_key, name_key, row_no)"
                " VALUES (?, ?, ?)",
                sorted(junction),
            )
            db.conn.executemany(
                f"INSERT INTO catalog_name_substrings{NEXT} (rowid, name) VALUES (?, ?)",
                ((r[0], r[1]) for r in rows),
            )
            db.conn.executemany(
                f"INSERT INTO catalog_biomarker_substrings{NEXT} (rowid, biomarkers) VALUES (?, ?)",
                ((r[0], r[2]) for r in rows if r[2]),
            )
