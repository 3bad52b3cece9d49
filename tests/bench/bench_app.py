"""Benchmark of the desktop app: cold start, type-ahead latency and idle memory.

    /work/venv/bin/python -m tests.bench.bench_app [--runs 5] [--tests 100000]

1. Cold start: from launching a fresh Python process to the first painted main window, for
   a bare PySide6 window that shows a QTableView and for Rupa Desk, side by side (runs
   interleaved), as medians and a ratio (target: Rupa Desk ≤ 1.5× the bare window). Rupa Desk
   paints its window (menus, sidebar, status bar, a "Starting…" page) before it imports its
   services; the table also gives the time until it is usable: a first run (no session: the
   sign-in page) and a returning user (a saved session and a catalog of `--tests` tests on
   disk: the catalog pane with its first results). Each run also reports whether QtWebEngine
   was imported (it must not be: only checkout loads it).
2. Type-ahead: with `--tests` tests in the local catalog, from a key press in the catalog's
   search box to the results model updated, typed at a human pace (one key per 150 ms, so
   the search box's debounce lets each key through); p50/p95/max over every keystroke of a
   set of queries (target p95 ≤ 16 ms, one frame). A burst typed at 30 ms per key is reported
   too: from the last key to its results (the debounce folds the burst into one search).
3. Idle memory: the resident set of each process above, idle after start-up.
4. Instructions to the first paint: the bare window and both Rupa Desk variants run once
   more under valgrind's callgrind, which counts the instructions each runs until its first
   paint. Unlike wall time, the count does not move with the machine's load, so its ratio is
   the steady one to compare commits by (`--no-instructions` skips it; skipped without
   valgrind).

Figures from a shared, loaded machine are noisy; compare the ratios. The catalog database is
built once per run into a temporary folder (about 20 s for 100,000 tests).

Before the cold starts the package's modules are compiled to bytecode, as an installed app has
them (pip compiles a wheel's modules at install time; an editable install writes them on its
first start). Without this, a machine that sets PYTHONDONTWRITEBYTECODE (this one does)
recompiles Rupa Desk's sources at every start, about 15 ms the bare window never pays. One
untimed round of both windows comes first, so that both find the files in the OS cache.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "pra_Bench01"
QUERIES = ("vitamin d", "cholesterol", "thyroid", "a1c", "lipid panel", "cortisol", "gut")

# -- the child processes ------------------------------------------------------------------------

BARE_WINDOW = r"""
import os, sys, time
from PySide6.QtCore import QEvent, QTimer
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QApplication, QMainWindow, QTableView

app = QApplication(sys.argv)

class Window(QMainWindow):
    painted = False
    def event(self, event):
        handled = super().event(event)
        if not self.painted and event.type() == QEvent.Type.UpdateRequest:
            self.painted = True
            print("PAINTED", '{"webengine": false}', flush=True)
            if os.environ.get("BENCH_EXIT_AT_PAINT"):
                os._exit(0)
            QTimer.singleShot(IDLE_MS, lambda: print("IDLE", flush=True))
            QTimer.singleShot(IDLE_MS + 1500, app.quit)
        return handled

model = QStandardItemModel(50, 5)
for row in range(50):
    for column in range(5):
        model.setItem(row, column, QStandardItem(f"cell {row}:{column}"))
view = QTableView()
view.setModel(model)
window = Window()
window.setCentralWidget(view)
window.resize(1180, 760)
window.show()
app.exec()
"""

RUPA_DESK = r"""
import argparse, json, os, pathlib, sys
from PySide6.QtCore import QTimer

from rupa_desk import app
from rupa_desk.paths import AppPaths

variant, root = sys.argv[1], sys.argv[2]
paths = AppPaths.under(pathlib.Path(root))
state = {}

def webengine_loaded():
    return any(name.startswith("PySide6.QtWebEngine") for name in sys.modules)

def painted():
    print("PAINTED", json.dumps({"webengine": webengine_loaded()}), flush=True)
    if os.environ.get("BENCH_EXIT_AT_PAINT"):
        os._exit(0)

def on_window(window):
    state["window"] = window
    window.first_painted.connect(painted)

