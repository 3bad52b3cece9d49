"""The catalog's own files: each sync builds a complete catalog in a new file, then switches.

The catalog is a disposable cache and by far the largest writer of the app: a sync writes the
whole catalog (at 100,000 tests, hundreds of megabytes and many seconds of work). So it lives
in files of its own beside the account's database, and the user's writes (drafts, notes,
patients) never wait for the sync's write lock:

    rupa-desk.sqlite3                     the account's database: user data, sync state, and
                                          `catalog_file`, the generation in use
    rupa-desk.catalog-7.sqlite3           generation 7: a complete catalog, never written again
    rupa-desk.catalog-8.sqlite3           generation 8, being built by a sync, with the pages
    rupa-desk.catalog-8.staging.sqlite3   it has downloaded so far

A sync builds generation n+1 completely (`catalog_build`), flushes it to disk, then
`publish`es it: one small transaction in the account's database points `catalog_file` at it
and records the sync time (in the app, on the store's own connection: see `sync`). Until
that commit every reader uses generation n; a sync that fails, is cancelled or is killed
leaves generation n untouched, and the next sync deletes what it left.

Each connection that reads the catalog has the generation in use ATTACHed, read-only and
immutable, as the schema `catalog`. The catalog's table names are used nowhere else, so
queries name them without a schema (`FROM lab_tests`) and drafts and orders join them to
their own tables. `CatalogAttachment.ensure_current()` moves a connection to a newer
generation once one is published; every catalog read calls it first.

A generation is deleted once it is no longer in use. Windows cannot delete a file that is
open (another process may still read it): generation numbers are never reused, so such a
file is simply left for a later attempt (the next sync, opening the store, the next switch).
POSIX deletes it at once; a connection that still has it attached reads it until it switches.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Final

from sqlite_utils import Database

from rupa_desk.services.store.catalog_schema import CATALOG_FORMAT, catalog_file_ddl
from rupa_desk.services.store.sync_state import CATALOG, SyncState

log = logging.getLogger(__name__)

#: The schema name under which a connection sees its catalog file.
CATALOG_SCHEMA: Final = "catalog"

#: The account database's pointer to the generation in use (migration m010_catalog_files).
CATALOG_FILE_DDL: Final = """
CREATE TABLE IF NOT EXISTS catalog_file (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL
);
"""

_NAME = re.compile(r"\.catalog-(\d+)(\.staging)?\.sqlite3(-journal|-wal|-shm)?")


class CatalogFiles:
    """Where the catalog generations of one database live, and deleting the ones not in use.

    Args:
        database_path: the account's database; its catalog files are named after it, in the
            same folder.
    """

    def __init__(self, database_path: Path) -> None:
        self.folder = database_path.parent
        self._stem = database_path.stem

    def path(self, generation: int) -> Path:
        """The catalog file of a generation."""
        return self.folder / f"{self._stem}.catalog-{generation}.sqlite3"

    def staging_path(self, generation: int) -> Path:
        """The file of the pages a sync has downloaded for a generation it builds."""
        return self.folder / f"{self._stem}.catalog-{generation}.staging.sqlite3"

    def on_disk(self) -> dict[Path, int]:
        """Every file of this database's catalog generations (SQLite's side files too)."""
        found: dict[Path, int] = {}
        try:
            entries = list(self.folder.iterdir())
        except FileNotFoundError:
            return found
        for entry in entries:
            name = entry.name
            if not name.startswith(self._stem):
                continue
            match = _NAME.fullmatch(name[len(self._stem) :])
            if match is not None:
                found[entry] = int(match.group(1))
        return found

    def next_generation(self, current: int | None) -> int:
        """A generation number never used before (above the current one and above any file
        that could not be deleted yet)."""
        return max([current or 0, *self.on_disk().values()]) + 1

    def remove_unused(self, in_use: int | None, *, newer_too: bool) -> list[Path]:
        """Delete the files of the generations other than `in_use`; returns those left.

        Args:
            in_use: the generation the database points at (its catalog file is kept).
            newer_too: also delete files newer than `in_use` (leftovers of syncs that did
                not finish). Only the holder of the sync lock may, since otherwise they may
                belong to a sync running right now.
        """
        keep = None if in_use is None else self.path(in_use)
        left = []
        for path, generation in sorted(self.on_disk().items(), key=lambda item: item[1]):
            if path == keep or (generation > (in_use or 0) and not newer_too):
                continue
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            except OSError as exc:  # Windows: another connection still has it open
                log.debug("Catalog file %s not deleted yet: %s", path.name, exc)
                left.append(path)
        return left


def current_generation(db: Database) -> int | None:
    """The catalog generation the account's database points at; None: no catalog yet."""
    row = db.execute("SELECT generation FROM catalog_file").fetchone()
    return None if row is None else int(row[0])


