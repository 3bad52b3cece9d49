"""Opening the database of one environment and account: permissions, WAL, migrations.

`Store` is the one object the rest of the app holds: it owns the sqlite-utils `Database` of
the UI thread and gives access to the catalog, the patients cache, drafts and sync state. The
catalog lives in files of its own beside the database (`catalog_files`), attached read-only
to the store's connection; the catalog sync builds a new one on a worker thread and makes its
few small writes to this database (the attempt, the switch, a failure) through the store's
own connection (`CatalogSync(account_db=store.db)`), so the user's writes never wait for it.

SQLite's environmental failures (the database is locked, the disk is full, an I/O error, a
read-only file) reach callers as typed `StoreWriteError`s from `atomic()` (and from
`typed_sqlite_errors()` around other work), never as a raw `sqlite3.OperationalError`.

Patient data deleted through the app's connection does not linger in the file: the connection
runs with `secure_delete` (freed pages and cells are overwritten with zeros). A sign-out with
"remove patient data" deletes the rows and truncates the write-ahead log
(`Store.remove_patient_data`), then rebuilds the closed file (`vacuum_file`). The catalog
files hold no patient data and are kept.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final, Literal

from sqlite_utils import Database

from rupa_desk.core.drafts import DraftState
from rupa_desk.paths import AppPaths, make_private_dir, restrict_to_user
from rupa_desk.services.store.catalog import Catalog
from rupa_desk.services.store.catalog_files import CatalogAttachment, CatalogFiles
from rupa_desk.services.store.drafts import Drafts
from rupa_desk.services.store.epic_links import EpicLinks
from rupa_desk.services.store.errors import (
    DatabaseBusyError,
    DatabaseDiskFullError,
    DatabaseReadOnlyError,
    DatabaseTooNewError,
    DatabaseUnusableError,
    StorageIOError,
    StoreDiskFullError,
    StoreWriteError,
)
from rupa_desk.services.store.lab_results import LabResults
from rupa_desk.services.store.migrations import MIGRATIONS, known_migration_names
from rupa_desk.services.store.order_history import OrderHistoryState
from rupa_desk.services.store.orders import Orders
from rupa_desk.services.store.panels import Panels
from rupa_desk.services.store.patient_forms import PatientForms
from rupa_desk.services.store.patients import PatientCache
from rupa_desk.services.store.reports import ReportQueries
from rupa_desk.services.store.sync_state import SyncState

log = logging.getLogger(__name__)

Synchronous = Literal["FULL", "NORMAL"]

#: The page cache of the app's connection (SQLite's default is 2 MiB). Catalog searches at
#: 100,000 tests read the same index pages and rows again and again; a larger cache serves
#: them without a system call each (faster searches with filters). It fills
#: only as pages are read.
STORE_CACHE_MIB: Final = 32

# SQLite's primary result codes (https://sqlite.org/rescode.html) that are environmental.
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_READONLY = 8
_SQLITE_IOERR = 10
_SQLITE_CORRUPT = 11
_SQLITE_FULL = 13
_SQLITE_CANTOPEN = 14
_SQLITE_NOTADB = 26
_TYPED_ERRORS: dict[int, Callable[[str], StoreWriteError]] = {
    _SQLITE_BUSY: DatabaseBusyError,
    _SQLITE_LOCKED: DatabaseBusyError,
    _SQLITE_READONLY: DatabaseReadOnlyError,
    _SQLITE_IOERR: StorageIOError,
    _SQLITE_CORRUPT: StorageIOError,
    _SQLITE_FULL: StoreDiskFullError,
    _SQLITE_CANTOPEN: StorageIOError,
    _SQLITE_NOTADB: StorageIOError,
}


def _is_disk_full(exc: sqlite3.Error) -> bool:
    """SQLite says the disk is full: SQLITE_FULL, or it could not grow its shared-memory file
    (SQLITE_IOERR_SHMSIZE: a write-ahead log opened on a full disk reads "disk I/O error")."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(code, int) and (
        code & 0xFF == _SQLITE_FULL or code == sqlite3.SQLITE_IOERR_SHMSIZE
    )


