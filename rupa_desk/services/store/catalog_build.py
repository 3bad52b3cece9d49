"""Building a catalog generation in a file of its own (see `catalog_files`).

Used by the catalog sync on a worker thread, with a connection of its own:

1. `CatalogBuilder.after(files, in_use)` deletes what unfinished builds left and creates the
   next generation's catalog file and, beside it, a staging file for the downloaded pages.
2. `add_companies()` / `add_tests()` stage each downloaded page.
3. `build()` numbers the tests in rank order into the catalog's tables and fills their
   indexes, in chunks (a `checkpoint` between chunks may stop it), deletes the staging file
   and flushes the catalog file to disk. The file is then complete and never written again;
   `catalog_files.publish` makes it the catalog in use (`build_and_publish()` does both on
   one thread; the sync publishes through the store's own connection instead).

`discard()` deletes both files. Nothing here touches the catalog in use or the account's
database, so none of it makes a user's write wait, and a build that dies half-way leaves
only files that the next sync deletes. The files are written without a journal on disk and
without fsync (a crash leaves them unused anyway); `build()` flushes the finished file once.
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
from rupa_desk.services.store.catalog_files import (
    CatalogFiles,
    current_generation,
    flush_to_disk,
    publish,
)
from rupa_desk.services.store.catalog_schema import (
    CATALOG_FORMAT,
    catalog_file_ddl,
    company_tag,
    name_key,
    sample_type_key,
    sample_type_tag,
)
from rupa_desk.services.store.database import connect, create_private_file

log = logging.getLogger(__name__)

#: Rows per transaction while building (the granularity of `checkpoint`).
CHUNK_ROWS: Final = 5000
#: The schema of the staging file on the builder's connection.
STAGING: Final = "staging"

_STAGING_DDL: Final = """
CREATE TABLE staging.stage_lab_companies (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    short_name TEXT NOT NULL,
    raw TEXT NOT NULL
);
CREATE TABLE staging.stage_lab_tests (
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
_TEST_COLUMNS: Final = (
    "id",
    "name",
    "name_key",
    "lab_company_id",
    "lab_company_name",
    "price_cents",
    "sample_types",
    "sample_types_key",
    "sample_types_text",
    "sample_type_tags",
    "biomarkers",
    "biomarkers_text",
    "categories",
    "turnaround_days",
    "is_active",
    "updated_at",
    "raw",
)


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
    """Builds one catalog generation in new files (one connection, used on one thread).

    Args:
        files: the database's catalog files.
        generation: the generation to build (`CatalogFiles.next_generation`); its files must
            not exist yet.

    Raises:
        FileExistsError: a file of that generation exists already.
    """

    def __init__(self, files: CatalogFiles, generation: int) -> None:
        self.files = files
        self.generation = generation
        self.path = files.path(generation)
        self.staging_path = files.staging_path(generation)
        for path in (self.path, self.staging_path):
            if path.exists():
                raise FileExistsError(f"the catalog file {path} exists already")
            create_private_file(path)
        self._db: Database | None = None
        try:
            db = connect(self.path, synchronous="NORMAL")
            self._db = db
            db.execute(f"ATTACH DATABASE ? AS {STAGING}", [str(self.staging_path)])
            for schema in ("main", STAGING):
                # A crash leaves these files unused: no journal on disk, no fsync per commit.
                db.execute(f"PRAGMA {schema}.journal_mode = MEMORY").fetchall()
                db.execute(f"PRAGMA {schema}.synchronous = OFF")
            db.executescript(catalog_file_ddl("main") + _STAGING_DDL)
        except BaseException:
            self.discard()
            raise

    @classmethod
    def start(cls, account_db: Database, files: CatalogFiles) -> CatalogBuilder:
        """Start building the next generation of the catalog of `account_db`.

        Call it holding the sync lock (`sync.CatalogSync` does): it deletes the files that
        unfinished builds left.
        """
        return cls.after(files, current_generation(account_db))

    @classmethod
    def after(cls, files: CatalogFiles, in_use: int | None) -> CatalogBuilder:
        """Start building the generation after `in_use` (the one the database points at).

        Call it holding the sync lock: it deletes the files that unfinished builds left.
        """
        files.remove_unused(in_use, newer_too=True)
        return cls(files, files.next_generation(in_use))

    def build_and_publish(
        self,
        account_db: Database,
        *,
        synced_at: datetime,
        checkpoint: Callable[[], None] = lambda: None,
    ) -> int:
        """`build()`, then make it the catalog in use and delete the old one; returns the
        number of tests. A `checkpoint` that raises stops it before the switch."""
        count = self.build(checkpoint=checkpoint)
        checkpoint()
        publish(account_db, self.generation, item_count=count, synced_at=synced_at)
        self.files.remove_unused(self.generation, newer_too=True)
        return count

    @property
    def _conn(self) -> Database:
        if self._db is None:
            raise RuntimeError("this catalog build is finished or discarded")
        return self._db

    def add_companies(self, companies: Iterable[LabCompany]) -> int:
        rows = [
            (c.id, c.name, c.short_name, json.dumps(dict(c.raw), default=str)) for c in companies
        ]
        db = self._conn
        with db.atomic():
            db.conn.executemany(
                f"INSERT OR REPLACE INTO {STAGING}.stage_lab_companies (id, name, short_name, raw)"
                " VALUES (?, ?, ?, ?)",
                rows,
            )
        return len(rows)

    def add_tests(self, tests: Iterable[LabTest]) -> int:
        """Stage one page of tests (a test seen twice keeps its last version)."""
        rows = [_test_row(test) for test in tests]
        db = self._conn
        columns = ", ".join(_TEST_COLUMNS)
        values = ", ".join(f":{column}" for column in _TEST_COLUMNS)
        with db.atomic():
            db.conn.executemany(
                f"INSERT OR REPLACE INTO {STAGING}.stage_lab_tests ({columns}) VALUES ({values})",
                rows,
            )
        return len(rows)

    def clear_tests(self) -> None:
        """Forget the tests staged so far (before downloading them again another way)."""
        db = self._conn
        with db.atomic():
            db.execute(f"DELETE FROM {STAGING}.stage_lab_tests")

    def staged_test_count(self) -> int:
        row = self._conn.execute(f"SELECT count(*) FROM {STAGING}.stage_lab_tests").fetchone()
        return int(row[0])

    def build(self, *, checkpoint: Callable[[], None] = lambda: None) -> int:
        """Build the catalog from the staged pages; returns the number of tests.

        When it returns, the catalog file is complete, closed and on disk, and the staging
        file is gone. `checkpoint` is called between chunks; it may raise (e.g. when the sync
        is cancelled) to stop the build (then `discard()` it).
        """
        db = self._conn
        with db.atomic():
            # The rank: the order search shows tests in within one tier.
            db.execute(
                f"CREATE TABLE {STAGING}.stage_order AS SELECT id FROM {STAGING}.stage_lab_tests"
                " ORDER BY is_active DESC, length(name_key), name_key, id"
            )
        total = int(db.execute(f"SELECT count(*) FROM {STAGING}.stage_order").fetchone()[0])
        sample_types: dict[str, tuple[str, int]] = {}
        for low in range(1, total + 1, CHUNK_ROWS):
            checkpoint()
            self._build_chunk(low, low + CHUNK_ROWS - 1, sample_types)
        checkpoint()
        with db.atomic():
            db.conn.executemany(
                "INSERT INTO catalog_sample_types (key, name, test_count) VALUES (?, ?, ?)",
                ((key, name, count) for key, (name, count) in sample_types.items()),
            )
            db.execute(
                "INSERT INTO lab_companies (id, name, short_name, test_count, raw)"
                " SELECT c.id, c.name, c.short_name,"
                " (SELECT count(*) FROM lab_tests t WHERE t.lab_company_id = c.id), c.raw"
                f" FROM {STAGING}.stage_lab_companies c"
            )
            db.execute(f"PRAGMA main.user_version = {CATALOG_FORMAT}")
        db.execute(f"DETACH DATABASE {STAGING}")
        self._close()
        self.staging_path.unlink(missing_ok=True)
        flush_to_disk(self.path)
        log.info("Catalog generation %d built: %d tests", self.generation, total)
        return total

    def discard(self) -> None:
        """Close and delete this build's files (the catalog in use is another file)."""
        self._close()
        for path in (self.staging_path, self.path):
            path.unlink(missing_ok=True)

    def _close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            db.close()

    def _build_chunk(self, low: int, high: int, sample_types: dict[str, tuple[str, int]]) -> None:
        """Number one chunk of tests into `lab_tests` and index them.

        `sample_types` collects, per sample type key, a display name and a test count.
        """
        db = self._conn
        bounds = {"low": low, "high": high}
        with db.atomic():
            db.execute(
                "INSERT INTO lab_tests (row_no, id, name, name_key, lab_company_id,"
                " lab_company_name, price_cents, sample_types, sample_types_key, biomarkers,"
                " categories, turnaround_days, is_active, updated_at, raw)"
                " SELECT o.rowid, s.id, s.name, s.name_key, s.lab_company_id,"
                " coalesce(c.name, s.lab_company_name), s.price_cents, s.sample_types,"
                " s.sample_types_key, s.biomarkers, s.categories, s.turnaround_days,"
                " s.is_active, s.updated_at, s.raw"
                f" FROM {STAGING}.stage_order o JOIN {STAGING}.stage_lab_tests s ON s.id = o.id"
                f" LEFT JOIN {STAGING}.stage_lab_companies c ON c.id = s.lab_company_id"
                " WHERE o.rowid BETWEEN :low AND :high ORDER BY o.rowid",
                bounds,
            )
            rows = db.execute(
                "SELECT t.row_no, s.name, s.biomarkers_text, t.lab_company_name,"
                " s.sample_types_text, s.sample_type_tags, s.lab_company_id, t.name_key,"
                " t.sample_types"
                f" FROM lab_tests t JOIN {STAGING}.stage_lab_tests s ON s.id = t.id"
                " WHERE t.row_no BETWEEN :low AND :high AND t.is_active = 1"
                " ORDER BY t.row_no",
                bounds,
            ).fetchall()
            db.conn.executemany(
                "INSERT INTO catalog_words"
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
                "INSERT INTO lab_test_sample_types (sample_type_key, name_key, row_no)"
                " VALUES (?, ?, ?)",
                sorted(junction),
            )
            db.conn.executemany(
                "INSERT INTO catalog_name_substrings (rowid, name) VALUES (?, ?)",
                ((r[0], r[1]) for r in rows),
            )
            db.conn.executemany(
                "INSERT INTO catalog_biomarker_substrings (rowid, biomarkers) VALUES (?, ?)",
                ((r[0], r[2]) for r in rows if r[2]),
            )
