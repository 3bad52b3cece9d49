"""Benchmark of typing a draft's notes: the cost of one keystroke with many drafts listed.

    .venv/bin/python -m tests.bench.bench_drafts [--drafts 10,500] [--keys 120]

For each count, a database gets that many drafts (a cached patient and three catalog tests
each, a fifth of them checked out long ago), the real Draft orders pane is shown over the
real `DraftsPresenter`, the most recent draft is selected, and `--keys` characters are typed
into its notes one key event at a time. A keystroke's cost is the time from the key event
until the notes are saved and every update it causes has been painted-ready: the key event
is delivered synchronously, then posted events and zero-time timers are run until the loop
is idle. Once all keys are typed, the notes' final text is checked to be in the database (each
keystroke's save is not checked on its own).

The cost grows with the list (the view asks for its cells' data again and sizes its columns
to their contents, and the edited row is placed among the others): the last count's median
and p95 are printed as multiples of the first count's.

Figures from a shared, loaded machine are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from rupa_desk.core.drafts import Draft, DraftState
from rupa_desk.core.models import Patient
from rupa_desk.paths import AppPaths
from rupa_desk.services.store import Store
from tests.fixtures.catalog_data import iter_tests, load_catalog, synthetic_companies
from tests.fixtures.drafts_env import drafts_env


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def fill(store: Store, count: int) -> str:
    """`count` drafts, a fifth checked out 30 days ago; returns the most recent open one."""
    load_catalog(store, synthetic_companies(), iter_tests(300))
    patients = [
        Patient(f"pat_{i:07d}", f"First{i}", f"Last{i}", f"p{i}@example.com") for i in range(50)
    ]
    store.patients.upsert(patients)
    tests = [t.id for t in iter_tests(300)]
    old = datetime.now(UTC) - timedelta(days=30)
    latest = ""
    with store.db.atomic():
        for index in range(count):
            draft_id = store.drafts.create(patient_id=patients[index % 50].id, notes="")
            for offset in range(3):
                test_id = tests[(index * 3 + offset) % len(tests)]
                store.drafts.add_test(draft_id, test_id, name=test_id, price=None)
            if index % 5 == 0:
                order_id = f"ord_{index:07d}"
                store.drafts.update(draft_id, partial(_checked_out, when=old, order_id=order_id))
            else:
                latest = draft_id
    return latest


def _checked_out(draft: Draft, when: datetime, order_id: str) -> Draft:
    return replace(
        draft,
        state=DraftState.CHECKED_OUT,
        intent_id=f"ordin_{order_id[4:]}",
        order_id=order_id,
        sent_revision=draft.revision,
        updated_at=when,
    )


async def typing(count: int, keys: int, folder: Path) -> list[float]:
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from rupa_desk.ui.pages.drafts import DraftsPage

    paths = AppPaths.under(folder / f"profile-{count}").ensure()
    with Store.open(paths.data_dir / "bench.sqlite3") as store:
        draft_id = fill(store, count)
        env = drafts_env(store, paths)
        page = DraftsPage(env.presenter)
        page.resize(1180, 760)
        page.show()
        env.presenter.set_current(draft_id)
        notes = page.editor.notes
        notes.setFocus()
        await asyncio.sleep(0.2)
        costs: list[float] = []
        text = "Fasting 12 h; draw before 10 am. "
        typed = ""
        for index in range(keys):
            char = text[index % len(text)]
            started = time.perf_counter()
            QTest.keyClick(notes, char, Qt.KeyboardModifier.NoModifier)
            QCoreApplication.sendPostedEvents()
            QApplication.processEvents()
            costs.append((time.perf_counter() - started) * 1000)
            typed += char
            await asyncio.sleep(0.01)  # the loop's own timers run between keys
        await asyncio.sleep(0.3)
        saved = store.drafts.get(draft_id).notes
        if saved != typed:
            raise AssertionError(f"notes not saved: {saved!r} != {typed!r}")
        listed = page.drafts.model().rowCount()
        page.close()
        page.deleteLater()
        await env.close()
        print(f"  {count} drafts ({listed} listed): ", end="")
    return costs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--drafts", default="10,500")
    parser.add_argument("--keys", type=int, default=120)
    args = parser.parse_args(argv)

    from PySide6.QtWidgets import QApplication

    from rupa_desk.ui.event_loop import AppEventLoop

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(["bench-drafts"])
    app.setQuitOnLastWindowClosed(False)  # closing the pane must not stop the loop
    print("notes typing, per keystroke (machine shared, loaded):")
    counts = [int(c) for c in args.drafts.split(",")]
    measured: list[list[float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in counts:
            with asyncio.Runner(loop_factory=lambda: AppEventLoop(app)) as runner:
                costs = runner.run(typing(count, args.keys, Path(tmp)))
            measured.append(costs)
            print(
                f"median {percentile(costs, 0.5):.1f} ms  p95 {percentile(costs, 0.95):.1f} ms"
                f"  max {max(costs):.1f} ms over {len(costs)} keys"
            )
    if len(counts) > 1:
        first, last = measured[0], measured[-1]
        median_ratio = percentile(last, 0.5) / percentile(first, 0.5)
        p95_ratio = percentile(last, 0.95) / percentile(first, 0.95)
        print(
            f"{counts[-1]} drafts vs {counts[0]}: a keystroke costs {median_ratio:.2f}× "
            f"(median), {p95_ratio:.2f}× (p95)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