def unusable_database(path: Path, exc: sqlite3.Error) -> DatabaseUnusableError:
    """The typed error for a database that could not be opened: a full disk says so."""
    if _is_disk_full(exc):
        return DatabaseDiskFullError(path, str(exc))
    return DatabaseUnusableError(path, str(exc))


@contextlib.contextmanager
def typed_sqlite_errors() -> Iterator[None]:
    """Re-raise SQLite's environmental failures as typed `StoreWriteError`s.

    "database is locked" becomes `DatabaseBusyError`, "database or disk is full"
    `StoreDiskFullError`, and so on (each with a message for the user and a next step). Any
    other `sqlite3.Error` (a constraint, a syntax error: a bug) passes through unchanged, as
    does everything that is not a `sqlite3.Error`.
    """
    try:
        yield
    except sqlite3.Error as exc:
        code = getattr(exc, "sqlite_errorcode", None)
        if not isinstance(code, int):
            raise
        typed = StoreDiskFullError if _is_disk_full(exc) else _TYPED_ERRORS.get(code & 0xFF)
        if typed is None:
            raise
        log.warning("SQLite refused the work: %s (%s)", exc, getattr(exc, "sqlite_errorname", ""))
        raise typed(str(exc)) from exc


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
        """A write transaction (a savepoint when nested), committed or rolled back.

        Raises:
            StoreWriteError: SQLite could not write (busy beyond the busy timeout, disk full,
                I/O error, read-only); the transaction was rolled back.
        """
        with typed_sqlite_errors():
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
        # uri=True: the store attaches its catalog file read-only with a `file:` URI.
        conn = sqlite3.connect(str(path), check_same_thread=check_same_thread, uri=True)
    except sqlite3.Error as exc:
        raise unusable_database(path, exc) from exc
    db = StoreDatabase(conn)
    try:
        _configure(db, synchronous=synchronous, busy_timeout_ms=busy_timeout_ms)
        if cache_mib is not None:
            db.execute(f"PRAGMA cache_size = -{int(cache_mib) * 1024}")
    except sqlite3.Error as exc:
        db.close()
        raise unusable_database(path, exc) from exc
    return db


def _configure(db: Database, *, synchronous: Synchronous, busy_timeout_ms: int) -> None:
    db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    db.execute("PRAGMA foreign_keys = ON")
    db.execute(f"PRAGMA synchronous = {synchronous}")


def create_private_file(path: Path) -> None:
    """Create an empty database file readable by its owner only (before SQLite opens it).

    SQLite creates the -wal and -shm files with the permissions of the database file.
    """
    make_private_dir(path.parent)
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


@dataclass(frozen=True, slots=True)
class RemovedPatientData:
    """What `Store.remove_patient_data` deleted (counts only: no patient data).

    Attributes:
        patients: cached patients deleted.
        orders: orders deleted (with their tests and status history).
        checked_out_drafts: drafts deleted because they were already checked out.
        drafts_kept: drafts kept (not checked out yet: the user's unsent work).
    """

    patients: int
    orders: int
    checked_out_drafts: int
    drafts_kept: int


def vacuum_file(path: Path) -> None:
    """Rebuild a closed database file so that no deleted row survives in its free pages.

    Runs on its own connection (call it from a worker thread: a large catalog takes seconds),
    then truncates the write-ahead log.

    Raises:
        StoreWriteError: it could not be rebuilt (e.g. the disk is too full for the copy).
        DatabaseUnusableError: the file cannot be opened.
    """
    db = connect(path, check_same_thread=False)
    try:
        with typed_sqlite_errors():
            db.execute("VACUUM")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    finally:
        db.close()


