"""Write transactions take the write lock when they begin, so concurrent writers wait
instead of failing with "database is locked" (the catalog sync writes on its own thread)."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path

from rupa_desk.services.store import Store, connect


def test_a_read_then_write_transaction_survives_another_writer(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    with Store.open(path) as store:
        other = connect(path, check_same_thread=False)
        done = threading.Event()

        def write_elsewhere() -> None:
            with other.atomic():
                other.execute(
                    "INSERT INTO sync_state (resource, last_attempt_at)"
                    " VALUES ('x', '2024-06-13T00:00:00+00:00')"
                )
            done.set()

        try:
            with store.db.atomic():
                store.db.execute("SELECT count(*) FROM drafts").fetchone()  # read first
                writer = threading.Thread(target=write_elsewhere)
                writer.start()
                time.sleep(0.3)  # a deferred transaction would let it commit in between
                assert not done.is_set()  # it waits for this transaction instead
                store.drafts.create(notes="written after the read")
            writer.join(timeout=10)
            assert done.is_set()
        finally:
            other.close()
        assert [d.notes for d in store.drafts.all()] == ["written after the read"]
        assert store.sync_state.get("x").last_attempt_at is not None


def test_nested_atomic_blocks_are_savepoints(tmp_path: Path) -> None:
    with Store.open(tmp_path / "db.sqlite3") as store:
        with store.db.atomic():
            store.drafts.create(notes="kept")
            with contextlib.suppress(RuntimeError), store.db.atomic():
                store.drafts.create(notes="rolled back")
                raise RuntimeError("inner failure")
        assert [d.notes for d in store.drafts.all()] == ["kept"]
