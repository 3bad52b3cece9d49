"""Benchmark: how long a user's write waits while the catalog sync runs.

    .venv/bin/python -m tests.bench.bench_store_contention [--sizes 2500,100000]
        [--interval-ms 50] [--mode app|thread|child]

The UI writes drafts, notes and patients on the store's connection to the account's database,
while the catalog sync downloads and builds the catalog on a worker thread, in catalog files
of its own. For each catalog size, with the simulator in a process of its own (100 ms
latency, 20 requests/s, as in `bench_catalog`), this runs two full syncs, the first into an
empty catalog and the second over the catalog the first one left (so the old catalog has to
go), and meanwhile a user write every `--interval-ms` (a draft's notes changed through
`Store.drafts.edit`), timed: the p50/p95/p99/max of its wait for the write lock (the time its
`BEGIN IMMEDIATE` took), of the whole write (the wait, the Python around it, the fsync of the
commit), and any write that failed. `hold` is the sync's longest write transaction on the
account's database (from the call that began it to the call that committed it), taken by a
connection class that times every transaction (`TimedConnection`).

Modes (`--mode`):
- app (the default): as the app does it. The store's connection writes the drafts on the
  event loop's thread, and the sync runs on the same loop with `account_db=store.db`, so its
  few writes to the account's database (the attempt, the switch) use that same connection.
  That connection runs with no busy timeout here: a write that met a lock would fail and be
  counted, so "failed 0" says that no write waited for a lock; the wait and whole-write
  times show what the sync's worker thread costs the UI thread anyway (GIL, CPU, disk).
- thread: the drafts written on a connection of their own on a thread (another window of
  the app), the sync in this process on a connection of its own.
- child: the same, with the sync in a child process (`python -m
  tests.bench.bench_store_contention sync URL PATH`, as the command line's sync would run),
  so the figures are the database's waits, not Python's GIL shared with the sync.

Figures from a shared, loaded machine are noisy; the maximum especially.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rupa_desk.services.store import Store
from rupa_desk.services.sync import CatalogSync
from tests.bench.bench_catalog import catalog_simulator, percentile
from tests.fixtures.catalog_sync import simulator_client

ROOT = Path(__file__).resolve().parents[2]
TARGET_P99_MS = 50.0
TARGET_MAX_MS = 200.0


@dataclass
class WriteFigures:
    """The user writes of one round: each one's time and lock wait (ms), and the failures."""

    times_ms: list[float] = field(default_factory=list)
    waits_ms: list[float] = field(default_factory=list)
    commits_ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


@dataclass
class WriteLoop(WriteFigures):
    """A user write every `interval_s` on a connection of its own (a thread), timed."""

    path: Path = Path()
    draft_id: str = ""
    interval_s: float = 0.05
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="user-writes")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        with Store.open(self.path) as store:
            conn = store.db.conn
            if not isinstance(conn, TimedConnection):
                raise RuntimeError("call time_every_connection() first")
            tick = time.monotonic()
            count = 0
            while not self._stop.is_set():
                count += 1
                waited, committed = len(conn.begin_waits_ms), len(conn.commits_ms)
                started = time.perf_counter()
                try:
                    store.drafts.edit(self.draft_id, notes=f"note {count}")
                except Exception as exc:  # a failed user write is the finding
                    self.failures.append(f"{type(exc).__name__}: {exc}")
                self.times_ms.append((time.perf_counter() - started) * 1000)
                self.waits_ms.append(sum(conn.begin_waits_ms[waited:]))
                self.commits_ms.append(sum(conn.commits_ms[committed:]))
                tick += self.interval_s
                self._stop.wait(max(0.0, tick - time.monotonic()))


