"""Benchmark of the offline catalog: search speed, sync throughput and sync memory.

    /work/venv/bin/python -m tests.bench.bench_catalog [--sizes 2500,100000] [--runs 15]
                                                       [--sequential-sizes 2500]

For each catalog size, the simulator runs in a separate process (so its memory is not
counted here) with 100 ms latency and a 20 requests/s limit, and this process:

1. syncs the whole catalog with the app's `CatalogSync` (concurrent chains), sampling this
   process's RSS to get the peak above the baseline, and counts the 429s in the simulator's
   request log;
2. for the sizes in `--sequential-sizes`, syncs again one page at a time, for the speed-up;
3. times `Catalog.search` over a fixed query set (1-2 characters, prefixes, several words,
   substrings, with and without filters) against a bare FTS5 query that ranks the same
   matches with bm25 and takes the top 50, on the same database.

Figures from a shared, loaded machine are noisy: compare the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

from rupa_desk.services.store import CatalogFilters, Store
from rupa_desk.services.store.catalog_query import parse_query
from rupa_desk.services.store.catalog_schema import company_tag, sample_type_tag
from rupa_desk.services.sync import CatalogSync, CatalogSyncResult
from tests.fixtures.catalog_sync import simulator_client

LATENCY_MS = 100
RATE_PER_S = 20.0

#: (category, query, filters): the filters are filled in from the synced catalog.
QUERIES: tuple[tuple[str, str, str], ...] = (
    ("1-2 chars", "a", ""),
    ("1-2 chars", "me", ""),
    ("1-2 chars", "vi", ""),
    ("1-2 chars", "b1", ""),
    ("prefix", "vit", ""),
    ("prefix", "chol", ""),
    ("prefix", "thyr", ""),
    ("prefix", "horm", ""),
    ("prefix", "stoo", ""),
    ("prefix", "micro", ""),
    ("words", "vitamin d", ""),
    ("words", "comprehensive stool", ""),
    ("words", "thyroid antibodies", ""),
    ("words", "food sensitivity igg", ""),
    ("words", "cortisol saliva", ""),
    ("substring", "a1c", ""),
    ("substring", "olest", ""),
    ("substring", "25-OH", ""),
    ("substring", "T3/T4", ""),
    ("substring", "vitamin-d", ""),
    ("substring", "yroid", ""),
    ("filters", "vit", "company"),
    ("filters", "panel", "blood"),
    ("filters", "", "company"),
    ("filters", "me", "cheap"),
    ("filters", "chol", "company+blood"),
    ("filters", "a1c", "blood"),
)


#: One query's figures: category, text, filter name, our times, bare bm25 times (ms).
Row = tuple[str, str, str, list[float], list[float]]


@dataclass
class SyncFigures:
    result: CatalogSyncResult
    peak_rss_mb: float
    rate_limited: int
    requests: int


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def simulator_process(lab_tests: int) -> Iterator[str]:
    """The simulator in its own process, at 100 ms latency and 20 requests/s."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "rupa_desk.sandbox",
        "--port",
        str(port),
        "--lab-tests",
        str(lab_tests),
        "--seed",
        "7",
        "--latency-ms",
        str(LATENCY_MS),
        "--rate-limit",
        str(RATE_PER_S),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(url + "/_sim/info", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the simulator did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


class RssSampler:
    """Samples this process's resident memory every 20 ms in a thread; keeps the peak."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self.baseline = self._process.memory_info().rss
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)


def request_log(url: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    since = 0
    while True:
        answer = httpx.get(f"{url}/_sim/requests?since={since}", timeout=30).json()
        entries.extend(answer["requests"])
        if not answer["requests"] or answer["last_seq"] <= since:
            return entries
        since = answer["requests"][-1]["seq"]
        if since >= answer["last_seq"]:
            return entries


async def timed_sync(url: str, path: Path, concurrency: int | None) -> SyncFigures:
    async with httpx.AsyncClient() as control:
        answer = await control.get(url + "/_sim/requests?since=0", timeout=30)
        first_seq = answer.json()["last_seq"]
    async with simulator_client(url) as client:
        syncer = CatalogSync(client, path, max_concurrent_pages=concurrency)
        with RssSampler() as rss:
            result = await syncer.run()
    log = [e for e in request_log(url) if e["seq"] > first_seq]
    return SyncFigures(
        result=result,
        peak_rss_mb=(rss.peak - rss.baseline) / 1e6,
        rate_limited=sum(1 for e in log if e["status"] == 429),
        requests=len(log),
    )


def resolve_filters(store: Store, name: str) -> CatalogFilters:
    companies = store.catalog.companies()
    biggest = max(companies, key=lambda c: c.test_count).id if companies else None
    prices = store.catalog.price_range()
    return {
        "": CatalogFilters(),
        "company": CatalogFilters(lab_company_id=biggest),
        "blood": CatalogFilters(sample_type="Blood"),
        "cheap": CatalogFilters(price_max=(prices.lowest + 50) if prices else None),
        "company+blood": CatalogFilters(lab_company_id=biggest, sample_type="Blood"),
    }[name]


def baseline_query(store: Store, text: str, filters: CatalogFilters) -> Callable[[], object]:
    """A bare FTS5 query ranking the same matches with bm25, top 50 (word + trigram indexes)."""
    parsed = parse_query(text)
    tags = []
    if filters.lab_company_id:
        tags.append('{tags}: "' + company_tag(filters.lab_company_id) + '"')
    if filters.sample_type:
        tags.append('{tags}: "' + sample_type_tag(filters.sample_type) + '"')
    words = " AND ".join([*([f"({parsed.all_words})"] if parsed.all_words else []), *tags])
    price = ""
    if filters.price_max is not None:
        price = f" AND t.price_cents <= {int(filters.price_max * 100)}"
    statements: list[tuple[str, str]] = []
    if words:
        statements.append(
            (
                "SELECT w.rowid FROM catalog_words(?) w JOIN lab_tests t ON t.row_no = w.rowid"
                f" WHERE 1{price} ORDER BY bm25(catalog_words, 10.0, 5.0, 1.0, 1.0, 0.0)"
                " LIMIT 50",
                words,
            )
        )
    if parsed.substring:
        for index in ("catalog_name_substrings", "catalog_biomarker_substrings"):
            statements.append(
                (
                    f"SELECT x.rowid FROM {index}(?) x JOIN lab_tests t ON t.row_no = x.rowid"
                    f" WHERE 1{price} ORDER BY bm25({index}) LIMIT 50",
                    parsed.substring,
                )
            )
    conn = store.db.conn

    def run() -> object:
        return [conn.execute(sql, [match]).fetchall() for sql, match in statements]

    return run


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def bench_search(store: Store, runs: int) -> list[Row]:
    rows = []
    for category, text, filter_name in QUERIES:
        filters = resolve_filters(store, filter_name)
        baseline = baseline_query(store, text, filters)
        ours: list[float] = []
        bare: list[float] = []
        store.catalog.search(text, filters)
        baseline()
        for _ in range(runs):
            started = time.perf_counter()
            store.catalog.search(text, filters)
            ours.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            baseline()
            bare.append((time.perf_counter() - started) * 1000)
        rows.append((category, text, filter_name, ours, bare))
    return rows


def print_search_table(
    size: int, rows: list[tuple[str, str, str, list[float], list[float]]]
) -> None:
    print(f"\nSearch at {size:,} tests (ms; ours vs bare bm25 top-50 on the same database)")
    print(f"{'category':<11} {'query':<22} {'filter':<14} {'p50':>7} {'p95':>7} {'bm25 p95':>9}")
    for category, text, filter_name, ours, bare in rows:
        print(
            f"{category:<11} {text!r:<22} {filter_name or '-':<14} "
            f"{statistics.median(ours):7.2f} {percentile(ours, 0.95):7.2f} "
            f"{percentile(bare, 0.95):9.2f}"
        )
    all_ours = [t for row in rows for t in row[3]]
    all_bare = [t for row in rows for t in row[4]]
    print(f"{'-' * 73}")
    for category in dict.fromkeys(row[0] for row in rows):
        cat_ours = [t for row in rows if row[0] == category for t in row[3]]
        cat_bare = [t for row in rows if row[0] == category for t in row[4]]
        print(
            f"p95 {category:<12} ours {percentile(cat_ours, 0.95):7.2f}   "
            f"bm25 {percentile(cat_bare, 0.95):7.2f}"
        )
    p95, base95 = percentile(all_ours, 0.95), percentile(all_bare, 0.95)
    print(
        f"p95 ALL          ours {p95:7.2f}   bm25 {base95:7.2f}   "
        f"ratio ours/bm25 {p95 / base95:.2f}   (target: ≤ {3 if size <= 2500 else 10} ms)"
    )


def db_size_mb(path: Path) -> float:
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    return sum(f.stat().st_size for f in files if f.exists()) / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="2500,100000")
    parser.add_argument("--sequential-sizes", default="2500")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    sequential = {int(s) for s in args.sequential_sizes.split(",") if s}
    print(f"Catalog benchmark: CPUs {os.cpu_count()}, load {os.getloadavg()[0]:.2f} (shared)")
    with tempfile.TemporaryDirectory(prefix="bench-catalog-") as folder:
        for size in sizes:
            path = Path(folder) / f"catalog-{size}.sqlite3"
            Store.open(path).close()
            with simulator_process(size) as url:
                figures = asyncio.run(timed_sync(url, path, None))
                result = figures.result
                pages_per_s = result.pages / result.download_s
                print(f"\nSync of {size:,} tests ({LATENCY_MS} ms latency, {RATE_PER_S:.0f} req/s)")
                print(
                    f"  concurrent: {result.pages} pages in {result.download_s:.1f} s download"
                    f" + {result.build_s:.1f} s build; {pages_per_s:.1f} pages/s ="
                    f" {pages_per_s / RATE_PER_S:.0%} of the ceiling (target ≥ 90%)"
                )
                print(
                    f"  429s: {figures.rate_limited} of {figures.requests} requests (target 0);"
                    f" peak RSS above baseline: {figures.peak_rss_mb:.0f} MB (target ≤ 200 MB);"
                    f" database: {db_size_mb(path):.0f} MB"
                )
                if size in sequential:
                    other = Path(folder) / f"sequential-{size}.sqlite3"
                    Store.open(other).close()
                    one = asyncio.run(timed_sync(url, other, 1)).result
                    total = result.download_s + result.build_s
                    one_total = one.download_s + one.build_s
                    print(
                        f"  one page at a time: {one.pages} pages in {one.download_s:.1f} s"
                        f" download ({one.pages / one.download_s:.1f} pages/s); speed-up"
                        f" {one.download_s / result.download_s:.2f}x download,"
                        f" {one_total / total:.2f}x end to end (target ≥ 1.8x)"
                    )
            with Store.open(path) as store:
                print_search_table(size, bench_search(store, args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
