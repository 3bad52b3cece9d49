"""The order history download against the simulator over real loopback HTTP."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any, TypeVar

import httpx
import pytest

from rupa_desk.core.models import Page
from rupa_desk.paths import AppPaths
from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.services.api import RupaClient
from rupa_desk.services.errors import NetworkError
from rupa_desk.services.listings import Listing
from rupa_desk.services.order_history import (
    HistoryProgress,
    OrderHistoryDownload,
    download_on_own_connection,
)
from rupa_desk.services.store import Store
from tests.fixtures.orders_env import client_for
from tests.fixtures.sandbox import SandboxControl, SandboxFactory, small_config

T = TypeVar("T")

HISTORY = 450


@pytest.fixture
def history_sandbox(sandbox_factory: SandboxFactory) -> SandboxServer:
    return sandbox_factory(
        small_config(history_orders=HISTORY, rate_limit_per_s=1000, rate_burst=1000)
    )


@pytest.fixture
def store(app_paths: AppPaths) -> Iterator[Store]:
    with Store.for_account(app_paths, "demo", "pra_demo") as store:
        yield store


@pytest.fixture
async def client(history_sandbox: SandboxServer) -> AsyncIterator[RupaClient]:
    async with client_for(history_sandbox.url, rate_per_second=1000, burst=1000) as client:
        yield client


class CutOff:
    """The real client, until the network goes away after `pages` next pages."""

    def __init__(self, client: RupaClient, pages: int) -> None:
        self.client = client
        self.left = pages

    async def first_page(self, listing: Listing[T]) -> Page[T]:
        return await self.client.first_page(listing)

    async def page_at(self, listing: Listing[T], link: str) -> Page[T]:
        return await self.client.page_at(listing, link)

    async def next_page(self, page: Page[T]) -> Page[T]:
        if self.left == 0:
            raise NetworkError()
        self.left -= 1
        return await self.client.next_page(page)


def _api_orders(url: str) -> dict[str, dict[str, Any]]:
    """Every order as the simulator serves it, read with plain httpx and json."""
    with SandboxControl(url) as control:
        token = control.issue_tokens()["access_token"]
    found: dict[str, dict[str, Any]] = {}
    link: str | None = f"{url}/orders?page[size]=100&include=ordered_tests"
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        while link is not None:
            body = http.get(link).raise_for_status().json()
            included = {r["id"]: r for r in body.get("included", [])}
            for order in body["data"]:
                tests = order["relationships"]["ordered_tests"]["data"]
                order["tests"] = [included[t["id"]] for t in tests]
                found[order["id"]] = order
            link = body["links"]["next"]
    return found


async def test_the_whole_history_is_saved_as_rupa_serves_it(
    history_sandbox: SandboxServer, client: RupaClient, store: Store
) -> None:
    seen: list[HistoryProgress] = []
    download = OrderHistoryDownload(
        client, store.orders, store.order_history, patients=store.patients, on_progress=seen.append
    )
    progress = await download.run()
    expected = _api_orders(history_sandbox.url)
    assert progress.complete
    assert not progress.resumed
    assert progress.orders == len(expected) == HISTORY + 21
    assert [p.pages for p in seen] == list(range(1, progress.pages + 1))
    assert not store.orders.unnamed_patient_ids(), "every patient's name is cached"
    for order_id, order in expected.items():
        detail = store.orders.detail(order_id)
        attributes = order["attributes"]
        assert detail.row.status == attributes["status"]
        assert detail.row.total_price == Decimal(str(attributes["total_price"])).quantize(
            Decimal("0.01")
        )
        tests = {t.id: t for t in detail.ordered_tests}
        assert set(tests) == {t["id"] for t in order["tests"]}
        for test in order["tests"]:
            received = test["attributes"]["date_results_received_from_lab"]
            stored = tests[test["id"]].date_results_received
            assert (stored is None) == (received is None)
    assert store.order_history.cursor().next_url is None


async def test_an_interrupted_download_goes_on_where_it_stopped(
    history_sandbox: SandboxServer, client: RupaClient, store: Store
) -> None:
    with pytest.raises(NetworkError):
        await OrderHistoryDownload(CutOff(client, 2), store.orders, store.order_history).run()
    cursor = store.order_history.cursor()
    assert cursor.in_progress
    assert cursor.orders_seen == 300
    progress = await OrderHistoryDownload(client, store.orders, store.order_history).run()
    assert progress.resumed
    assert progress.complete
    assert progress.pages == 2  # pages 4 and 5 of 5: the first three are not read again
    assert len(store.orders.listing()) == HISTORY + 21
    assert not store.order_history.cursor().in_progress


async def test_after_a_complete_run_only_newer_orders_are_read(
    history_sandbox: SandboxServer, client: RupaClient, store: Store
) -> None:
    first = await OrderHistoryDownload(client, store.orders, store.order_history).run()
    assert first.pages == 5
    with SandboxControl(history_sandbox.url) as control:
        new = [control.create_order()["id"] for _ in range(3)]
    again = await OrderHistoryDownload(client, store.orders, store.order_history).run()
    assert again.complete
    assert not again.resumed
    # it stops at the first page older than the last run's newest order (less a day)
    assert again.pages < first.pages
    assert again.orders <= 200
    assert {row.id for row in store.orders.listing(ids=new)} == set(new)


async def test_on_a_connection_of_its_own_the_download_writes_on_worker_threads(
    client: RupaClient, store: Store
) -> None:
    threads: set[str] = set()
    assert store.path is not None

    def progress(done: HistoryProgress) -> None:
        threads.add(threading.current_thread().name)

    progress_seen = await download_on_own_connection(client, store.path, on_progress=progress)
    assert progress_seen.complete
    assert threads == {threading.current_thread().name}, "progress is told on the loop"
    assert len(store.orders.listing()) == HISTORY + 21  # the window's connection sees them
    assert not store.orders.unnamed_patient_ids()
    assert store.order_history.cursor().complete_through is not None


async def test_a_download_cancelled_mid_page_leaves_a_usable_cursor(
    client: RupaClient, store: Store
) -> None:
    assert store.path is not None
    first_page = asyncio.Event()

    def progress(done: HistoryProgress) -> None:
        first_page.set()

    task = asyncio.create_task(download_on_own_connection(client, store.path, on_progress=progress))
    await first_page.wait()
    task.cancel()  # as at sign-out: the write under way finishes, then the connection closes
    with pytest.raises(asyncio.CancelledError):
        await task
    assert store.order_history.cursor().in_progress
    again = await download_on_own_connection(client, store.path)
    assert again.resumed
    assert again.complete
    assert len(store.orders.listing()) == HISTORY + 21