class TimedConnection(sqlite3.Connection):
    """A connection that times its write-lock waits and its transactions.

    `begin_waits_ms`: how long each `BEGIN IMMEDIATE` took (waiting for the lock).
    `commits_ms`: how long each `COMMIT` took (the fsync, with `synchronous=FULL`).
    `transactions_ms`: each transaction, from the call that began it (explicitly, or
    implicitly by a write) to the call that ended it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.path = str(args[0] if args else kwargs["database"])
        self.begin_waits_ms: list[float] = []
        self.commits_ms: list[float] = []
        self.transactions_ms: list[float] = []
        self._began: float | None = None
        OPENED.append(self)

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        was, started = self.in_transaction, time.perf_counter()
        try:
            return super().execute(sql, *args)
        finally:
            statement = sql.strip().upper()
            if statement.startswith("BEGIN IMMEDIATE"):
                self.begin_waits_ms.append((time.perf_counter() - started) * 1000)
            elif statement.startswith("COMMIT"):
                self.commits_ms.append((time.perf_counter() - started) * 1000)
            self._after(was, started)

    def executemany(self, sql: str, *args: Any) -> sqlite3.Cursor:
        was, started = self.in_transaction, time.perf_counter()
        try:
            return super().executemany(sql, *args)
        finally:
            self._after(was, started)

    def executescript(self, sql: str) -> sqlite3.Cursor:
        was, started = self.in_transaction, time.perf_counter()
        try:
            return super().executescript(sql)
        finally:
            self._after(was, started)

    def commit(self) -> None:
        was, started = self.in_transaction, time.perf_counter()
        try:
            super().commit()
        finally:
            self._after(was, started)

    def _after(self, was: bool, started: float) -> None:
        now = self.in_transaction
        if not was and now:
            self._began = started
        elif was and not now and self._began is not None:
            self.transactions_ms.append((time.perf_counter() - self._began) * 1000)
            self._began = None


#: Every TimedConnection opened in this process.
OPENED: list[TimedConnection] = []
_plain_connect = sqlite3.connect


def time_every_connection() -> None:
    """Make every `sqlite3.connect` of this process (the app's too) a `TimedConnection`."""

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        kwargs.setdefault("factory", TimedConnection)
        return _plain_connect(*args, **kwargs)

    sqlite3.connect = connect  # type: ignore[assignment]


def longest_transaction_ms(path: Path) -> float:
    """The longest transaction of this process's connections to the database at `path`."""
    same = [c for c in OPENED if Path(c.path).resolve() == path.resolve()]
    return max((t for c in same for t in c.transactions_ms), default=0.0)


@dataclass(frozen=True)
class Round:
    label: str
    tests: int
    sync_s: float
    build_s: float
    longest_hold_ms: float
    writes: WriteFigures


def run_sync_child(url: str, path: Path) -> dict[str, float]:
    """Run one sync in a child process; returns what it printed (test count, times, and its
    longest transaction on the user database)."""
    command = [sys.executable, "-m", "tests.bench.bench_store_contention", "sync", url, str(path)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the sync process failed:\n{done.stderr}")
    answer: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


async def sync_once(url: str, path: Path) -> dict[str, float]:
    """One sync (every connection timed); its figures."""
    time_every_connection()
    async with simulator_client(url) as client:
        result = await CatalogSync(client, path).run()
    return {
        "tests": result.test_count,
        "download_s": result.download_s,
        "build_s": result.build_s,
        "longest_hold_ms": longest_transaction_ms(path),
    }


async def app_round(url: str, path: Path, draft_id: str, interval_s: float) -> Round:
    """The app's way: drafts written on the store's connection on the event loop's thread
    while the sync runs on the same loop, its account writes on that same connection."""
    time_every_connection()
    writes = WriteFigures()
    user_transactions: set[int] = set()
    loop = asyncio.get_running_loop()
    with Store.open(path) as store:
        conn = store.db.conn
        if not isinstance(conn, TimedConnection):
            raise RuntimeError("call time_every_connection() first")
        # No busy timeout: a write that met a lock would fail (and be counted), not wait.
        store.db.execute("PRAGMA busy_timeout = 0")
        async with simulator_client(url) as client:
            sync = CatalogSync(client, path, account_db=store.db)
            task = asyncio.create_task(sync.run())
            tick, count = loop.time(), 0
            while not task.done():
                count += 1
                waited, before = len(conn.begin_waits_ms), len(conn.transactions_ms)
                committed = len(conn.commits_ms)
                started = time.perf_counter()
                try:
                    store.drafts.edit(draft_id, notes=f"note {count}")
                except Exception as exc:  # a failed user write is the finding
                    writes.failures.append(f"{type(exc).__name__}: {exc}")
                writes.times_ms.append((time.perf_counter() - started) * 1000)
                writes.waits_ms.append(sum(conn.begin_waits_ms[waited:]))
                writes.commits_ms.append(sum(conn.commits_ms[committed:]))
                user_transactions.update(range(before, len(conn.transactions_ms)))
                tick += interval_s
                await asyncio.sleep(max(0.0, tick - loop.time()))
            result = await task
        sync_holds = [t for n, t in enumerate(conn.transactions_ms) if n not in user_transactions]
    others = [c for c in OPENED if c is not conn and c.path == conn.path]  # the same str(path)
    sync_holds += [t for c in others for t in c.transactions_ms]
    return Round(
        "",
        result.test_count,
        result.download_s + result.build_s,
        result.build_s,
        max(sync_holds, default=0.0),
        writes,
    )


def measured_sync(
    label: str, url: str, path: Path, draft_id: str, interval_s: float, mode: str
) -> Round:
    time_every_connection()
    OPENED.clear()
    if mode == "app":
        measured = asyncio.run(app_round(url, path, draft_id, interval_s))
        return Round(
            label,
            measured.tests,
            measured.sync_s,
            measured.build_s,
            measured.longest_hold_ms,
            measured.writes,
        )
    writes = WriteLoop(path=path, draft_id=draft_id, interval_s=interval_s)
    writes.start()
    try:
        if mode == "thread":
            result = asyncio.run(sync_once(url, path))
        else:
            result = run_sync_child(url, path)
    finally:
        writes.stop()
    return Round(
        label,
        int(result["tests"]),
        result["download_s"] + result["build_s"],
        result["build_s"],
        result["longest_hold_ms"],
        writes,
    )


def print_round(size: int, measured: Round) -> None:
    times, waits = measured.writes.times_ms, measured.writes.waits_ms
    commits = measured.writes.commits_ms
    met = percentile(waits, 0.99) <= TARGET_P99_MS and max(waits) <= TARGET_MAX_MS
    met = met and not measured.writes.failures

    def figures(values: list[float]) -> str:
        quantiles = (statistics.median(values), percentile(values, 0.95))
        return " ".join(f"{v:6.1f}" for v in (*quantiles, percentile(values, 0.99), max(values)))

    print(
        f"{size:>8,} {measured.label:<10} {measured.sync_s:7.1f} {measured.build_s:7.1f}"
        f" {len(times):6} | {figures(waits)} | {figures(times)} |"
        f" {percentile(commits, 0.95):6.1f} {max(commits):6.1f} |"
        f" {len(measured.writes.failures):6} {measured.longest_hold_ms:9.1f}"
        f"  {'met' if met else 'NOT met'}"
    )
    for failure in sorted(set(measured.writes.failures)):
        print(f"{'':>9} failure: {failure}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="2500,100000")
    parser.add_argument("--interval-ms", type=float, default=50.0)
    parser.add_argument("--mode", choices=("app", "thread", "child"), default="app")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    where = {
        "app": "this process, the drafts on the store's connection (as the app does)",
        "thread": "this process, the drafts on a connection of their own",
        "child": "a child process, the drafts on a connection of their own",
    }[args.mode]
    print(
        f"Store contention benchmark: CPUs {os.cpu_count()}, load {os.getloadavg()[0]:.2f}"
        f" (shared machine); a user write every {args.interval_ms:.0f} ms while the sync runs"
        f" in {where}"
    )
    print(
        f"targets for the lock wait: p99 ≤ {TARGET_P99_MS:.0f} ms, max ≤ {TARGET_MAX_MS:.0f} ms;"
        " no failed write. Times in ms: wait = the write's BEGIN IMMEDIATE (the lock, plus the GIL"
        " and the CPU on a loaded machine), write = the whole write, commit = its COMMIT (p95,"
        " max; the fsync); hold = the sync's longest transaction on the user database"
    )
    print(
        f"{'tests':>8} {'sync':<10} {'time s':>7} {'build s':>7} {'writes':>6} |"
        f" {'wait':>4} {'p50':>1} {'p95':>6} {'p99':>6} {'max':>6} |"
        f" {'write':>5} {'p50':>0} {'p95':>6} {'p99':>6} {'max':>6} |"
        f" {'commit':>6} {'max':>6} |"
        f" {'failed':>6} {'sync hold':>9}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-contention-") as folder:
        for size in sizes:
            path = Path(folder) / f"size-{size}" / "rupa-desk.sqlite3"
            with Store.open(path) as store:
                draft_id = store.drafts.create(notes="the user's draft")
            with catalog_simulator(size) as url:
                for label in ("first sync", "resync"):
                    measured = measured_sync(
                        label, url, path, draft_id, args.interval_ms / 1000, args.mode
                    )
                    print_round(size, measured)
            with Store.open(path) as store:
                kept = store.drafts.get(draft_id).notes
                print(f"{'':>9} catalog {store.catalog.test_count():,} tests; draft notes {kept!r}")
    return 0


def child(url: str, path: Path) -> int:
    """The `sync URL PATH` entry point: one sync, its figures as one JSON line."""
    print(json.dumps(asyncio.run(sync_once(url, path))), flush=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "sync":
        sys.exit(child(sys.argv[2], Path(sys.argv[3])))
    sys.exit(main())