def on_started(desk):
    window = desk.window
    def poll_ready():
        workspace = desk.workspace
        if variant == "first-run" and desk.sign_in_page.sign_in_button.isVisible():
            QTimer.singleShot(0, ready)
        elif workspace is not None and window.signed_in and workspace.catalog.model.rowCount():
            QTimer.singleShot(0, ready)
        else:
            QTimer.singleShot(2, poll_ready)
    def ready():
        print("READY", json.dumps({"webengine": webengine_loaded()}), flush=True)
        QTimer.singleShot(IDLE_MS, lambda: print("IDLE", flush=True))
        QTimer.singleShot(IDLE_MS + 1500, window.close)
    poll_ready()

def offline_demo():
    from rupa_desk.settings import demo
    return demo("http://127.0.0.1:9")  # nothing listens there: Rupa is "offline"

def production_bench():
    from rupa_desk.settings import production
    return production("bench")

def saved_session():
    # Called by the app after its first paint, like its own keychain probe.
    from rupa_desk.services.auth import last_account_key, session_key
    from rupa_desk.services.secrets import (
        MemorySecretStore, SecretStoreChoice, SecretStoreMode)
    store = MemorySecretStore()
    entry = {"refresh_token": "bench-refresh-token", "account_id": ACCOUNT}
    store._values[session_key(offline_demo(), ACCOUNT)] = json.dumps(entry)
    store._values[last_account_key(offline_demo())] = ACCOUNT
    return SecretStoreChoice(store, SecretStoreMode.SESSION_ONLY, None)

args = argparse.Namespace(demo=False, lab_tests=0, seed=7)
if variant == "first-run":
    code = app.run(args, paths=paths, on_window=on_window, on_started=on_started,
                   environment=production_bench)
else:
    code = app.run(args, paths=paths, on_window=on_window, on_started=on_started,
                   secrets=saved_session, environment=offline_demo)
