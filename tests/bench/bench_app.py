"""Benchmark of the desktop app: cold start, type-ahead latency and idle memory.

    .venv/bin/python -m tests.bench.bench_app [--runs 5] [--tests 100000]
        [--no-instructions] [--type-ahead-only]

1. Cold start, for a bare PySide6 window that shows a QTableView (the anchor) and for Rupa
   Desk, side by side (runs interleaved), as medians and ratios to the bare window's first
   paint (target: Rupa Desk ≤ 1.5× the bare window). Two times per process: its first paint
   (Rupa Desk paints its window, with a "Starting…" placeholder, before it imports its
   services) and the time until it is usable: the bare window at its first paint, Rupa Desk
   on a first run at its sign-in page, for a returning user (a saved session and a catalog of
   `--tests` tests on disk) at the catalog pane with its first results. Each run also reports
   whether QtWebEngine was imported (it must not be: only checkout loads it).
2. Type-ahead: with `--tests` tests in the local catalog, a set of queries typed into the
   real catalog pane at three paces: one key per 150 ms (slow: each key searched), 60 ms (a
   fast typist) and 30 ms (key repeat). For each: searches run per keys typed, keystroke →
   results model (until the model shows that key's text or a later one), last key → model and
   last key → results painted on screen, as p50/p95/max. Targets: keystroke → model p95 ≤ 16
   ms (one frame) at 150 ms; last key → on screen p95 ≤ 50 ms at 60 ms.
3. Idle memory: the resident set of each process above, idle after start-up.
4. Instructions: the bare window to its first paint, and Rupa Desk on a first run to its
   first paint and to usable, and a returning user to usable, run once more under valgrind's
   callgrind, which counts the instructions each runs. Unlike wall time, the count does not
   move with the machine's load, so its ratio is the steady one to compare commits by
   (`--no-instructions` skips it; skipped without valgrind; a count callgrind does not finish
   in time is dropped and says so).

Figures from a shared, loaded machine are noisy; compare the ratios. The catalog database is
built once per run into a temporary folder.

The children run with their bytecode cached in a temporary folder (PYTHONPYCACHEPREFIX),
never in the checkout or the virtual environment, and allowed to write it even where
PYTHONDONTWRITEBYTECODE is set: an installed app has bytecode for its modules and its
dependencies' (pip compiles a wheel's modules at install time), and without it Rupa Desk
would recompile its sources at every start, a cost the bare window never pays. Rupa Desk's
modules are compiled into that folder first, and one untimed round of both windows writes the
rest and puts the files in the OS cache.
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
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "pra_Bench01"
QUERIES = (
    *("vitamin d", "cholesterol", "thyroid", "a1c", "lipid panel", "cortisol", "gut"),
    *("ferritin", "magnesium", "testosterone", "omega 3", "food sensitivity", "estradiol"),
)

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
            if os.environ.get("BENCH_EXIT_AT"):  # usable as soon as it is painted
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
    if os.environ.get("BENCH_EXIT_AT") == "paint":
        os._exit(0)

def on_window(window):
    state["window"] = window
    window.first_painted.connect(painted)

def on_started(desk):
    window = desk.window
    poll_ms = int(os.environ.get("BENCH_POLL_MS", "2"))
    def poll_ready():
        workspace = desk.workspace
        if variant == "first-run" and desk.sign_in_page.sign_in_button.isVisible():
            QTimer.singleShot(0, ready)
        elif workspace is not None and window.signed_in and workspace.catalog.model.rowCount():
            QTimer.singleShot(0, ready)
        else:
            QTimer.singleShot(poll_ms, poll_ready)
    def ready():
        print("READY", json.dumps({"webengine": webengine_loaded()}), flush=True)
        if os.environ.get("BENCH_EXIT_AT") == "ready":
            os._exit(0)
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
CALLGRIND_TIMEOUT_S = 900
TYPING_PACES_MS = (150, 60, 30)
QUICKLY = {"within": 5.0, "interval": 0.001}  # timed by the events, not by this polling


@dataclass
class StartRun:
    painted_s: float
    ready_s: float | None
    rss_mb: float
    webengine: bool


def child_env(pycache: Path, **extra: str) -> dict[str, str]:
    """The children's environment: bytecode cached under `pycache`, never in the checkout.

    The children may write bytecode (an installed app has it for every module, its
    dependencies' too), but into `pycache` (PYTHONPYCACHEPREFIX), not into `rupa_desk/` or
    the virtual environment.
    """
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    return {**env, "PYTHONPYCACHEPREFIX": str(pycache), **extra}


def instructions_to(point: str, pycache: Path, source: str, *args: str) -> int | None:
    """The instructions a child runs from its start to `point`, counted by callgrind.

    `point` is "paint" (its first paint) or "ready" (usable: the bare window at its first
    paint, Rupa Desk at its sign-in page or its signed-in panes). The same count whatever
    else the machine is doing, unlike the wall times; None when valgrind is not installed.
    The Rupa Desk child polls for "ready" on a timer: under callgrind, which runs it many
    times slower, it polls every 100 ms so that the polling itself adds few instructions.
    """
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    env = child_env(pycache, QT_QPA_PLATFORM="offscreen", BENCH_EXIT_AT=point, BENCH_POLL_MS="100")
    code = source.replace("IDLE_MS", str(IDLE_MS)).replace("ACCOUNT", repr(ACCOUNT))
    with tempfile.TemporaryDirectory(prefix="rupa-callgrind-") as temp:
        counter = [valgrind, "--tool=callgrind", f"--callgrind-out-file={temp}/out"]
        done = subprocess.run(
            [*counter, sys.executable, "-c", code, *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=CALLGRIND_TIMEOUT_S,
            check=False,
        )
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    reached = "PAINTED" if point == "paint" or source is BARE_WINDOW else "READY"
    if found is None or reached not in done.stdout:
        raise RuntimeError(f"callgrind run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return int(found.group(1).replace(",", ""))


def launch(pycache: Path, source: str, *args: str) -> StartRun:
    """Run a child, time its first paint (and READY), read its idle memory."""
    env = child_env(pycache)
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
    return StartRun(painted, ready if source is not BARE_WINDOW else painted, rss, webengine)


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


@dataclass
class Typing:
    """One pace of typing every query: per key and per query, in ms.

    Attributes:
        pace_ms: the time between two keys.
        key_to_model: for every key, from its press until the model shows the results of its
            text or of a later one (a key folded into a later search waits for that one).
        last_key_to_model: per query, from its last key until the model shows its results.
        last_key_to_screen: per query, from its last key until the results table has painted
            them.
        searches: how many searches reached the model, over all the queries.
        keys: how many keys were typed.
    """

    pace_ms: int
    key_to_model: list[float] = field(default_factory=list)
    last_key_to_model: list[float] = field(default_factory=list)
    last_key_to_screen: list[float] = field(default_factory=list)
    searches: int = 0
    keys: int = 0


async def type_ahead(database: Path, paces_ms: tuple[int, ...]) -> list[Typing]:
    """Type every query at each pace into the real catalog pane, over the real presenter."""
    from PySide6.QtCore import QEvent, QObject, Qt
    from PySide6.QtTest import QTest

    from rupa_desk.paths import AppPaths
    from rupa_desk.services.store import Store
    from rupa_desk.services.sync import CatalogSync
    from rupa_desk.ui.messages import MessageBridge
    from rupa_desk.ui.pages.catalog import CatalogPage
    from rupa_desk.ui.presenters.catalog import CatalogPresenter, CatalogQuery
    from rupa_desk.ui.presenters.connectivity import Connectivity
    from tests.fixtures.drafts_env import drafts_env
    from tests.fixtures.qt import wait_until

    class PaintClock(QObject):
        """Records when the results table's viewport paints."""

        def __init__(self) -> None:
            super().__init__()
            self.painted: list[float] = []

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint:
                self.painted.append(time.perf_counter())
            return False

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
    paints = PaintClock()
    page.table.viewport().installEventFilter(paints)
    await presenter.refresh()
    box = page.search_box
    shown: list[tuple[float, str]] = []  # (when, text) of every search that reached the model

    def on_results(query: CatalogQuery) -> None:
        shown.append((time.perf_counter(), query.text))

    presenter.results_changed.connect(on_results)

    async def type_query(query: str, pace: Typing) -> None:
        box.clear()  # no search: the last query's results stay until the first key
        await asyncio.sleep(0.3)  # a pause between queries, longer than any debounce
        before = len(shown)
        pressed: list[tuple[float, str]] = []
        started = time.perf_counter()
        for index, char in enumerate(query):
            due = started + index * pace.pace_ms / 1000
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            pressed.append((time.perf_counter(), query[: index + 1]))
            QTest.keyClick(box, Qt.Key.Key_Space if char == " " else char)
        await wait_until(lambda: len(shown) > before and shown[-1][1] == query, **QUICKLY)
        model_at = shown[-1][0]
        await wait_until(lambda: any(when > model_at for when in paints.painted), **QUICKLY)
        screen_at = min(when for when in paints.painted if when > model_at)
        results = shown[before:]
        for at, text in pressed:
            later_texts = {typed for _, typed in pressed if len(typed) >= len(text)}
            arrived = min(when for when, seen in results if when >= at and seen in later_texts)
            pace.key_to_model.append((arrived - at) * 1000)
        last_key = pressed[-1][0]
        pace.last_key_to_model.append((model_at - last_key) * 1000)
        pace.last_key_to_screen.append((screen_at - last_key) * 1000)
        pace.searches += len(results)
        pace.keys += len(query)

    paces = [Typing(pace_ms) for pace_ms in paces_ms]
    try:
        for pace in paces:
            for query in QUERIES:
                await type_query(query, pace)
    finally:
        await presenter.close()
        page.close()
        page.deleteLater()
        store.close()
    return paces


class _NoSource:
    """The benchmark never syncs."""

    async def first_page(self, listing: object) -> object:
        raise RuntimeError("no sync in the benchmark")

    async def next_page(self, page: object) -> object:
        raise RuntimeError("no sync in the benchmark")


def run_type_ahead(database: Path, paces_ms: tuple[int, ...]) -> list[Typing]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from rupa_desk.ui.event_loop import AppEventLoop

    qt_app = QApplication.instance() or QApplication([])
    assert isinstance(qt_app, QApplication)
    with asyncio.Runner(loop_factory=lambda: AppEventLoop(qt_app)) as runner:
        return runner.run(type_ahead(database, paces_ms))


# -- report -------------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(v for v in values if v == v)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def count_instructions(pycache: Path, root: Path, tests: int) -> list[tuple[str, str, int | str]]:
    """Callgrind's counts: (process, up to what, instructions or why there is none)."""
    first_run = ("first-run", str(root / "callgrind-first-run"))
    counted: list[tuple[str, str, int | str]] = []
    for name, label, point, source, args in (
        ("bare PySide6 window + QTableView", "first paint = usable", "paint", BARE_WINDOW, ()),
        ("Rupa Desk, first run", "first paint", "paint", RUPA_DESK, first_run),
        ("Rupa Desk, first run", "usable (sign-in page)", "ready", RUPA_DESK, first_run),
        (
            f"Rupa Desk, returning user, {tests:,} tests",
            "usable (catalog pane with results)",
            "ready",
            RUPA_DESK,
            ("returning", str(root / "returning")),
        ),
    ):
        print(f"  {name}, to {label}…", flush=True)
        try:
            count: int | str | None = instructions_to(point, pycache, source, *args)
        except subprocess.TimeoutExpired:
            count = f"not counted: callgrind did not get there within {CALLGRIND_TIMEOUT_S} s"
        if count is None:
            return []  # no valgrind
        counted.append((name, label, count))
    return counted


def print_typing(paces: list[Typing], tests: int) -> None:
    print()
    print(
        f"Type-ahead, {tests:,} tests, {len(QUERIES)} queries per pace (ms; shared, loaded machine)"
    )
    print(
        f"{'pace':<22} {'searches/keys':>14} {'key → model p50/p95/max':>26} "
        f"{'last key → model p50/p95/max':>31} {'last key → on screen p50/p95/max':>35}"
    )

    def spread(values: list[float]) -> str:
        return f"{percentile(values, 0.5):6.1f} {percentile(values, 0.95):6.1f} {max(values):6.1f}"

    for pace in paces:
        print(
            f"{f'one key per {pace.pace_ms} ms':<22} {pace.searches:>6}/{pace.keys:<7} "
            f"{spread(pace.key_to_model):>26} {spread(pace.last_key_to_model):>31} "
            f"{spread(pace.last_key_to_screen):>35}"
        )
    print(
        "  key → model: from each key until the model shows its text's results or a later"
        " text's (a key folded into a later search waits for it)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="cold starts per variant")
    parser.add_argument("--tests", type=int, default=100_000, help="catalog size")
    parser.add_argument(
        "--no-instructions",
        action="store_true",
        help="skip counting the instructions with valgrind (it takes minutes)",
    )
    parser.add_argument(
        "--type-ahead-only",
        action="store_true",
        help="measure the type-ahead alone (no cold starts, no instruction counts)",
    )
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="rupa-bench-") as temp:
        root = Path(temp)
        print(f"Building a catalog of {options.tests:,} tests…", flush=True)
        built = time.perf_counter()
        database = build_catalog(root / "returning", options.tests)
        print(f"  built in {time.perf_counter() - built:.1f} s", flush=True)

        if not options.type_ahead_only:
            cold_starts(options, root)

        print("Type-ahead in the catalog pane…", flush=True)
        paces = run_type_ahead(database, TYPING_PACES_MS)
    print_typing(paces, options.tests)
    print()
    print(
        "Targets: cold start ≤ 1.5× the bare window; type-ahead key → model p95 ≤ 16 ms at "
        f"{TYPING_PACES_MS[0]} ms a key; last key → on screen p95 ≤ 50 ms at "
        f"{TYPING_PACES_MS[1]} ms a key; QtWebEngine not loaded at start-up."
    )


def cold_starts(options: argparse.Namespace, root: Path) -> None:
    """Time and count the cold starts, and print them."""
    pycache = root / "pycache"  # see the module docstring
    sys.pycache_prefix = str(pycache)
    compileall.compile_dir(ROOT / "rupa_desk", quiet=1)
    print("Warm-up round (not counted)…", flush=True)
    launch(pycache, BARE_WINDOW)
    launch(pycache, RUPA_DESK, "first-run", str(root / "first-warm-up"))

    bare: list[StartRun] = []
    first: list[StartRun] = []
    returning: list[StartRun] = []
    for run in range(options.runs):
        print(f"Cold starts, round {run + 1}/{options.runs}…", flush=True)
        bare.append(launch(pycache, BARE_WINDOW))
        first.append(launch(pycache, RUPA_DESK, "first-run", str(root / f"first-{run}")))
        returning.append(launch(pycache, RUPA_DESK, "returning", str(root / "returning")))

    instructions: list[tuple[str, str, int | str]] = []
    if not options.no_instructions:
        print("Instructions (callgrind)…", flush=True)
        instructions = count_instructions(pycache, root, options.tests)

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
        ready = median(runs, "ready_s")
        webengine = any(r.webengine for r in runs)
        print(
            f"{name:<44} {painted:10.0f}ms {painted / bare_ms:6.2f}× "
            f"{ready:7.0f}ms {ready / bare_ms:6.2f}× "
            f"{statistics.median(r.rss_mb for r in runs):7.0f}MB "
            f"{'imported' if webengine else 'not loaded':>12}"
        )
    print(
        "  first paint: the main window on screen (Rupa Desk: its “Starting…” placeholder);"
        " usable: the bare window's first paint, Rupa Desk's sign-in page, or its catalog"
        " pane with results (× bare: over the bare window's first paint, the anchor)"
    )
    for name, runs in rows[1:]:
        for what, label in (("painted_s", "first paint"), ("ready_s", "usable")):
            ratios = sorted(getattr(r, what) / b.painted_s for r, b in zip(runs, bare, strict=True))
            print(
                f"  {name}: {label} ÷ the same round's bare window: median "
                f"{statistics.median(ratios):.2f}×, range {ratios[0]:.2f}–{ratios[-1]:.2f}×"
            )
    if instructions:
        print()
        print(
            "Instructions from the process's start (callgrind: the same count on a busy or a"
            " quiet machine)"
        )
        anchor = instructions[0][2]
        for name, point, count in instructions:
            if isinstance(count, int) and isinstance(anchor, int):
                print(f"{name:<44} {point:<36} {count / 1e6:10.1f}M {count / anchor:6.3f}×")
            else:
                print(f"{name:<44} {point:<36} {count}")
        print(
            "  (a returning user's first paint is not counted apart: up to it, both Rupa"
            " Desk variants run the same code)"
        )
    elif not options.no_instructions:
        print("\nInstructions: not counted (valgrind is not installed)")


if __name__ == "__main__":
    main()
