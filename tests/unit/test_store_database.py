"""Opening the database: file permissions, WAL, migrations, and refusing a newer database."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlite_utils import Database

from rupa_desk.paths import AppPaths
from rupa_desk.services.store import (
    CatalogBuilder,
    DatabaseDiskFullError,
    DatabaseTooNewError,
    DatabaseUnusableError,
    Store,
    StoreDiskFullError,
    typed_sqlite_errors,
)
from rupa_desk.services.store.catalog_schema import CATALOG_TABLES
from rupa_desk.services.store.database import STORE_CACHE_MIB, unusable_database
from rupa_desk.services.store.migrations import MIGRATIONS, known_migration_names
from tests.fixtures.catalog_data import iter_tests, synthetic_companies


def schema_of(db: Database) -> set[tuple[str, str]]:
    rows = db.execute(
        "SELECT name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND sql IS NOT NULL"
    ).fetchall()
    return {(name, " ".join(sql.split())) for name, sql in rows}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_store_for_account_lives_at_the_account_database_file(app_paths: AppPaths) -> None:
    with Store.for_account(app_paths, "demo", "pra_Abc1234") as store:
        assert store.path == app_paths.database_file("demo", "pra_Abc1234")
        assert store.path.exists()


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_database_and_its_wal_files_are_readable_by_the_user_only(app_paths: AppPaths) -> None:
    path = app_paths.database_file("demo", "pra_1")
    with Store.open(path) as store:
        store.drafts.create(notes="first")
        files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
        for file in files:
            assert file.exists(), file
            assert file.stat().st_mode & 0o777 == 0o600, file
    assert path.parent.stat().st_mode & 0o077 == 0
    assert path.parent.parent.stat().st_mode & 0o077 == 0  # the environment's folder too


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_the_catalog_files_are_readable_by_the_user_only(app_paths: AppPaths) -> None:
    """The files a sync builds (the catalog and its staging file) are private from the start,
    like the database (the catalog is not patient data, but it is the account's)."""
    path = app_paths.database_file("demo", "pra_1")
    with Store.open(path) as store:
        builder = CatalogBuilder.start(store.db, store.catalog_files)
        builder.add_companies(synthetic_companies())
        builder.add_tests(iter_tests(20))
        building = list(store.catalog_files.on_disk())
        assert {builder.path, builder.staging_path} <= set(building)
        for file in building:
            assert file.stat().st_mode & 0o777 == 0o600, file
        builder.build_and_publish(store.db, synced_at=datetime(2024, 6, 13, tzinfo=UTC))
        assert store.catalog.test_count() == 20
        published = list(store.catalog_files.on_disk())
        assert published == [builder.path]
        assert builder.path.stat().st_mode & 0o777 == 0o600


def test_database_uses_wal_and_foreign_keys(app_paths: AppPaths) -> None:
    with Store.open(app_paths.database_file("demo", "pra_1")) as store:
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_the_app_connection_has_a_larger_page_cache(app_paths: AppPaths) -> None:
    with Store.for_account(app_paths, "demo", "pra_1") as store:
        assert store.db.execute("PRAGMA cache_size").fetchone()[0] == -STORE_CACHE_MIB * 1024
    assert STORE_CACHE_MIB >= 16


def test_migrations_from_empty_apply_every_migration_once(app_paths: AppPaths) -> None:
    path = app_paths.database_file("demo", "pra_1")
    with Store.open(path) as store:
        applied = [m.name for m in MIGRATIONS.applied(store.db)]
        first_schema = schema_of(store.db)
    assert applied == list(known_migration_names())
    with Store.open(path) as again:
        assert [m.name for m in MIGRATIONS.applied(again.db)] == applied
        assert schema_of(again.db) == first_schema
    tables = {name for name, _ in first_schema}
    for table in (
        "catalog_file",
        "patients",
        "drafts",
        "draft_tests",
        "orders",
        "ordered_tests",
        "order_status_history",
        "sync_state",
    ):
        assert table in tables
    # The catalog has files of its own (catalog_files).
    assert not tables & set(CATALOG_TABLES)


@pytest.mark.parametrize("stop_before", known_migration_names()[1:])
def test_migrating_from_each_earlier_version_keeps_data_and_ends_identical(
    app_paths: AppPaths, tmp_path: Path, stop_before: str
) -> None:
    with Store.open(tmp_path / "fresh.sqlite3") as fresh:
        expected = schema_of(fresh.db)
    path = app_paths.database_file("demo", "pra_1")
    path.parent.mkdir(parents=True)
    with Database(path) as old:
        MIGRATIONS.apply(old, stop_before=stop_before)
        tables = set(old.table_names())
        if "drafts" in tables:
            old.execute(
                "INSERT INTO drafts (id, notes, created_at, updated_at)"
                " VALUES ('draft_1', 'keep me', '2024-01-01T00:00:00+00:00',"
                " '2024-01-01T00:00:00+00:00')"
            )
        if "patients" in tables:
            old.execute(
                "INSERT INTO patients (id, first_name, last_name, email, first_key, last_key,"
                " email_key, cached_at) VALUES ('pat_1', 'Ada', 'Lovelace', 'ada@example.com',"
                " 'ada', 'lovelace', 'ada@example.com', '2024-01-01T00:00:00+00:00')"
            )
    with Store.open(path) as store:
        assert schema_of(store.db) == expected
        assert [m.name for m in MIGRATIONS.applied(store.db)] == list(known_migration_names())
        if "drafts" in tables:
            assert store.db.execute("SELECT notes FROM drafts").fetchall() == [("keep me",)]
        if "patients" in tables:
            assert store.patients.get("pat_1").last_name == "Lovelace"


DRAFT = "draft_00000000000000000000000000000001"


def test_the_catalog_moves_out_of_a_single_file_database_and_user_data_stays(
    app_paths: AppPaths,
) -> None:
    """A database from before m010 held the catalog (and maybe an interrupted sync's tables),
    and may have applied every migration before it (m008_patient_forms …): they go, the space
    with them; drafts, their tests, patients and orders stay."""
    path = app_paths.database_file("demo", "pra_1")
    path.parent.mkdir(parents=True)
    with Database(path) as old:
        old.execute("PRAGMA journal_mode = WAL").fetchall()
        MIGRATIONS.apply(old, stop_before="m010_catalog_files")
        assert "patient_forms" in old.table_names()
        day = "2024-01-01T00:00:00+00:00"
        old.execute(
            "INSERT INTO drafts (id, notes, status, created_at, updated_at)"
            " VALUES (?, 'fasting, call first', 'local', ?, ?)",
            [DRAFT, day, day],
        )
        old.execute(
            "INSERT INTO draft_tests (draft_id, lab_test_id, position, name, price_cents,"
            " added_at) VALUES (?, 'labts_1', 0, 'Lipid Panel', 4500, ?)",
            [DRAFT, day],
        )
        old.execute(
            "INSERT INTO orders (id, status, draft_id) VALUES ('ord_AAAAAAA', 'Paid', ?)", [DRAFT]
        )
        old.execute(
            "INSERT INTO sync_state (resource, last_success_at, item_count)"
            " VALUES ('catalog', ?, 2000), ('patients', ?, 1)",
            [day, day],
        )
        old.executescript(
            """
            INSERT INTO lab_companies (id, name) VALUES ('labco_1', 'Genova');
            CREATE TABLE stage_lab_tests (id TEXT PRIMARY KEY, name TEXT);
            CREATE VIRTUAL TABLE catalog_words_next USING fts5(name, content='');
            """
        )
        filler = "biomarkers " * 200
        old.conn.executemany(
            "INSERT INTO lab_tests (row_no, id, name, name_key, raw) VALUES (?, ?, ?, ?, ?)",
            ((n, f"labts_{n}", f"Test {n}", f"test {n}", filler) for n in range(1, 2001)),
        )
        old.conn.executemany(
            "INSERT INTO catalog_words (rowid, name, biomarkers) VALUES (?, ?, ?)",
            ((n, f"Test {n}", filler) for n in range(1, 2001)),
        )
        old.conn.commit()
        old.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    size_before = path.stat().st_size

    with Store.open(path) as store:
        applied = [m.name for m in MIGRATIONS.applied(store.db)]
        assert applied == list(known_migration_names())
        assert applied.index("m010_catalog_files") > applied.index("m008_patient_forms")
        tables = set(store.db.table_names())
        assert not tables & set(CATALOG_TABLES)
        assert not {t for t in tables if t.startswith("stage_") or t.endswith("_next")}
        draft = store.drafts.get(DRAFT)
        assert (draft.notes, draft.lab_test_ids) == ("fasting, call first", ("labts_1",))
        [listing] = store.drafts.listing([DRAFT])
        assert (listing.lines[0].name, listing.lines[0].price) == ("Lipid Panel", Decimal(45))
        assert not listing.lines[0].left_catalog  # no catalog yet: nothing has left it
        assert store.orders.row("ord_AAAAAAA").status == "Paid"
        # No catalog until the next sync, and the status bar does not pretend otherwise.
        assert store.catalog.test_count() == 0
        assert store.catalog.last_synced() is None
        assert store.sync_state.get("patients").item_count == 1
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert path.stat().st_size < size_before / 4


def test_a_database_from_a_newer_version_is_refused_and_left_untouched(
    app_paths: AppPaths,
) -> None:
    path = app_paths.database_file("demo", "pra_1")
    with Store.open(path) as store:
        draft_id = store.drafts.create(notes="precious")
        store.db.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at)"
            " VALUES ('rupa_desk', 'm999_from_the_future', '2030-01-01')"
        )
        store.db.execute("PRAGMA journal_mode = DELETE").fetchall()
    before = digest(path)
    mtime = path.stat().st_mtime_ns

    with pytest.raises(DatabaseTooNewError) as caught:
        Store.open(path)

    assert "m999_from_the_future" in str(caught.value)
    assert "newer version" in str(caught.value)
    assert caught.value.path == path
    assert digest(path) == before
    assert path.stat().st_mtime_ns == mtime
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert check.execute("SELECT notes FROM drafts WHERE id = ?", [draft_id]).fetchone() == (
            "precious",
        )