sys.exit(code)
"""

IDLE_MS = 1500


@dataclass
class StartRun:
    painted_s: float
    ready_s: float | None
    rss_mb: float
    webengine: bool


def instructions_to_paint(source: str, *args: str) -> int | None:
    """The instructions a child runs from its start to its first paint, counted by callgrind.

    The same count whatever else the machine is doing, unlike the wall times; None when
    valgrind is not installed. About 10 s per child.
    """
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "BENCH_EXIT_AT_PAINT": "1"}
    code = source.replace("IDLE_MS", str(IDLE_MS)).replace("ACCOUNT", repr(ACCOUNT))
    with tempfile.TemporaryDirectory(prefix="rupa-callgrind-") as temp:
        counter = [valgrind, "--tool=callgrind", f"--callgrind-out-file={temp}/out"]
        done = subprocess.run(
            [*counter, sys.executable, "-c", code, *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if found is None or "PAINTED" not in done.stdout:
        raise RuntimeError(f"callgrind run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return int(found.group(1).replace(",", ""))


def launch(source: str, *args: str) -> StartRun:
    """Run a child, time its first paint (and READY), read its idle memory."""
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    code = source.replace("IDLE_MS", str(IDLE_MS)).replace("ACCOUNT", repr(ACCOUNT))
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    painted = ready = None
    webengine = False
    rss = 0.0
    for line in child.stdout:
        now = time.perf_counter() - started
        word, _, rest = line.strip().partition(" ")
        if word == "PAINTED":
            painted = now
            webengine = bool(json.loads(rest)["webengine"])
        elif word == "READY":
            ready = now
            webengine = webengine or bool(json.loads(rest)["webengine"])
        elif word == "IDLE":
            rss = psutil.Process(child.pid).memory_info().rss / 2**20
    _, errors = child.communicate(timeout=60)
    if child.returncode != 0 or painted is None:
        raise RuntimeError(f"the child failed ({child.returncode}):\n{errors[-3000:]}")
    return StartRun(painted, ready, rss, webengine)


# -- the catalog --------------------------------------------------------------------------------


def build_catalog(root: Path, size: int) -> Path:
    """A returning user's profile: the account's database with `size` tests."""
    from rupa_desk.paths import AppPaths
    from rupa_desk.services.store import Store
    from tests.fixtures.catalog_data import iter_tests, load_catalog, synthetic_companies

    paths = AppPaths.under(root).ensure()
    database = paths.database_file("demo", ACCOUNT)
    database.parent.mkdir(parents=True, exist_ok=True)
    with Store.open(database) as store:
        load_catalog(store, synthetic_companies(), iter_tests(size))
    return database


# -- type-ahead latency (in this process) -------------------------------------------------------


async def type_ahead(database: Path) -> tuple[list[float], list[float]]:
    """Keystroke → results model updated, in ms: (human pace, burst last-key)."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from rupa_desk.paths import AppPaths
    from rupa_desk.services.store import Store
    from rupa_desk.services.sync import CatalogSync
    from rupa_desk.ui.messages import MessageBridge
    from rupa_desk.ui.pages.catalog import CatalogPage
    from rupa_desk.ui.presenters.catalog import CatalogPresenter
    from rupa_desk.ui.presenters.connectivity import Connectivity
    from tests.fixtures.drafts_env import drafts_env

    store = Store.open(database)
    presenter = CatalogPresenter(
        store.catalog,
        CatalogSync(_NoSource(), database),
        drafts_env(store, AppPaths.under(database.parent / "drafts"), start=False).presenter,
        MessageBridge(),
        Connectivity(),
    )
    page = CatalogPage(presenter)
    page.resize(1180, 700)
    page.show()
    await presenter.refresh()
    box = page.search_box
    updated: list[float] = []
    presenter.model.results_reset.connect(lambda: updated.append(time.perf_counter()))

    async def key(char: str) -> float:
        arrived = asyncio.Event()
        presenter.model.results_reset.connect(arrived.set)
        try:
            started = time.perf_counter()
            QTest.keyClick(box, Qt.Key.Key_Space if char == " " else char)
            async with asyncio.timeout(2.0):
                await arrived.wait()
        finally:
            presenter.model.results_reset.disconnect(arrived.set)
        return (updated[-1] - started) * 1000

    human: list[float] = []
    burst: list[float] = []
    try:
        for query in QUERIES:
            box.clear()
            await asyncio.sleep((box.settle_ms + 50) / 1000)
            for char in query:
                human.append(await key(char))
                await asyncio.sleep(0.150)
        for query in QUERIES:
            box.clear()
            await asyncio.sleep((box.settle_ms + 50) / 1000)
            for char in query[:-1]:
                QTest.keyClick(box, Qt.Key.Key_Space if char == " " else char)
                await asyncio.sleep(0.030)
            before = len(updated)
            started = time.perf_counter()
            QTest.keyClick(box, query[-1])
            while True:
                await asyncio.sleep(0.001)
                shown = presenter.shown_query
                if len(updated) > before and shown is not None and shown.text == query:
                    break
            burst.append((updated[-1] - started) * 1000)
    finally:
        await presenter.close()
        page.close()
        page.deleteLater()
        store.close()
    return human, burst


class _NoSource:
    """The benchmark never syncs."""

    async def first_page(self, listing: object) -> object:
        raise RuntimeError("no sync in the benchmark")

    async def next_page(self, page: object) -> object:
        raise RuntimeError("no sync in the benchmark")


def run_type_ahead(database: Path) -> tuple[list[float], list[float]]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from rupa_desk.ui.event_loop import AppEventLoop

    qt_app = QApplication.instance() or QApplication([])
    assert isinstance(qt_app, QApplication)
    with asyncio.Runner(loop_factory=lambda: AppEventLoop(qt_app)) as runner:
        return runner.run(type_ahead(database))


