"""Benchmark: the order history download against the client's rate limit.

    .venv/bin/python -m tests.bench.bench_order_history [--orders 20000]

Starts a simulator (in a process of its own) with a clinic history of `--orders` orders
(its default limit: 20 requests/s per token, bursts of 40), signs in through its real
pages, then downloads the whole history into a fresh database as the app does (its writes
on a connection of their own, on worker threads), and prints pages per second
against the client's rate limit (the goal: at least 90 %), with the 429s the server's rate
limiter gave. The first `burst` pages leave at once; the sustained rate is measured after
them too. Figures depend on the machine: on a shared, loaded one they vary.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from rupa_desk.services.order_history import HistoryProgress, download_on_own_connection
from rupa_desk.services.store import Store
from tests.bench.simulator_process import simulator_process
from tests.fixtures.browser import PractitionerBrowser
from tests.fixtures.rupa_client import RequestLog, signed_in


async def run(base_url: str, folder: Path) -> None:
    log = RequestLog(base_url)
    with PractitionerBrowser(base_url) as browser:
        async with signed_in(base_url, browser) as (_, client):
            limits = client.environment.limits
            await asyncio.sleep(2)  # both buckets full again after sign-in
            since = await log.last_seq()
            times: list[float] = []
            started = time.monotonic()

            def page_saved(progress: HistoryProgress) -> None:
                times.append(time.monotonic())

            with Store.open(folder / "bench.sqlite3") as store:
                assert store.path is not None
                progress = await download_on_own_connection(
                    client, store.path, on_progress=page_saved
                )
            elapsed = times[-1] - started
            entries = await log.entries(since)
            limited = sum(1 for e in entries if e.status == 429)
            rate = progress.pages / elapsed
            print(f"client limit: {limits.rate_per_second:g}/s, burst {limits.burst}")
            print(
                f"history: {progress.orders} orders, {progress.pages} pages in {elapsed:.2f} s"
                f" = {rate:.1f} pages/s ({rate / limits.rate_per_second:.0%} of the limit)"
                f"   429s: {limited}"
            )
            after = times[limits.burst :]
            if len(after) > 1:
                sustained = (len(after) - 1) / (after[-1] - after[0])
                print(
                    f"sustained after the burst: {sustained:.1f} pages/s"
                    f" ({sustained / limits.rate_per_second:.0%} of the limit)"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000)
    args = parser.parse_args()
    options = ("--lab-tests", "500", "--clock-speed", "0", "--history-orders", str(args.orders))
    with simulator_process(*options) as url, tempfile.TemporaryDirectory() as folder:
        print(f"simulator at {url}: {args.orders} history orders, limit 20/s burst 40")
        asyncio.run(run(url, Path(folder)))


if __name__ == "__main__":
    main()