def publish(db: Database, generation: int, *, item_count: int, synced_at: datetime) -> None:
    """Make a complete, flushed catalog file the one in use, with its sync time, atomically.

    Args:
        db: a connection to the account's database.
        generation: the new generation (its file is complete and on disk).
        item_count: the tests it holds.
        synced_at: the "catalog as of" time (an aware datetime).
    """
    with db.atomic():
        db.execute(
            "INSERT INTO catalog_file (id, generation) VALUES (1, ?)"
            " ON CONFLICT (id) DO UPDATE SET generation = excluded.generation",
            [generation],
        )
        SyncState(db).record_success(CATALOG, item_count=item_count, at=synced_at)


class CatalogAttachment:
    """Keeps the catalog generation in use attached to one connection, as `catalog`.

    With no catalog yet (or a file that is missing, unreadable or of another format), an
    empty in-memory catalog is attached, so that catalog queries simply find nothing.

    Args:
        db: the connection (to the account's database, migrated).
        files: the database's catalog files.
        cache_mib: the page cache of the attached catalog (None: SQLite's default).
    """

    def __init__(self, db: Database, files: CatalogFiles, *, cache_mib: int | None = None) -> None:
        self._db = db
        self._files = files
        self._cache_mib = cache_mib
        self._attached = False
        self._generation: int | None = None
        self._file_attached = False
        self.ensure_current()

    @property
    def generation(self) -> int | None:
        """The generation the database points at (None: no catalog yet)."""
        return self._generation

    @property
    def has_catalog(self) -> bool:
        """True when a catalog file is attached; False for the empty stand-in (no catalog
        yet, or its file missing, unreadable or of another format)."""
        return self._attached and self._file_attached

    def ensure_current(self) -> None:
        """Switch to the generation the database points at, if it is not the one attached.

        Never raises for the switch itself: when it cannot happen now (the connection is in
        a transaction, or a statement still reads the old catalog), the old catalog, complete
        and unchanged, stays attached until the next call.
        """
        current = current_generation(self._db)
        if self._attached and current == self._generation:
            return
        conn = self._db.conn
        if conn.in_transaction:
            return
        if self._attached:
            try:
                conn.execute(f"DETACH DATABASE {CATALOG_SCHEMA}")
            except sqlite3.OperationalError as exc:  # "database catalog is locked"
                log.debug("The catalog is still being read; switching later: %s", exc)
                return
            self._attached = False
        self._attach(current)
        self._files.remove_unused(current, newer_too=False)

    def detach(self) -> None:
        """Let go of the catalog file (before the connection closes)."""
        if self._attached and not self._db.conn.in_transaction:
            try:
                self._db.conn.execute(f"DETACH DATABASE {CATALOG_SCHEMA}")
            except sqlite3.OperationalError:
                return
            self._attached = False

    def _attach(self, generation: int | None) -> None:
        conn = self._db.conn
        if generation is not None:
            path = self._files.path(generation)
            if self._attach_file(path):
                self._generation, self._attached, self._file_attached = generation, True, True
                return
        conn.execute(f"ATTACH DATABASE ':memory:' AS {CATALOG_SCHEMA}")
        conn.executescript(catalog_file_ddl(CATALOG_SCHEMA))
        self._generation, self._attached, self._file_attached = generation, True, False

    def _attach_file(self, path: Path) -> bool:
        """Attach a catalog file read-only; False (nothing attached) if it cannot be used."""
        conn = self._db.conn
        if not path.exists():
            log.warning("The catalog file %s is missing; the next sync downloads it", path.name)
            return False
        # Never written again once published: immutable spares every read a lock.
        uri = path.resolve().as_uri() + "?mode=ro&immutable=1"
        try:
            conn.execute(f"ATTACH DATABASE ? AS {CATALOG_SCHEMA}", [uri])
        except sqlite3.Error as exc:
            log.warning("The catalog file %s cannot be opened: %s", path.name, exc)
            return False
        try:
            found = conn.execute(f"PRAGMA {CATALOG_SCHEMA}.user_version").fetchone()[0]
            if found == CATALOG_FORMAT:
                if self._cache_mib is not None:
                    size = -int(self._cache_mib) * 1024
                    conn.execute(f"PRAGMA {CATALOG_SCHEMA}.cache_size = {size}")
                return True
            log.warning(
                "The catalog file %s has format %s (this version reads %s); the next sync"
                " replaces it",
                path.name,
                found,
                CATALOG_FORMAT,
            )
        except sqlite3.DatabaseError as exc:
            log.warning("The catalog file %s cannot be read: %s", path.name, exc)
        conn.execute(f"DETACH DATABASE {CATALOG_SCHEMA}")
        return False


def flush_to_disk(path: Path) -> None:
    """fsync a finished file and (POSIX) its folder, before anything points at it."""
    with path.open("rb+") as file:
        os.fsync(file.fileno())
    if os.name == "posix":
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
