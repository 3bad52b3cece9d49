"""Benchmark: the practice reports over a large order history.

    .venv/bin/python -m tests.bench.bench_reports [--orders 50000] [--runs 30]

The simulator runs in its own process with a clinic history of `--orders` orders; this
process downloads its catalog and the whole history into a fresh database (the app's
`CatalogSync` and `OrderHistoryDownload`, the rate limit lifted), then computes each report
`--runs` times over the whole two years, in the clinic's time zone (America/Los_Angeles,
with daylight saving), and prints p50, p95 and the worst time per report (goal: p95 at most
100 ms), and the follow-up count the sidebar shows. Then it opens the Reports pane on that
database (offscreen, on the app's qasync loop, the history download offline) and prints how
late a 5 ms timer fired while the pane opened and showed every report (goal: no stall over
50 ms). Figures from a shared, loaded machine are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from rupa_desk.core.models import Page
from rupa_desk.core.reports import REPORTS, ReportFilters
from rupa_desk.services.errors import Offline
from rupa_desk.services.listings import Listing
from rupa_desk.services.order_history import OrderHistoryDownload
from rupa_desk.services.reports import PracticeReports
from rupa_desk.services.store import Store
from rupa_desk.services.sync import CatalogSync
from tests.bench.simulator_process import simulator_process
from tests.fixtures.orders_env import client_for


async def fill(url: str, store: Store) -> None:
    async with client_for(url, rate_per_second=1000, burst=1000, max_pages_per_list=5000) as c:
        started = time.monotonic()
        await CatalogSync(c, store.path, account_db=store.db).run()
        progress = await OrderHistoryDownload(c, store.orders, store.order_history).run()
        print(
            f"downloaded {progress.orders:,} orders ({progress.pages} pages) and the catalog"
            f" in {time.monotonic() - started:.1f} s"
        )


def measure(reports: PracticeReports, runs: int) -> None:
    today = reports.today()
    filters = ReportFilters(today - timedelta(days=730), today)
    print(f"{'report':<12} {'rows':>6} {'p50 ms':>8} {'p95 ms':>8} {'worst ms':>9}")
    for name in REPORTS:
        times = []
        rows = 0
        for _ in range(runs):
            started = time.perf_counter()
            rows = len(reports.run(name, filters))
            times.append((time.perf_counter() - started) * 1000)
        ranked = sorted(times)
        p95 = ranked[max(0, round(0.95 * len(ranked)) - 1)]
        print(
            f"{name:<12} {rows:>6} {statistics.median(times):>8.1f} {p95:>8.1f} {ranked[-1]:>9.1f}"
        )
    started = time.perf_counter()
    count = reports.follow_up_count()
    print(f"follow-up count {count} in {(time.perf_counter() - started) * 1000:.1f} ms")


class NoNetwork:
    """A Rupa that cannot be reached (the pane shows what the database has)."""

    async def first_page(self, listing: Listing[object]) -> Page[object]:
        raise Offline()

    async def next_page(self, page: Page[object]) -> Page[object]:
        raise Offline()

    async def page_at(self, listing: Listing[object], link: str) -> Page[object]:
        raise Offline()


async def pane_stalls(database: Path) -> None:
    from rupa_desk.ui.messages import MessageBridge
    from rupa_desk.ui.pages.reports import ReportsPage
    from rupa_desk.ui.presenters.reports import ReportsPresenter
    from rupa_desk.ui.tasks import BackgroundTasks

    late_ms: list[float] = []
    done = asyncio.Event()

    async def probe() -> None:
        loop = asyncio.get_running_loop()
        while not done.is_set():
            started = loop.time()
            await asyncio.sleep(0.005)
            late_ms.append(max(0.0, loop.time() - started - 0.005) * 1000)

    failures: list[str] = []
    tasks = BackgroundTasks(lambda name, exc: failures.append(f"{name}: {exc!r}"))
    with Store.open(database) as store:
        probing = asyncio.create_task(probe())
        await asyncio.sleep(0.05)
        started = time.monotonic()
        presenter = ReportsPresenter(
            store, NoNetwork(), MessageBridge(), tasks, user="Bench", user_id="pra_bench",
            zone=ZoneInfo("America/Los_Angeles"),
        )  # fmt: skip
        page = ReportsPage(presenter)
        page.resize(1280, 800)
        page.show()
        shown_all = asyncio.Event()
        page.shown.connect(shown_all.set)
        await shown_all.wait()
        shown = time.monotonic() - started
        await asyncio.sleep(0.1)
        done.set()
        await probing
        await tasks.cancel_all()
        page.close()
        page.deleteLater()
    ranked = sorted(late_ms)
    print(
        f"Reports pane shown with every report in {shown * 1000:.0f} ms; timer lateness"
        f" p50 {statistics.median(ranked):.1f} ms, p99 {ranked[int(0.99 * (len(ranked) - 1))]:.1f}"
        f" ms, worst {ranked[-1]:.1f} ms over {len(ranked)} probes"
    )
    if failures:
        print("failures:", failures)


def run_pane(database: Path) -> None:
    from PySide6.QtWidgets import QApplication

    from rupa_desk.ui.event_loop import AppEventLoop

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(["bench-reports"])
    app.setQuitOnLastWindowClosed(False)
    with asyncio.Runner(loop_factory=lambda: AppEventLoop(app)) as runner:
        runner.run(pane_stalls(database))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument(
        "--database", type=Path, default=None, help="keep the database here, and reuse it"
    )
    args = parser.parse_args()
    zone = ZoneInfo("America/Los_Angeles")
    if args.database is not None and args.database.exists():
        with Store.open(args.database) as store:
            print(f"reusing {args.database}")
            measure(PracticeReports(store, zone=zone), args.runs)
        run_pane(args.database)
        return
    options = (
        "--lab-tests", "2500", "--clock-speed", "0", "--history-orders", str(args.orders),
        "--rate-limit", "1000", "--rate-burst", "1000",
    )  # fmt: skip
    with (
        simulator_process(*options) as url,
        tempfile.TemporaryDirectory() as folder,
        Store.open(args.database or Path(folder) / "bench.sqlite3") as store,
    ):
        asyncio.run(fill(url, store))
        measure(PracticeReports(store, zone=zone), args.runs)
        assert store.path is not None
        run_pane(store.path)


if __name__ == "__main__":
    main()
