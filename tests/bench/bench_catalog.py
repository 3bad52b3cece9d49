"""Benchmark of the offline catalog: search speed, sync throughput and sync memory.

    .venv/bin/python -m tests.bench.bench_catalog [--sizes 2500,100000] [--runs 15]
                                                  [--sequential-sizes 2500]

For each catalog size, the simulator runs in a separate process (so its memory is not
counted here) with `LATENCY_MS` of latency and a limit of `RATE_PER_S` requests/s with
bursts of `SERVER_BURST` per token (the client paces itself at the same rate with bursts of
its own), and this process:

1. syncs the whole catalog with the app's `CatalogSync` (concurrent chains), sampling this
   process's RSS to get the peak above the baseline, and reads the simulator's request log:
   the 429s, and the request rate. Two rates are printed, because a short sync is mostly its
   opening burst: the rate over the whole download against the most the server's limit lets
   through in that time, (burst + rate·T)/T, and the sustained rate, from the requests that
   arrived after the first second, against the limit;
2. for the sizes in `--sequential-sizes`, syncs again one page at a time, for the speed-up;
3. times `Catalog.search` over a fixed query set (1-2 characters, prefixes, several words,
   substrings, several words with filters, and pages deep in the results fetched with the
   previous page's cursor) against two anchors on the same database, run in turn with it:
   the same work (the statements the search ran for that page, replayed bare through
   sqlite3: the same full rows in the same tiers), and a bare FTS5 query that ranks every
   match with bm25 and returns the ids of the top 50 (different work: a floor, not a
   like-for-like figure); and shows what the same deep pages cost with `offset=`, and what
   `count()` costs.

The printout says what each figure leaves out. Figures from a shared, loaded machine are
noisy: compare the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

from rupa_desk.services.store import CatalogFilters, PreferredLabs, SearchCursor, Store
from rupa_desk.services.store.catalog_files import CatalogFiles
from rupa_desk.services.store.catalog_query import parse_query
from rupa_desk.services.store.catalog_schema import company_tag, sample_type_tag
from rupa_desk.services.sync import CatalogSync, CatalogSyncResult
from rupa_desk.settings import ClientLimits
from tests.bench.simulator_process import simulator_process
from tests.fixtures.catalog_sync import simulator_client

LATENCY_MS = 100
RATE_PER_S = 20.0
SERVER_BURST = 40
#: The shortest stretch after the opening second whose request rate is printed as sustained.
MIN_SUSTAINED_S = 2.0

#: (category, query, filters): the filters are filled in from the synced catalog. A "deep
#: page" is the page that starts at DEEP_SHARE of the query's matches.
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
    ("words+filters", "comprehensive stool", "blood"),
    ("words+filters", "comprehensive stool", "cheap"),
    ("words+filters", "thyroid antibodies", "saliva"),
    ("words+filters", "food sensitivity igg", "cheap"),
    ("words+filters", "vitamin d", "stool"),
    ("words+filters", "cortisol saliva", "company"),
    ("deep page", "me", ""),
    ("deep page", "a", ""),
    ("deep page", "vit", ""),
    ("deep page", "", "company"),
    ("deep page", "panel", "blood"),
    ("deep page", "c", ""),
)
DEEP_SHARE = 0.6
#: Queries whose full count() is timed (the catalog pane no longer needs one).
COUNTED: tuple[str, ...] = ("me", "a", "vit", "comprehensive stool")


@dataclass
class Row:
    """One query's timings (ms): ours, the same work replayed bare, and bare bm25."""

    category: str
    text: str
    filter_name: str
    ours: list[float]
    same: list[float]
    bm25: list[float]


#: A deep page: text, filter name, depth, times of the same page fetched with offset= (ms).
DeepRow = tuple[str, str, int, list[float]]


