"""Benchmark: how fast RupaClient talks to the simulator without ever getting a 429.

    .venv/bin/python -m tests.bench.bench_client_rate [--seconds 20] [--lab-tests 10000]

Starts a simulator (its default limit: 20 requests/s per token, bursts of 40), signs in
through its real pages, then measures:

1. a sustained run: 32 concurrent workers fetching single lab tests for `--seconds`;
2. the catalog followed page by page (`links.next`, page size 100), one page at a time;
3. the catalog per lab company, `ClientLimits.max_concurrent_pages` companies at a time.

For each: requests (or pages) per second, and the 429s the server's rate limiter gave
(from its request log). Figures depend on the machine: on a shared, loaded one they vary.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable

from rupa_desk.sandbox.config import SandboxConfig
from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.services import listings
from rupa_desk.services.api import RupaClient
from tests.fixtures.browser import PractitionerBrowser
from tests.fixtures.rupa_client import RequestLog, signed_in


async def measure(
    label: str, log: RequestLog, unit: str, work: Callable[[], Awaitable[int]]
) -> None:
    since = await log.last_seq()
    started = time.monotonic()
    count = await work()
    elapsed = time.monotonic() - started
    entries = await log.entries(since)
    limited = sum(1 for e in entries if e.status == 429)
    print(
        f"{label:<44} {count:>6} {unit} in {elapsed:6.2f} s = {count / elapsed:6.1f} {unit}/s"
        f"   429s: {limited}"
    )


async def sustained(client: RupaClient, seconds: float) -> int:
    ids = [p.id for p in (await client.first_page(listings.patients(page_size=100))).items]
    deadline = time.monotonic() + seconds
    done = 0

    async def worker(offset: int) -> None:
        nonlocal done
        i = offset
        while time.monotonic() < deadline:
            await client.get_patient(ids[i % len(ids)])
            done += 1
            i += 32

    await asyncio.gather(*(worker(n) for n in range(32)))
    return done


async def sequential_pages(client: RupaClient) -> int:
    page = await client.first_page(listings.lab_tests(page_size=100))
    pages = 1
    while page.next_url is not None:
        page = await client.next_page(page)
        pages += 1
    return pages


async def pages_per_company(client: RupaClient) -> int:
    companies = [c.id async for c in client.iterate(listings.lab_companies(page_size=100))]
    gate = asyncio.Semaphore(client.environment.limits.max_concurrent_pages)
    pages = 0

    async def one_company(company_id: str) -> None:
        nonlocal pages
        async with gate:
            page = await client.first_page(listings.lab_tests(company_id, page_size=100))
            pages += 1
            while page.next_url is not None:
                page = await client.next_page(page)
                pages += 1

    await asyncio.gather(*(one_company(c) for c in companies))
    return pages


async def run(base_url: str, seconds: float) -> None:
    log = RequestLog(base_url)
    with PractitionerBrowser(base_url) as browser:
        async with signed_in(base_url, browser) as (_, client):
            limits = client.environment.limits
            print(f"client limit: {limits.rate_per_second:g}/s, burst {limits.burst}")
            await asyncio.sleep(2)  # let both buckets fill up again after sign-in
            await measure(
                f"sustained single GETs ({seconds:g} s, 32 workers)",
                log,
                "req",
                lambda: sustained(client, seconds),
            )
            await asyncio.sleep(2)
            await measure(
                "catalog, page after page", log, "pages", lambda: sequential_pages(client)
            )
            await asyncio.sleep(2)
            await measure(
                f"catalog per company, {limits.max_concurrent_pages} at a time",
                log,
                "pages",
                lambda: pages_per_company(client),
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--lab-tests", type=int, default=10_000)
    args = parser.parse_args()
    config = SandboxConfig(lab_tests=args.lab_tests)
    with SandboxServer(config) as server:
        print(f"simulator at {server.url}: {args.lab_tests} lab tests, limit 20/s burst 40")
        asyncio.run(run(server.url, args.seconds))


if __name__ == "__main__":
    main()
