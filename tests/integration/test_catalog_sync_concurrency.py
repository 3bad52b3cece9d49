"""The catalog sync keeps several pages in flight (issue 4), seen from the simulator's side.

The simulator logs when each request arrived (`time`) and how long it took until answered
(`duration_ms`, injected latency included), so its request log shows which `/lab_tests`
requests were being served at the same time. With 150 ms of latency per request, a sync that
fetched one page at a time would never have two of them overlap.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from rupa_desk.paths import AppPaths
from rupa_desk.sandbox.config import SandboxConfig
from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.services.api import RupaClient
from rupa_desk.services.store import Store
from rupa_desk.services.sync import CatalogSync
from rupa_desk.settings import demo
from tests.fixtures.catalog_sync import SimulatorTokens, api_requests

LAB_TESTS = 3000
LATENCY_MS = 150
#: Below the default (8), so a sync that ignored its configured limit would show.
PAGES_AT_ONCE = 3


@pytest.fixture(scope="module")
def slow_simulator() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(lab_tests=LAB_TESTS, latency_ms=LATENCY_MS)) as server:
        yield server


@pytest.fixture
def store(app_paths: AppPaths) -> Iterator[Store]:
    with Store.for_account(app_paths, "demo", "pra_demo") as store:
        yield store


async def sync_and_log(
    server: SandboxServer, store: Store, max_concurrent_pages: int
) -> tuple[int, list[dict[str, Any]]]:
    """Sync `store` from `server` as the app does (the environment's limits, with
    `max_concurrent_pages` set); returns the tests synced and the requests the sync made."""
    assert store.path is not None
    environment = demo(server.url)
    environment = replace(
        environment, limits=replace(environment.limits, max_concurrent_pages=max_concurrent_pages)
    )
    served = api_requests(server.url)
    since = int(served[-1]["seq"]) if served else 0
    async with RupaClient(environment, SimulatorTokens(server.url)) as client:
        sync = CatalogSync(client, store.path, account_db=store.db, limits=environment.limits)
        result = await sync.run()
    return result.test_count, api_requests(server.url, since)


def most_at_once(requests: list[dict[str, Any]]) -> int:
    """The most requests the simulator was serving at the same moment."""
    events: list[tuple[datetime, int]] = []
    for request in requests:
        arrived = datetime.fromisoformat(request["time"])
        answered = arrived + timedelta(milliseconds=request["duration_ms"])
        events += [(arrived, +1), (answered, -1)]
    in_flight = peak = 0
    for _, change in sorted(events):  # at the same instant an end sorts before a start
        in_flight += change
        peak = max(peak, in_flight)
    return peak


def lab_test_pages(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in requests if (r["method"], r["path"]) == ("GET", "/lab_tests")]


async def test_a_sync_keeps_several_pages_in_flight_within_its_limit(
    slow_simulator: SandboxServer, store: Store
) -> None:
    synced, requests = await sync_and_log(slow_simulator, store, PAGES_AT_ONCE)
    assert synced == LAB_TESTS
    assert store.catalog.test_count() == LAB_TESTS
    pages = lab_test_pages(requests)
    assert len(pages) > 2 * PAGES_AT_ONCE  # enough pages for overlap to be possible
    assert {r["status"] for r in requests} == {200}  # no 429, no other failure
    assert all(r["duration_ms"] >= LATENCY_MS for r in pages)
    assert 2 <= most_at_once(pages) <= PAGES_AT_ONCE


async def test_the_same_measure_sees_one_page_at_a_time_when_limited_to_one(
    slow_simulator: SandboxServer, store: Store
) -> None:
    """The check above can fail: a one-page-at-a-time sync never has two pages in flight."""
    synced, requests = await sync_and_log(slow_simulator, store, 1)
    assert synced == LAB_TESTS
    assert {r["status"] for r in requests} == {200}
    assert most_at_once(lab_test_pages(requests)) == 1
