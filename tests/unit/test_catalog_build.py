"""Building a catalog generation in a file of its own and switching the store to it."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rupa_desk.services.store import (
    CatalogBuilder,
    Store,
    UnknownLabTestError,
    connect,
    vacuum_file,
)
from rupa_desk.services.store.catalog_files import CatalogFiles, current_generation
from rupa_desk.services.store.catalog_schema import CATALOG_FORMAT
from tests.fixtures.catalog_data import iter_tests, load_catalog, synthetic_companies

SYNCED_AT = datetime(2025, 1, 1, tzinfo=UTC)


class Stop(Exception):
    """Raised by a checkpoint to stop a build half-way."""


def catalog_files_on_disk(store: Store) -> list[str]:
    return sorted(path.name for path in store.catalog_files.on_disk())


def stop() -> None:
    raise Stop


def test_a_new_catalog_replaces_the_old_one_completely() -> None:
    first = list(iter_tests(300, seed=1))
    with Store.in_memory() as store:
        load_catalog(store, synthetic_companies(), first)
        assert store.catalog.test_count() == 300
        changed = replace(first[10], name="Renamed Zonulin Special")
        second = [*first[:10], changed, *first[11:200]]
        load_catalog(store, synthetic_companies(), second, synced_at=SYNCED_AT)
        assert store.catalog.test_count() == 200
        with pytest.raises(UnknownLabTestError):
            store.catalog.get_test(first[250].id)
        assert store.catalog.search("renamed zonulin").hits[0].id == changed.id
        assert store.catalog.last_synced() == SYNCED_AT
        assert sum(c.test_count for c in store.catalog.companies()) == 200
        # Only the catalog in use is left: the first one and both staging files are gone.
        assert catalog_files_on_disk(store) == ["memory.catalog-2.sqlite3"]


def test_a_store_without_a_catalog_searches_an_empty_one(tmp_path: Path) -> None:
    with Store.open(tmp_path / "db.sqlite3") as store:
        assert store.catalog.test_count() == 0
        assert store.catalog.search("a1c").hits == ()
        assert store.catalog.companies() == []
        assert store.catalog.last_synced() is None
        assert catalog_files_on_disk(store) == []


def test_the_catalog_is_not_in_the_account_database(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    with Store.open(path) as store:
        load_catalog(store, synthetic_companies(), iter_tests(100, seed=4))
        drafts_before = store.db.execute("SELECT count(*) FROM drafts").fetchone()[0]
    with sqlite3.connect(path) as plain:
        tables = {row[0] for row in plain.execute("SELECT name FROM sqlite_master")}
        assert drafts_before == 0
    assert "drafts" in tables
    assert not tables & {"lab_tests", "lab_companies", "catalog_words"}
    catalog = tmp_path / "db.catalog-1.sqlite3"
    with sqlite3.connect(catalog) as plain:
        assert plain.execute("SELECT count(*) FROM lab_tests").fetchone()[0] == 100
        assert plain.execute("PRAGMA user_version").fetchone()[0] == CATALOG_FORMAT
        assert plain.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_an_unfinished_build_leaves_the_live_catalog_searchable(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    with Store.open(path) as store:
        load_catalog(store, synthetic_companies(), iter_tests(200, seed=2))
        before = [h.id for h in store.catalog.search("panel").hits]
        in_use = store.catalog_files.path(1)
        in_use_bytes = in_use.read_bytes()
        writer = connect(path, synchronous="NORMAL")
        builder = CatalogBuilder.start(writer, CatalogFiles(path))
        builder.add_companies(synthetic_companies())
        builder.add_tests(iter_tests(50, seed=3, id_prefix="labts_new"))
        assert builder.path.exists()
        assert builder.staging_path.exists()
        assert [h.id for h in store.catalog.search("panel").hits] == before

        with pytest.raises(Stop):
            builder.build_and_publish(writer, synced_at=SYNCED_AT, checkpoint=stop)
        assert [h.id for h in store.catalog.search("panel").hits] == before
        builder.discard()
        writer.close()
        assert store.catalog.test_count() == 200
        assert current_generation(store.db) == 1
        assert catalog_files_on_disk(store) == ["db.catalog-1.sqlite3"]
        assert in_use.read_bytes() == in_use_bytes


def test_a_build_stopped_after_building_is_not_switched_to(tmp_path: Path) -> None:
    """The last checkpoint comes after the file is complete, before the switch."""
    path = tmp_path / "db.sqlite3"
    with Store.open(path) as store:
        load_catalog(store, synthetic_companies(), iter_tests(200, seed=2))
        builder = CatalogBuilder.start(store.db, store.catalog_files)
        builder.add_tests(iter_tests(10, seed=3))
        checkpoints: list[int] = []

        def stop_at_the_last() -> None:
            checkpoints.append(1)
            if not builder.staging_path.exists():
                raise Stop

        with pytest.raises(Stop):
            builder.build_and_publish(store.db, synced_at=SYNCED_AT, checkpoint=stop_at_the_last)
        assert builder.path.exists()  # complete, but not in use
        builder.discard()
        assert store.catalog.test_count() == 200
        assert catalog_files_on_disk(store) == ["db.catalog-1.sqlite3"]


def test_the_ui_connection_switches_to_a_catalog_another_connection_published(
    tmp_path: Path,
) -> None:
    path = tmp_path / "db.sqlite3"
    with Store.open(path) as store:
        assert store.catalog.search("a1c").hits == ()
        writer = connect(path, synchronous="NORMAL")
        builder = CatalogBuilder.start(writer, CatalogFiles(path))
        builder.add_companies(synthetic_companies())
        builder.add_tests(iter_tests(100, seed=4))
        count = builder.build_and_publish(writer, synced_at=SYNCED_AT)
        writer.close()
        assert count == 100
        assert store.catalog.search("a1c").hits[0].name == "Hemoglobin A1c"
        assert store.catalog.last_synced() == SYNCED_AT


def test_drafts_read_the_catalog_the_store_switched_to(tmp_path: Path) -> None:
    """Drafts join their tests to the attached catalog (current prices, tests that left)."""
    path = tmp_path / "db.sqlite3"
    tests = list(iter_tests(50, seed=4))
    with Store.open(path) as store:
        load_catalog(store, synthetic_companies(), tests)
        draft_id = store.drafts.create()
        store.drafts.add_test(draft_id, tests[0].id, name=tests[0].name, price=tests[0].price)
        [listing] = store.drafts.listing([draft_id])
        assert not listing.lines[0].left_catalog
        load_catalog(store, synthetic_companies(), tests[1:])
        [listing] = store.drafts.listing([draft_id])  # it switches the connection itself
        assert listing.lines[0].left_catalog


def test_no_switch_inside_a_transaction_or_while_a_statement_reads_the_old_catalog(
    tmp_path: Path,
) -> None:
    path = tmp_path / "db.sqlite3"
    with Store.open(path) as store:
        load_catalog(store, synthetic_companies(), iter_tests(120, seed=5))
        assert store.catalog.test_count() == 120
        other = Store.open(path)
        try:
            load_catalog(other, synthetic_companies(), iter_tests(80, seed=6))
        finally:
            other.close()
        reading = store.db.execute("SELECT id FROM lab_tests")
        reading.fetchone()
        assert store.catalog.test_count() == 120  # the old one, still complete
        reading.close()
        with store.db.atomic():
            assert store.catalog.test_count() == 120
        assert store.catalog.test_count() == 80
        assert catalog_files_on_disk(store) == ["db.catalog-2.sqlite3"]


def test_a_missing_or_foreign_catalog_file_reads_as_no_catalog(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    with Store.open(path) as store:
        load_catalog(store, synthetic_companies(), iter_tests(30, seed=5))
        assert store.catalog.last_synced() is not None
    (tmp_path / "db.catalog-1.sqlite3").unlink()
    with Store.open(path) as store:
        assert store.catalog.test_count() == 0
        assert store.catalog.search("a1c").hits == ()
        assert store.catalog.last_synced() is None  # no "catalog as of" over nothing
        load_catalog(store, synthetic_companies(), iter_tests(30, seed=5))
        assert store.catalog.test_count() == 30
        assert store.catalog.last_synced() is not None
    with sqlite3.connect(tmp_path / "db.catalog-2.sqlite3") as plain:
        plain.execute(f"PRAGMA user_version = {CATALOG_FORMAT + 1}")
    with Store.open(path) as store:
        assert store.catalog.test_count() == 0
        assert store.catalog.last_synced() is None


def test_generation_numbers_are_never_reused_and_leftovers_are_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "db.sqlite3"
    with Store.open(path) as store:
        load_catalog(store, synthetic_companies(), iter_tests(30, seed=5))
        files = store.catalog_files
        # What a killed sync leaves: generation 2 half-built, with its staging file.
        files.path(2).write_bytes(b"half a catalog")
        files.staging_path(2).write_bytes(b"some pages")
        # Open elsewhere (Windows refuses to delete an open file): generation 1, in use by
        # another process, and the staging file of generation 2, say.
        refused = {files.path(1), files.staging_path(2)}
        real_unlink = Path.unlink

        def unlink(self: Path, missing_ok: bool = False) -> None:
            if self in refused:
                raise PermissionError("in use by another process")
            real_unlink(self, missing_ok=missing_ok)

        monkeypatch.setattr(Path, "unlink", unlink)
        load_catalog(store, synthetic_companies(), iter_tests(40, seed=6))
        assert current_generation(store.db) == 3  # not 2: a file of it is still there
        assert store.catalog.test_count() == 40
        assert catalog_files_on_disk(store) == [
            "db.catalog-1.sqlite3",
            "db.catalog-2.staging.sqlite3",
            "db.catalog-3.sqlite3",
        ]
        assert files.next_generation(3) == 4

        monkeypatch.setattr(Path, "unlink", real_unlink)
        assert files.remove_unused(3, newer_too=False) == []
        assert catalog_files_on_disk(store) == ["db.catalog-3.sqlite3"]


def test_files_of_other_databases_in_the_folder_are_left_alone(tmp_path: Path) -> None:
    neighbour = tmp_path / "other.catalog-1.sqlite3"
    neighbour.write_bytes(b"another account's catalog")
    unrelated = tmp_path / "db.catalog-x.sqlite3"
    unrelated.write_bytes(b"not ours")
    with Store.open(tmp_path / "db.sqlite3") as store:
        load_catalog(store, synthetic_companies(), iter_tests(30, seed=5))
        load_catalog(store, synthetic_companies(), iter_tests(30, seed=5))
    assert neighbour.exists()
    assert unrelated.exists()


def test_closing_a_store_detaches_its_catalog_and_an_in_memory_store_leaves_no_files() -> None:
    with Store.in_memory() as store:
        load_catalog(store, synthetic_companies(), iter_tests(30, seed=5))
        assert store.catalog.test_count() == 30
        folder = store.catalog_files.folder
        assert catalog_files_on_disk(store) == ["memory.catalog-1.sqlite3"]
        schemas = {row[1] for row in store.db.execute("PRAGMA database_list").fetchall()}
        assert "catalog" in schemas
        detached: list[str] = []
        store.db.conn.set_trace_callback(detached.append)
    assert "DETACH DATABASE catalog" in detached
    assert not folder.exists()


def test_removing_patient_data_and_rebuilding_the_file_keep_the_catalog(tmp_path: Path) -> None:
    """Sign-out's purge works with the catalog attached, and the catalog is not touched."""
    path = tmp_path / "db.sqlite3"
    with Store.open(path) as store:
        load_catalog(store, synthetic_companies(), iter_tests(30, seed=5))
        generation = current_generation(store.db)
        store.drafts.create(notes="keep")
        removed = store.remove_patient_data()
        assert removed.drafts_kept == 1
    vacuum_file(path)
    with Store.open(path) as store:
        assert current_generation(store.db) == generation
        assert store.catalog.test_count() == 30
        assert catalog_files_on_disk(store) == [f"db.catalog-{generation}.sqlite3"]
