"""Benchmark of the command palette: the cost of one keystroke over a large local database.

    .venv/bin/python -m tests.bench.bench_palette [--tests 100000] [--patients 5000]
        [--orders 2000] [--drafts 300]

A database gets that many catalog tests, patients, orders and drafts; the real
`CommandPalette` is shown with the sources the app gives it (`WorkspaceCommands`'s, built
here on the same store calls), and a few phrases are typed one key event at a time. A
keystroke's cost is the time from the key event until the list is filled (every source
answers synchronously inside it). Phrases cover a patient's name, a test's name, an order's
status and a draft (drafts and orders are read once, at the first key, then matched in
memory). Figures from a shared, loaded machine are noisy.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from rupa_desk.core.models import Order, Patient
from rupa_desk.services.store import Store
from rupa_desk.ui.command_palette import (
    CommandPalette,
    DraftSource,
    OrderSource,
    catalog_source,
    patient_source,
)
from tests.fixtures.catalog_data import iter_tests, load_catalog, synthetic_companies

PHRASES = ("ada lovelace", "lipid panel", "order pending", "draft turing")
FIRST = ("Ada", "Grace", "Alan", "Keya", "Maria", "John", "Li", "Olu", "Sam", "Noor")
LAST = ("Lovelace", "Hopper", "Turing", "Board", "Curie", "Smith", "Wei", "Ade", "Berg", "Khan")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def fill(store: Store, args: argparse.Namespace) -> None:
    rng = random.Random(7)
    load_catalog(store, synthetic_companies(), iter_tests(args.tests))
    patients = [
        Patient(
            f"pat_{n:07d}",
            rng.choice(FIRST),
            rng.choice(LAST),
            f"patient{n}@example.test",
        )
        for n in range(args.patients)
    ]
    store.patients.upsert(patients)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    store.orders.save_many(
        Order(
            id=f"ord_{n:07d}",
            status=rng.choice(("Pending Payment", "Paid", "In Progress", "Complete")),
            patient_id=patients[n % len(patients)].id,
            patients_practitioner_id="pra_Bench001",
            total_price=Decimal("120.00"),
            date_submitted=start + timedelta(hours=n),
        )
        for n in range(args.orders)
    )
    hits = store.catalog.search("", limit=50).hits
    for n in range(args.drafts):
        draft_id = store.drafts.create(patient_id=patients[n % len(patients)].id)
        for hit in hits[n % 40 : n % 40 + 3]:
            store.drafts.add_test(draft_id, hit.id, name=hit.name, price=hit.price)


def palette_for(store: Store) -> CommandPalette:
    """The palette with the app's sources over `store` (as `WorkspaceCommands` builds them)."""

    return CommandPalette(
        [
            patient_source(lambda t, n: store.patients.search(t, limit=n), lambda p: None),
            catalog_source(lambda t, n: store.catalog.search(t, limit=n).hits, lambda h: None),
            DraftSource(store.drafts.listing, lambda d: None, lambda d: d.draft.state.value),
            OrderSource(store.orders.listing, lambda r: None),
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=100_000)
    parser.add_argument("--patients", type=int, default=5000)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--drafts", type=int, default=300)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv)
    with tempfile.TemporaryDirectory() as folder, Store.open(Path(folder) / "bench.db") as store:
        began = time.perf_counter()
        fill(store, args)
        print(
            f"database: {args.tests:,} tests, {args.patients:,} patients, "
            f"{args.orders:,} orders, {args.drafts:,} drafts "
            f"(filled in {time.perf_counter() - began:.1f} s)"
        )
        palette = palette_for(store)
        palette.show()
        app.processEvents()
        for phrase in PHRASES:
            costs: list[float] = []
            palette.search.clear()
            for char in phrase:
                began = time.perf_counter()
                QTest.keyClick(palette.search, char)
                costs.append((time.perf_counter() - began) * 1000)
            app.processEvents()
            print(
                f"{phrase!r:>16}: per key median {percentile(costs, 0.5):6.1f} ms, "
                f"p95 {percentile(costs, 0.95):6.1f} ms, max {max(costs):6.1f} ms; "
                f"{len(palette.entries)} entries"
            )
        palette.close()
        palette.deleteLater()
        app.processEvents()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
