"""Opening the database: file permissions, WAL, migrations, and refusing a newer database."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest
from sqlite_utils import Database

from rupa_desk.paths import AppPaths
from rupa_desk.services.store import DatabaseTooNewError, DatabaseUnusableError, Store
from rupa_desk.services.store.database import STORE_CACHE_MIB
from rupa_desk.services.store.migrations import MIGRATIONS, known_migration_names


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
    for table in (
        "lab_companies",
        "lab_tests",
        "patients",
        "drafts",
        "draft_tests",
        "orders",
        "ordered_tests",
        "order_status_history",
        "sync_state",
    ):
        assert table in {name for name, _ in first_schema}


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


def test_in_memory_store_is_migrated() -> None:
    with Store.in_memory() as store:
        assert store.catalog.test_count() == 0
        assert store.catalog.last_synced() is None