def test_a_file_that_is_not_a_database_gives_a_typed_error(app_paths: AppPaths) -> None:
    path = app_paths.database_file("demo", "pra_1")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database, just some text" * 100)
    with pytest.raises(DatabaseUnusableError) as caught:
        Store.open(path)
    assert caught.value.path == path
    assert "cannot be used" in str(caught.value)


# A child process whose files may not grow past 16 KiB (RLIMIT_FSIZE): SQLite then cannot
# grow the write-ahead log's shared-memory file, exactly as on a disk with 0 bytes free
# (SQLITE_IOERR_SHMSIZE, "disk I/O error"), while the test's own process writes freely.
_OPEN_WITH_NO_ROOM = """
import resource, signal, sys
from pathlib import Path
from rupa_desk.services.store import DatabaseUnusableError, Store
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (16384, resource.RLIM_INFINITY))
try:
    Store.open(Path(sys.argv[1]))
except DatabaseUnusableError as exc:
    print(type(exc).__name__, getattr(exc.__cause__, "sqlite_errorname", ""))
    print(exc)
"""


def test_a_database_that_cannot_grow_on_a_full_disk_says_the_disk_is_full(
    app_paths: AppPaths,
) -> None:
    path = app_paths.database_file("demo", "pra_1")
    with Store.open(path):
        pass
    with sqlite3.connect(path) as plain:  # the last connection: the -wal and -shm go
        plain.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    plain.close()
    assert not path.with_name(path.name + "-shm").exists()
    before = digest(path)
    child = subprocess.run(
        [sys.executable, "-c", _OPEN_WITH_NO_ROOM, str(path)],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    kind, message = child.stdout.split("\n", 1)
    assert kind == "DatabaseDiskFullError SQLITE_IOERR_SHMSIZE"
    assert "The disk of this computer is full" in message
    assert "Free some space" in message
    assert "I/O" not in message
    assert "move it aside" not in message  # not damaged: nothing to move
    assert digest(path) == before


def test_sqlites_full_errors_read_as_a_full_disk(tmp_path: Path) -> None:
    """SQLITE_FULL (here from a page limit) when opening, and when writing."""
    plain = sqlite3.connect(tmp_path / "full.sqlite3")
    try:
        plain.execute("CREATE TABLE t (b BLOB)")
        plain.execute("PRAGMA max_page_count = 2")
        with pytest.raises(sqlite3.OperationalError) as full:
            plain.execute("INSERT INTO t VALUES (zeroblob(100000))")
    finally:
        plain.close()
    error = unusable_database(tmp_path / "full.sqlite3", full.value)
    assert isinstance(error, DatabaseDiskFullError)
    assert "The disk of this computer is full" in str(error)
    with pytest.raises(StoreDiskFullError), typed_sqlite_errors():
        raise full.value


def test_in_memory_store_is_migrated() -> None:
    with Store.in_memory() as store:
        assert store.catalog.test_count() == 0
        assert store.catalog.last_synced() is None
