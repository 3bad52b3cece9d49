"""Building a new catalog beside the live one and swapping it in."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rupa_desk.services.store import CatalogBuilder, Store, UnknownLabTestError, connect
from tests.fixtures.catalog_data import iter_tests, load_catalog, synthetic_companies


def test_a_new_catalog_replaces_the_old_one_completely() -> None:
    first = list(iter_tests(300, seed=1))
    with Store.in_memory() as store:
        load_catalog(store.db, synthetic_companies(), first)
        assert store.catalog.test_count() == 300
        changed = replace(first[10], name="Renamed Zonulin Special")
        second = [*first[:10], changed, *first[11:200]]
        load_catalog(
            store.db, synthetic_companies(), second, synced_at=datetime(2025, 1, 1, tzinfo=UTC)
        )
        assert store.catalog.test_count() == 200
        with pytest.raises(UnknownLabTestError):
            store.catalog.get_test(first[250].id)
        assert store.catalog.search("renamed zonulin").hits[0].id == changed.id
        assert store.catalog.last_synced() == datetime(2025, 1, 1, tzinfo=UTC)
        assert sum(c.test_count for c in store.catalog.companies()) == 200
        tables = set(store.db.table_names())
        assert not {t for t in tables if t.startswith("stage_") or t.endswith("_next")}


def test_an_unfinished_build_leaves_the_live_catalog_searchable(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    with Store.open(path) as store:
        load_catalog(store.db, synthetic_companies(), iter_tests(200, seed=2))
        before = [h.id for h in store.catalog.search("panel").hits]
        writer = connect(path, synchronous="NORMAL")
        builder = CatalogBuilder(writer)
        builder.begin()
        builder.add_tests(iter_tests(50, seed=3, id_prefix="labts_new"))

        def stop() -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            builder.build_and_swap(synced_at=datetime.now(UTC), checkpoint=stop)
        assert [h.id for h in store.catalog.search("panel").hits] == before
        builder.discard()
        writer.close()
        assert store.catalog.test_count() == 200
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_the_ui_connection_sees_the_swap_made_by_the_writer_connection(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    with Store.open(path) as store:
        assert store.catalog.search("a1c").hits == ()
        writer = connect(path, synchronous="NORMAL")
        load_catalog(writer, synthetic_companies(), iter_tests(100, seed=4))
        writer.close()
        assert store.catalog.search("a1c").hits[0].name == "Hemoglobin A1c"
