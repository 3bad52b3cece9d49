"""Opening the database of one environment and account: permissions, WAL, migrations.

`Store` is the one object the rest of the app holds: it owns the sqlite-utils `Database` of
the UI thread and gives access to the catalog, the patients cache, drafts and sync state. The
catalog sync writes through a second connection of its own (`connect`), on a worker thread, so
the UI's reads are never blocked (WAL lets readers see the last committed catalog meanwhile).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Final, Literal

from sqlite_utils import Database

from rupa_desk.paths import AppPaths, restrict_to_user
from rupa_desk.services.store.catalog import Catalog
from rupa_desk.services.store.drafts import Drafts
from rupa_desk.services.store.errors import DatabaseTooNewError, DatabaseUnusableError
from rupa_desk.services.store.migrations import MIGRATIONS, known_migration_names
from rupa_desk.services.store.orders import Orders
from rupa_desk.services.store.patient_forms import PatientForms
from rupa_desk.services.store.patients import PatientCache
from rupa_desk.services.store.sync_state import SyncState

log = logging.getLogger(__name__)

Synchronous = Literal["FULL", "NORMAL"]

#: The page cache of the app's connection (SQLite's default is 2 MiB). Catalog searches at
#: 100,000 tests read the same index pages and rows again and again; a larger cache serves
#: them without a system call each (15-25% faster searches with filters, measured). It fills
#: only as pages are read.
STORE_CACHE_MIB: Final = 32


class StoreDatabase(Database):
    """A sqlite-utils `Database` whose `atomic()` transactions begin IMMEDIATE.

    sqlite-utils begins a deferred transaction: it reads first and takes the write lock at its
    first write. In WAL mode, if another connection (the catalog sync's writer thread, say)
    commits in between, that upgrade fails at once with "database is locked" (SQLITE_BUSY
    snapshot: no busy timeout can help). Taking the write lock when the transaction begins
    makes concurrent writers wait their turn (`busy_timeout`) instead.
    """

    @contextlib.contextmanager
    def atomic(self) -> Iterator[Database]:
        """A write transaction (a savepoint when nested), committed or rolled back."""
        if self.conn.in_transaction:
            with super().atomic() as db:
                yield db
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.rollback()
            raise
        try:
            self.conn.execute("COMMIT")
        except BaseException:
            self.rollback()
            raise


def connect(
    path: Path,
    *,
    synchronous: Synchronous = "FULL",
    busy_timeout_ms: int = 5000,
    check_same_thread: bool = True,
    cache_mib: int | None = None,
) -> Database:
    """A connection to an existing, migrated database file, with Rupa Desk's pragmas.

    Args:
        path: the database file (already opened once by `Store.open`, so migrated).
        synchronous: FULL for user data (drafts survive a power cut); NORMAL is enough for
            the disposable catalog the sync writes.
        busy_timeout_ms: how long a write waits for another connection's transaction.
        check_same_thread: False only for a connection handed to one worker thread.
        cache_mib: the page cache size (None: SQLite's default).

    Raises:
        DatabaseUnusableError: the file cannot be opened or is not a database.
    """
    try:
        conn = sqlite3.connect(str(path), check_same_thread=check_same_thread)
    except sqlite3.Error as exc:
        raise DatabaseUnusableError(path, str(exc)) from exc
    db = StoreDatabase(conn)
    try:
        _configure(db, synchronous=synchronous, busy_timeout_ms=busy_timeout_ms)
        if cache_mib is not None:
            db.execute(f"PRAGMA cache_size = -{int(cache_mib) * 1024}")
    except sqlite3.Error as exc:
        db.close()
        raise DatabaseUnusableError(path, str(exc)) from exc
    return db


def _configure(db: Database, *, synchronous: Synchronous, busy_timeout_ms: int) -> None:
    db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    db.execute("PRAGMA foreign_keys = ON")
    db.execute(f"PRAGMA synchronous = {synchronous}")


def create_private_file(path: Path) -> None:
    """Create an empty database file readable by its owner only (before SQLite opens it).

    SQLite creates the -wal and -shm files with the permissions of the database file.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def _refuse_if_newer(db: Database, path: Path) -> None:
    """Raise DatabaseTooNewError if the file has migrations this version does not know.

    Only reads: nothing has been written to the file when this raises.
    """
    known = set(known_migration_names())
    applied = [migration.name for migration in MIGRATIONS.applied(db)]
    unknown = tuple(name for name in applied if name not in known)
    if unknown:
        raise DatabaseTooNewError(path, unknown)


class Store:
    """The local database of one environment and signed-in account.

    Attributes:
        db: the sqlite-utils Database of the thread that opened the store (the UI thread).
        path: the database file, or None for an in-memory store (tests).
        catalog: lab companies and tests: search, filters, details.
        patients: the cached patients: offline search and duplicate checks.
        drafts: drafts and their tests (the catalog's "Add to draft", the drafts pane).
        orders: orders, their tests and results, and the statuses seen.
        patient_forms: the unsent new-patient form, saved as it is typed.
        sync_state: when each resource was last synced.
    """

    def __init__(self, db: Database, path: Path | None) -> None:
        self.db = db
        self.path = path
        self.catalog = Catalog(db)
        self.patients = PatientCache(db)
        self.drafts = Drafts(db)
        self.orders = Orders(db)
        self.patient_forms = PatientForms(db)
        self.sync_state = SyncState(db)

    @classmethod
    def for_account(cls, paths: AppPaths, environment: str, account: str) -> Store:
        """Open (creating and migrating as needed) the database of one environment and account."""
        return cls.open(paths.database_file(environment, account))

    @classmethod
    def open(cls, path: Path) -> Store:
        """Open a database file, creating it (mode 0600) and applying pending migrations.

        Raises:
            DatabaseTooNewError: a newer Rupa Desk wrote it; it is left exactly as it was.
            DatabaseUnusableError: it cannot be opened, read or migrated.
        """
        create_private_file(path)
        db = connect(path, cache_mib=STORE_CACHE_MIB)
        try:
            _refuse_if_newer(db, path)
            db.enable_wal()
            MIGRATIONS.apply(db)
        except sqlite3.DatabaseError as exc:
            db.close()
            raise DatabaseUnusableError(path, str(exc)) from exc
        except BaseException:
            db.close()
            raise
        for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            restrict_to_user(file)
        log.info("Opened the database %s", path)
        return cls(db, path)

    @classmethod
    def in_memory(cls) -> Store:
        """A migrated in-memory store, for tests."""
        db = StoreDatabase(memory=True)
        _configure(db, synchronous="FULL", busy_timeout_ms=0)
        MIGRATIONS.apply(db)
        return cls(db, None)

    def close(self) -> None:
        """Close the connection (checkpointing the WAL into the database file)."""
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