# -- report -------------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(v for v in values if v == v)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="cold starts per variant")
    parser.add_argument("--tests", type=int, default=100_000, help="catalog size")
    parser.add_argument(
        "--no-instructions",
        action="store_true",
        help="skip counting the instructions to the first paint with valgrind (about 30 s)",
    )
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="rupa-bench-") as temp:
        root = Path(temp)
        print(f"Building a catalog of {options.tests:,} tests…", flush=True)
        built = time.perf_counter()
        database = build_catalog(root / "returning", options.tests)
        print(f"  built in {time.perf_counter() - built:.1f} s", flush=True)

        compileall.compile_dir(ROOT / "rupa_desk", quiet=1)  # see the module docstring
        print("Warm-up round (not counted)…", flush=True)
        launch(BARE_WINDOW)
        launch(RUPA_DESK, "first-run", str(root / "first-warm-up"))

        bare: list[StartRun] = []
        first: list[StartRun] = []
        returning: list[StartRun] = []
        for run in range(options.runs):
            print(f"Cold starts, round {run + 1}/{options.runs}…", flush=True)
            bare.append(launch(BARE_WINDOW))
            first.append(launch(RUPA_DESK, "first-run", str(root / f"first-{run}")))
            returning.append(launch(RUPA_DESK, "returning", str(root / "returning")))

        instructions: list[tuple[str, int | None]] = []
        if not options.no_instructions:
            print("Instructions to the first paint (callgrind)…", flush=True)
            instructions = [
                ("bare PySide6 window + QTableView", instructions_to_paint(BARE_WINDOW)),
                (
                    "Rupa Desk, first run",
                    instructions_to_paint(RUPA_DESK, "first-run", str(root / "first-counted")),
                ),
                (
                    "Rupa Desk, returning user",
                    instructions_to_paint(RUPA_DESK, "returning", str(root / "returning")),
                ),
            ]

        print("Type-ahead in the catalog pane…", flush=True)
        human, burst = run_type_ahead(database)

    def median(runs: list[StartRun], what: str = "painted_s") -> float:
        return statistics.median(getattr(r, what) for r in runs) * 1000

    bare_ms = median(bare)
    rows = [
        ("bare PySide6 window + QTableView", bare),
        ("Rupa Desk, first run (sign-in page)", first),
        (f"Rupa Desk, returning user, {options.tests:,} tests", returning),
    ]
    print()
    print(f"Cold start (median of {options.runs} interleaved runs; shared, loaded machine)")
    print(
        f"{'process':<44} {'first paint':>12} {'× bare':>7} {'usable':>9} {'× bare':>7} "
        f"{'idle RSS':>9} {'QtWebEngine':>12}"
    )
    for name, runs in rows:
        painted = median(runs)
        ready = median(runs, "ready_s") if runs[0].ready_s is not None else None
        ready_text = (
            f"{ready:7.0f}ms {ready / bare_ms:6.2f}×" if ready is not None else f"{'—':>9} {'':>7}"
        )
        webengine = any(r.webengine for r in runs)
        print(
            f"{name:<44} {painted:10.0f}ms {painted / bare_ms:6.2f}× {ready_text} "
            f"{statistics.median(r.rss_mb for r in runs):7.0f}MB "
            f"{'imported' if webengine else 'not loaded':>12}"
        )
    print(
        "  first paint: the main window on screen (Rupa Desk: with its “Starting…” page);"
        " usable: the sign-in page, or the catalog pane with results"
    )
    for name, runs in rows[1:]:
        ratios = sorted(r.painted_s / b.painted_s for r, b in zip(runs, bare, strict=True))
        print(
            f"  {name}: first paint ÷ the same round's bare window: median "
            f"{statistics.median(ratios):.2f}×, range {ratios[0]:.2f}–{ratios[-1]:.2f}×"
        )
    bare_instructions = instructions[0][1] if instructions else None
    if bare_instructions:
        print()
        print(
            "Instructions from the process's start to its first paint (callgrind: the same"
            " count on a busy or a quiet machine)"
        )
        for name, count in instructions:
            assert count is not None
            print(f"{name:<44} {count / 1e6:10.1f}M {count / bare_instructions:6.3f}×")
    elif not options.no_instructions:
        print("\nInstructions to the first paint: not counted (valgrind is not installed)")
    print()
    print(f"Type-ahead, {options.tests:,} tests: key press → results model updated")
    print(f"{'typing':<44} {'keys':>5} {'p50':>8} {'p95':>8} {'max':>8}")
    for name, values in (
        ("one key per 150 ms (each key searched)", human),
        ("burst, 30 ms per key (last key → results)", burst),
    ):
        print(
            f"{name:<44} {len(values):5d} {percentile(values, 0.5):6.1f}ms "
            f"{percentile(values, 0.95):6.1f}ms {max(values):6.1f}ms"
        )
    print()
    print(
        "Targets: cold start ≤ 1.5× the bare window; type-ahead p95 ≤ 16 ms; "
        "QtWebEngine not loaded at start-up."
    )


if __name__ == "__main__":
    main()