@dataclass
class SyncFigures:
    """A timed sync and what the simulator's request log says about it.

    Attributes:
        arrivals_s: when each API request of the sync reached the simulator, in seconds
            after the first one.
    """

    result: CatalogSyncResult
    peak_rss_mb: float
    rate_limited: int
    requests: int
    arrivals_s: list[float]

    def sustained_rate(self, after_s: float = 1.0) -> tuple[int, float, float]:
        """(requests, seconds, requests/s) of the requests that arrived after `after_s`."""
        late = [t for t in self.arrivals_s if t > after_s]
        if len(late) < 2:
            return len(late), 0.0, 0.0
        span = late[-1] - after_s
        return len(late), span, len(late) / span


def catalog_simulator(lab_tests: int) -> AbstractContextManager[str]:
    """The simulator in its own process, at 100 ms latency and 20 requests/s."""
    return simulator_process(
        *("--lab-tests", str(lab_tests), "--seed", "7"),
        *("--latency-ms", str(LATENCY_MS), "--rate-limit", str(RATE_PER_S)),
    )


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
    times = sorted(datetime.fromisoformat(e["time"]) for e in log)
    return SyncFigures(
        result=result,
        peak_rss_mb=(rss.peak - rss.baseline) / 1e6,
        rate_limited=sum(1 for e in log if e["status"] == 429),
        requests=len(log),
        arrivals_s=[(t - times[0]).total_seconds() for t in times],
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
        "saliva": CatalogFilters(sample_type="Saliva"),
        "stool": CatalogFilters(sample_type="Stool"),
    }[name]


def same_work_query(
    store: Store, text: str, filters: CatalogFilters, after: SearchCursor | None
) -> Callable[[], object]:
    """The statements `Catalog.search` runs for this page, replayed bare through sqlite3.

    They are recorded once with sqlite-utils' tracer, with their parameters: the check for a
    newer catalog, each tier's query as far as the page needs, and the fetch of the page's
    full rows. The replay does the same SQL work without the Python around it (parsing,
    building the statements, the hits and their highlights).

    Raises:
        AssertionError: the replay does not fetch the page's rows (it would time other work).
    """
    statements: list[tuple[str, Any]] = []
    with store.db.tracer(lambda sql, params: statements.append((sql, params))):
        page = store.catalog.search(text, filters, after=after)
    conn = store.db.conn

    def run() -> list[list[Any]]:
        return [conn.execute(sql, params or ()).fetchall() for sql, params in statements]

    fetched = run()[-1] if page.hits else []
    assert sorted(str(row[1]) for row in fetched) == sorted(hit.id for hit in page.hits), text
    return run


def bm25_query(
    store: Store, text: str, filters: CatalogFilters, offset: int = 0
) -> Callable[[], object]:
    """A bare FTS5 query ranking the same matches with bm25, ids of the top 50.

    Not the search's work (it fetches no full rows and ignores the tiers): a floor for what
    the word and trigram indexes cost. With no text, the rows that pass the filters by name;
    `offset` skips that many first.
    """
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
    page = f"LIMIT 50 OFFSET {int(offset)}"
    statements: list[tuple[str, list[str]]] = []
    if words:
        statements.append(
            (
                "SELECT w.rowid FROM catalog_words(?) w JOIN lab_tests t ON t.row_no = w.rowid"
                f" WHERE 1{price} ORDER BY bm25(catalog_words, 10.0, 5.0, 1.0, 1.0, 0.0) {page}",
                [words],
            )
        )
    if parsed.substring:
        for index in ("catalog_name_substrings", "catalog_biomarker_substrings"):
            statements.append(
                (
                    f"SELECT x.rowid FROM {index}(?) x JOIN lab_tests t ON t.row_no = x.rowid"
                    f" WHERE 1{price} ORDER BY bm25({index}) {page}",
                    [parsed.substring],
                )
            )
    if not statements:
        company = "" if filters.lab_company_id is None else " AND t.lab_company_id = ?"
        statements.append(
            (
                f"SELECT t.row_no FROM lab_tests t WHERE t.is_active = 1{company}{price}"
                f" ORDER BY t.name_key {page}",
                [] if filters.lab_company_id is None else [filters.lab_company_id],
            )
        )
    conn = store.db.conn

    def run() -> object:
        return [conn.execute(sql, args).fetchall() for sql, args in statements]

    return run


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def timed(action: Callable[[], object], runs: int) -> list[float]:
    """`runs` timings of `action` in ms, after one untimed warm-up."""
    action()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return times