class Store:
    """The local database of one environment and signed-in account.

    Attributes:
        db: the sqlite-utils Database of the thread that opened the store (the UI thread).
        path: the database file, or None for an in-memory store (tests).
        catalog: lab companies and tests: search, filters, details.
        catalog_files: the catalog's own files (the sync builds new ones there).
        patients: the cached patients: offline search and duplicate checks.
        drafts: drafts and their tests (the catalog's "Add to draft", the drafts pane).
        orders: orders, their tests and results, and the statuses seen.
        patient_forms: the unsent new-patient form, saved as it is typed.
        sync_state: when each resource was last synced.
        order_history: the order history download's cursor, and the follow-ups.
        reports: the practice reports' queries.
        epic_links: Rupa patients linked to Epic patients; results filed to Epic.
    """

    def __init__(
        self,
        db: Database,
        path: Path | None,
        *,
        cache_mib: int | None = None,
    ) -> None:
        self.db = db
        self.path = path
        self._scratch: Path | None = None
        if path is None:
            # An in-memory store keeps the catalog files it builds in a folder of its own.
            self._scratch = Path(tempfile.mkdtemp(prefix="rupa-desk-catalog-"))
            self.catalog_files = CatalogFiles(self._scratch / "memory.sqlite3")
        else:
            self.catalog_files = CatalogFiles(path)
        self._catalog_attachment = CatalogAttachment(db, self.catalog_files, cache_mib=cache_mib)
        self.catalog = Catalog(db, self._catalog_attachment)
        self.patients = PatientCache(db)
        switch = self._catalog_attachment.ensure_current
        self.drafts = Drafts(db, before_catalog_read=switch)
        self.orders = Orders(db, before_catalog_read=switch)
        self.lab_results = LabResults(db)
        self.order_history = OrderHistoryState(db)
        self.reports = ReportQueries(db, before_catalog_read=switch)
        self.patient_forms = PatientForms(db)
        self.panels = Panels(db)
        self.sync_state = SyncState(db)
        self.epic_links = EpicLinks(db)

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
            db.execute("PRAGMA secure_delete = ON")  # deleted patient data is overwritten
        except sqlite3.DatabaseError as exc:
            db.close()
            raise unusable_database(path, exc) from exc
        except BaseException:
            db.close()
            raise
        for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            restrict_to_user(file)
        log.info("Opened the database %s", path)
        try:
            return cls(db, path, cache_mib=STORE_CACHE_MIB)
        except BaseException:
            db.close()
            raise

    @classmethod
    def in_memory(cls) -> Store:
        """A migrated in-memory store, for tests."""
        db = StoreDatabase(sqlite3.connect(":memory:", uri=True))
        _configure(db, synchronous="FULL", busy_timeout_ms=0)
        MIGRATIONS.apply(db)
        return cls(db, None)

    def remove_patient_data(self) -> RemovedPatientData:
        """Delete everything about patients (sign-out with "remove patient data").

        Deleted in one transaction: the cached patients, the unsent new-patient form, the
        orders with their tests, result links, raw JSON and status history, and the drafts
        already checked out (their order is on Rupa; they are order history now). Drafts not
        checked out yet are the user's unsent work and are kept, with their tests and notes;
        they keep only the patient's Rupa id (no name, email or birthday). The catalog is
        kept.

        The connection's `secure_delete` overwrites the freed pages; the write-ahead log is
        then checkpointed and truncated, so no old copy stays there. Databases written before
        `secure_delete` was on may still hold old rows in free pages: `vacuum_file` (after
        `close`) rebuilds the file without them.

        Raises:
            StoreWriteError: the database could not be written; nothing was removed.
        """
        with self.db.atomic():
            patients = self.db.execute("DELETE FROM patients").rowcount
            self.db.execute("DELETE FROM patient_forms")  # the unsent new-patient form
            self.db.execute("DELETE FROM epic_patient_links")  # Epic ids and MRNs
            self.db.execute("DELETE FROM epic_filings")
            self.db.execute("DELETE FROM order_status_history")
            self.db.execute("DELETE FROM order_follow_ups")
            self.db.execute("DELETE FROM order_history")  # the next download starts over
            self.db.execute("DELETE FROM ordered_tests")
            for table in ("lab_results", "result_reports", "result_inbox"):
                self.db.execute(f"DELETE FROM {table}")
            orders = self.db.execute("DELETE FROM orders").rowcount
            drafts = self.db.execute(
                "DELETE FROM drafts WHERE status = ?", [DraftState.CHECKED_OUT.value]
            ).rowcount
        kept = int(self.db.execute("SELECT count(*) FROM drafts").fetchone()[0])
        with typed_sqlite_errors():
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        return RemovedPatientData(
            patients=int(patients),
            orders=int(orders),
            checked_out_drafts=int(drafts),
            drafts_kept=kept,
        )

    def close(self) -> None:
        """Close the connection (checkpointing the WAL into the database file)."""
        self._catalog_attachment.detach()
        self.db.close()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