def bench_search(store: Store, runs: int) -> tuple[list[Row], list[DeepRow]]:
    """Our search and its two anchors, in turn, for every query of the set.

    Returns the rows of the main table, and for each deep page: its depth and the times of
    the same page fetched with `offset=`.
    """
    rows: list[Row] = []
    deep: list[DeepRow] = []
    catalog = store.catalog
    for category, text, filter_name in QUERIES:
        filters = resolve_filters(store, filter_name)
        depth = 0
        after: SearchCursor | None = None
        if category == "deep page":
            depth = int(catalog.count(text, filters) * DEEP_SHARE) // 50 * 50
            after = catalog.search(text, filters, limit=depth).next_cursor if depth else None
        actions = (
            functools.partial(catalog.search, text, filters, after=after),
            same_work_query(store, text, filters, after),
            bm25_query(store, text, filters, offset=depth),
        )
        times: tuple[list[float], ...] = tuple([] for _ in actions)
        for action in actions:
            action()
        for _ in range(runs):
            for action, action_ms in zip(actions, times, strict=True):
                started = time.perf_counter()
                action()
                action_ms.append((time.perf_counter() - started) * 1000)
        rows.append(Row(category, text, filter_name, *times))
        if category == "deep page":
            by_offset = functools.partial(catalog.search, text, filters, offset=depth)
            deep.append((text, filter_name, depth, timed(by_offset, max(3, runs // 3))))
    return rows, deep


#: What each column of the search table times, and what it leaves out.
SEARCH_NOTES = """\
  ours: `Catalog.search` in this process, warm (each query runs once before it is timed):
        the SQL, parsing the text, building the tiers' statements, the hits and their
        highlights. Not covered: the catalog pane drawing the rows, the typing pause before
        a search, a cold disk cache (the first search after start-up), a sync at the same time.
  same: the statements `search` ran for that page (the check for a newer catalog, each tier
        as far as the page needs, the page's 50 full rows), recorded once and replayed with
        the same parameters through sqlite3. Not covered: the Python around them, which is
        ours minus same.
  bm25: a bare FTS5 query ranking every match by bm25, ids of the top 50 (a deep page: with
        OFFSET). Different work: no full rows, no tier order; a floor for the indexes, not
        a like-for-like anchor."""


def p95(values: list[float]) -> float:
    return percentile(values, 0.95)


def print_search_table(size: int, rows: list[Row], deep: list[DeepRow], runs: int) -> None:
    print(
        f"\nSearch at {size:,} tests (ms, {runs} runs a query; ours, the same work replayed"
        " bare, and bare bm25 top-50 ids, in turn on the same database)"
    )
    print(
        f"{'category':<13} {'query':<22} {'filter':<14} {'p50':>7} {'p95':>7}"
        f" {'same p95':>9} {'bm25 p95':>9}"
    )
    for row in rows:
        print(
            f"{row.category:<13} {row.text!r:<22} {row.filter_name or '-':<14} "
            f"{statistics.median(row.ours):7.2f} {p95(row.ours):7.2f} "
            f"{p95(row.same):9.2f} {p95(row.bm25):9.2f}"
        )
    print(f"{'-' * 85}")
    for category in dict.fromkeys(row.category for row in rows):
        group = [row for row in rows if row.category == category]
        print(
            f"p95 {category:<14} ours {p95([t for r in group for t in r.ours]):7.2f}   "
            f"same {p95([t for r in group for t in r.same]):7.2f}   "
            f"bm25 {p95([t for r in group for t in r.bm25]):7.2f}"
        )
    ours, same, bm25 = (
        p95([t for row in rows for t in getattr(row, column)])
        for column in ("ours", "same", "bm25")
    )
    print(
        f"p95 ALL            ours {ours:7.2f}   same {same:7.2f}   bm25 {bm25:7.2f}   "
        f"ours/same {ours / same:.2f}   ours/bm25 {ours / bm25:.2f}"
        f"   (target: ≤ {3 if size <= 2500 else 10} ms)"
    )
    worst = max(rows, key=lambda row: p95(row.ours))
    print(
        f"p95 worst query    ours {p95(worst.ours):7.2f}   same {p95(worst.same):7.2f}"
        f"   bm25 {p95(worst.bm25):7.2f}   ours/same {p95(worst.ours) / p95(worst.same):.2f}"
        f"   ours/bm25 {p95(worst.ours) / p95(worst.bm25):.2f}"
        f"   ({worst.text!r}, filter {worst.filter_name or '-'})"
    )
    print(SEARCH_NOTES)
    print(
        f"\nDeep pages: the page at {DEEP_SHARE:.0%} of the matches, with the previous page's"
        " cursor (in the table above) and with offset= (p50 ms)"
    )
    deep_rows = [row for row in rows if row.category == "deep page"]
    cursor_p50 = {(r.text, r.filter_name): statistics.median(r.ours) for r in deep_rows}
    for text, filter_name, depth, by_offset in deep:
        print(
            f"  {text!r:<10} {filter_name or '-':<8} at {depth:>6,}: cursor"
            f" {cursor_p50[(text, filter_name)]:7.2f}   offset {statistics.median(by_offset):7.2f}"
        )


def print_count_table(store: Store, runs: int) -> None:
    print("\ncount() (ms, p50): every match, and capped at 1,000 (`at_most=1000`)")
    for text in COUNTED:
        full = timed(functools.partial(store.catalog.count, text), max(3, runs // 3))
        capped = timed(functools.partial(store.catalog.count, text, at_most=1000), runs)
        print(
            f"  {text!r:<22} {store.catalog.count(text):>7,} matches:"
            f" {statistics.median(full):7.2f}   capped {statistics.median(capped):6.2f}"
        )


#: Queries timed with and without preferred labs (the first page, and the page after it).
PREFERRED_QUERIES: tuple[str, ...] = ("a", "vit", "vitamin d", "cortisol saliva", "a1c")
#: How many lab companies (the first, by name) the preferred-labs table prefers.
PREFERRED_COUNT = 3


def print_preferred_table(store: Store, runs: int) -> None:
    """The first two pages of a few queries, without and with the clinic's preferred labs
    (which read one more row per page and reorder the page's runs of one test)."""
    labs = PreferredLabs([c.name for c in store.catalog.companies()[:PREFERRED_COUNT]])
    print(
        f"\nPreferred labs ({PREFERRED_COUNT} labs): the first page and the next one"
        f" (ms, {runs} runs a query, in turn), without and with them"
    )
    print(f"  {'query':<20} {'p50':>7} {'p95':>7}   {'pref p50':>8} {'pref p95':>8}")
    plain_all: list[float] = []
    preferred_all: list[float] = []

    def two_pages(text: str, preferred: PreferredLabs | None) -> None:
        page = store.catalog.search(text, preferred=preferred)
        if page.next_cursor is not None:
            store.catalog.search(text, after=page.next_cursor, preferred=preferred)

    for text in PREFERRED_QUERIES:
        plain_ms: list[float] = []
        preferred_ms: list[float] = []
        for _ in range(runs):
            for preferred, times in ((None, plain_ms), (labs, preferred_ms)):
                started = time.perf_counter()
                two_pages(text, preferred)
                times.append((time.perf_counter() - started) * 1000)
        plain_all += plain_ms
        preferred_all += preferred_ms
        print(
            f"  {text!r:<20} {statistics.median(plain_ms):7.2f} {p95(plain_ms):7.2f}"
            f"   {statistics.median(preferred_ms):8.2f} {p95(preferred_ms):8.2f}"
        )
    print(f"  {'p95 ALL':<20} {'':>7} {p95(plain_all):7.2f}   {'':>8} {p95(preferred_all):8.2f}")


def print_sync(size: int, figures: SyncFigures, database: Path) -> None:
    result = figures.result
    seconds = result.download_s
    pages_per_s = result.pages / seconds
    client_burst = ClientLimits().burst

    def ceiling(burst: int) -> float:
        return (burst + RATE_PER_S * seconds) / seconds

    late, span, sustained = figures.sustained_rate()
    print(
        f"\nSync of {size:,} tests (simulator: {LATENCY_MS} ms latency, {RATE_PER_S:.0f} req/s,"
        f" bursts of {SERVER_BURST}; client: {RATE_PER_S:.0f} req/s, bursts of {client_burst})"
    )
    print(
        f"  download: {result.pages} pages in {seconds:.1f} s = {pages_per_s:.1f} pages/s;"
        f" build and swap: {result.build_s:.1f} s"
    )
    print(
        f"  the most a limit of {RATE_PER_S:.0f}/s lets through in {seconds:.1f} s, (burst +"
        f" {RATE_PER_S:.0f}/s × T) / T: the server's (burst {SERVER_BURST})"
        f" {ceiling(SERVER_BURST):.1f} req/s, reached {pages_per_s / ceiling(SERVER_BURST):.0%};"
        f" the client's own pacing (burst {client_burst}) {ceiling(client_burst):.1f} req/s,"
        f" reached {pages_per_s / ceiling(client_burst):.0%}"
    )
    if span >= MIN_SUSTAINED_S:
        print(
            f"  sustained, after the first second (simulator's request log): {late} requests"
            f" in {span:.1f} s = {sustained:.1f} req/s = {sustained / RATE_PER_S:.0%} of"
            f" {RATE_PER_S:.0f} req/s (target ≥ 90%)"
        )
    else:
        print(
            f"  sustained: not measurable, the download lasted {seconds:.1f} s (under"
            f" {MIN_SUSTAINED_S:.0f} s after its opening second): the burst decides it"
        )
    print(
        f"  429s: {figures.rate_limited} of {figures.requests} requests (target 0);"
        f" peak RSS above baseline: {figures.peak_rss_mb:.0f} MB (target ≤ 200 MB);"
        f" database: {db_size_mb(database):.0f} MB"
    )


def db_size_mb(path: Path) -> float:
    """The account's database and its catalog files (`catalog_files`), in MB."""
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    files += list(CatalogFiles(path).on_disk())
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
            with catalog_simulator(size) as url:
                figures = asyncio.run(timed_sync(url, path, None))
                print_sync(size, figures, path)
                if size in sequential:
                    other = Path(folder) / f"sequential-{size}.sqlite3"
                    Store.open(other).close()
                    one = asyncio.run(timed_sync(url, other, 1)).result
                    result = figures.result
                    total = result.download_s + result.build_s
                    one_total = one.download_s + one.build_s
                    print(
                        f"  one page at a time: {one.pages} pages in {one.download_s:.1f} s"
                        f" download ({one.pages / one.download_s:.1f} pages/s); speed-up"
                        f" {one.download_s / result.download_s:.2f}x download,"
                        f" {one_total / total:.2f}x end to end (target ≥ 1.8x)"
                    )
            with Store.open(path) as store:
                rows, deep = bench_search(store, args.runs)
                print_search_table(size, rows, deep, args.runs)
                print_count_table(store, args.runs)
                print_preferred_table(store, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
