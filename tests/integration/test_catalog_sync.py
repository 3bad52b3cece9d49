"""The catalog sync against the simulator over real loopback HTTP.

The tests that only read a synced catalog share one sync of a 5,000-test simulator per module
(`synced`); the tests that need an old catalog to keep get their own copy of that database
(`old_catalog`), so no test sees another's writes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from rupa_desk.core.models import Page
from rupa_desk.paths import AppPaths
from rupa_desk.sandbox.config import SandboxConfig
from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.services import listings
from rupa_desk.services.api import RupaClient
from rupa_desk.services.auth import session_key
from rupa_desk.services.errors import ServerError, SessionExpired
from rupa_desk.services.listings import Listing
from rupa_desk.services.secrets import MemorySecretStore
from rupa_desk.services.store import (
    CATALOG,
    CatalogFilters,
    DatabaseBusyError,
    MatchField,
    SearchHit,
    Store,
    UnknownLabTestError,
)
from rupa_desk.services.store.catalog_files import current_generation
from rupa_desk.services.sync import CatalogSync, CatalogSyncBusy, CatalogSyncCancelled
from rupa_desk.settings import ClientLimits
from tests.fixtures.browser import PractitionerBrowser
from tests.fixtures.catalog_sync import SimulatorTokens, api_requests, control, simulator_client
from tests.fixtures.orders_env import api_get, first_ids
from tests.fixtures.rupa_client import demo_environment, signed_in

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")
#: The catalog of `big_simulator`, and another one to sync over it.
BIG, OTHER = 5000, 2000


@dataclass
class SyncedCatalog:
    """The module's one sync of `big_simulator`: its store (read only) and what it did."""

    store: Store
    test_count: int
    progress: list[tuple[int, int]]
    requests: list[dict[str, Any]]


@dataclass(frozen=True)
class Snapshot:
    """What a catalog looks like, to compare before and after a sync that must not change it."""

    test_count: int
    first_hits: tuple[SearchHit, ...]
    synced_at: datetime | None

    @classmethod
    def of(cls, store: Store) -> Snapshot:
        return cls(
            store.catalog.test_count(),
            store.catalog.search("", limit=1000).hits,
            store.catalog.last_synced(),
        )


@pytest.fixture
def database(app_paths: AppPaths) -> Iterator[Store]:
    with Store.for_account(app_paths, "demo", "pra_demo") as store:
        yield store


@pytest.fixture(scope="module")
def big_simulator() -> Iterator[SandboxServer]:
    """5,000 tests, shared by the tests that only read it (no faults, no changes)."""
    with SandboxServer(SandboxConfig(lab_tests=BIG, seed=3)) as server:
        yield server


@pytest.fixture(scope="module")
def other_simulator() -> Iterator[SandboxServer]:
    """Another catalog (2,000 tests) to sync over the old one; only read from."""
    with SandboxServer(SandboxConfig(lab_tests=OTHER, seed=8)) as server:
        yield server


@pytest.fixture(scope="module")
def synced(
    big_simulator: SandboxServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SyncedCatalog]:
    """One sync of `big_simulator` per module, into a database the tests only read."""
    paths = AppPaths.under(tmp_path_factory.mktemp("synced") / "profile").ensure()
    with Store.for_account(paths, "demo", "pra_synced") as store:
        since = control(big_simulator.url, "/_sim/requests?since=0")["last_seq"]
        count, progress = asyncio.run(sync(big_simulator.url, store))
        yield SyncedCatalog(store, count, progress, api_requests(big_simulator.url, since))


@pytest.fixture
def old_catalog(synced: SyncedCatalog, app_paths: AppPaths) -> Iterator[Store]:
    """This test's own copy of the synced 5,000-test database and catalog file (to keep)."""
    with Store.for_account(app_paths, "demo", "pra_demo") as store:
        synced.store.db.conn.backup(store.db.conn)
        generation = current_generation(store.db)
        assert generation is not None
        shutil.copyfile(
            synced.store.catalog_files.path(generation), store.catalog_files.path(generation)
        )
    with Store.for_account(app_paths, "demo", "pra_demo") as store:
        assert store.catalog.test_count() == BIG
        yield store


def simulator(**config: Any) -> SandboxServer:
    return SandboxServer(SandboxConfig(**config))


async def sync(url: str, store: Store, **options: Any) -> tuple[int, list[tuple[int, int]]]:
    assert store.path is not None
    progress: list[tuple[int, int]] = []
    async with simulator_client(url) as client:
        result = await CatalogSync(client, store.path, account_db=store.db, **options).run(
            lambda done, total: progress.append((done, total))
        )
    return result.test_count, progress


async def sync_in_a_child_process(url: str, path: Path) -> asyncio.subprocess.Process:
    """A sync of the database at `path` from `url` in another process, which prints
    `progress DONE TOTAL` lines and `done COUNT` on its stdout (`tests.fixtures.sync_process`)."""
    return await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "tests.fixtures.sync_process", url, str(path)),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )


def assert_no_leftovers(store: Store) -> None:
    """Only the catalog file in use is left (no staging file, no old or unfinished one), and
    it and the account's database are sound."""
    generation = current_generation(store.db)
    assert generation is not None
    assert list(store.catalog_files.on_disk()) == [store.catalog_files.path(generation)]
    store.catalog.test_count()  # switched to it
    assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert store.db.execute("PRAGMA catalog.integrity_check").fetchone()[0] == "ok"


def once_past(done_at_least: int, action: Callable[[], None]) -> Callable[[int, int], None]:
    """A progress listener that runs `action` once, when `done_at_least` tests are staged."""
    fired: list[bool] = []

    def listener(done: int, total: int) -> None:
        if done >= done_at_least and not fired:
            fired.append(True)
            action()

    return listener


def test_sync_of_a_5000_test_catalog(synced: SyncedCatalog) -> None:
    store = synced.store
    assert synced.test_count == BIG
    assert store.catalog.test_count() == BIG
    assert len(store.catalog.companies()) == 35
    assert sum(c.test_count for c in store.catalog.companies()) == BIG
    assert store.catalog.last_synced() is not None
    assert synced.progress[0] == (0, 0)
    assert synced.progress[-1] == (BIG, BIG)
    assert [done for done, _ in synced.progress] == sorted(done for done, _ in synced.progress)
    test_pages = [r for r in synced.requests if r["path"] == "/lab_tests"]
    assert all(r["status"] == 200 for r in synced.requests)
    marker = "filter%5Blab_company%5D="
    queries = [r["query"] for r in test_pages if marker in r["query"]]
    chained = {q.split(marker)[1].split("&")[0] for q in queries}
    assert len(chained) == 35
    unfiltered = [r for r in test_pages if "filter" not in r["query"]]
    assert len(unfiltered) == 1  # the probe only: no fallback chain
    assert_no_leftovers(store)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("a1c", "Hemoglobin A1c"),
        ("vitamin-d", "Vitamin D, 25-OH"),
        ("25-OH", "Vitamin D, 25-OH"),
        ("T3/T4", "Thyroid Panel T3/T4"),
        ("thyro", "Thyroid"),
        ("olest", "Cholesterol"),
        ("hemoglob", "Hemoglobin A1c"),
    ],
)
def test_search_finds_expected_tests_on_the_synced_catalog(
    synced: SyncedCatalog, query: str, expected: str
) -> None:
    hits = synced.store.catalog.search(query).hits
    assert hits, query
    assert expected in hits[0].name
    assert hits[0].matched in (
        MatchField.NAME_START,
        MatchField.NAME,
        MatchField.NAME_SUBSTRING,
    )


def test_filters_and_ranking_on_the_synced_catalog(synced: SyncedCatalog) -> None:
    database = synced.store
    company = max(database.catalog.companies(), key=lambda c: c.test_count)
    filters = CatalogFilters(lab_company_id=company.id, sample_type="Blood")
    page = database.catalog.search("panel", filters, limit=200)
    assert page.hits
    for hit in page.hits:
        assert hit.lab_company_id == company.id
        assert "Blood" in hit.sample_types
    cholesterol = database.catalog.search("cholesterol", limit=500).hits
    order = list(MatchField)
    assert [order.index(h.matched) for h in cholesterol] == sorted(
        order.index(h.matched) for h in cholesterol
    )
    assert "cholesterol" in cholesterol[0].name.casefold()
    prices = database.catalog.price_range()
    assert prices is not None
    cheap = database.catalog.search("", CatalogFilters(price_max=prices.lowest + 10)).hits
    assert cheap
    assert all(h.price is not None and h.price <= prices.lowest + 10 for h in cheap)


async def test_sync_after_tests_are_added_changed_and_removed(database: Store) -> None:
    with simulator(lab_tests=400, seed=5) as server:
        await sync(server.url, database)
        first = database.catalog.search("", limit=400).hits
        assert len(first) > 300
        removed = [first[0].id, first[1].id, first[2].id]
        changed = first[3].id
        answer = control(
            server.url,
            "/_sim/catalog",
            {
                "add": [{"name": "Zebrafish Allergen Panel", "price": 123.45}],
                "change": {changed: {"name": "Renamed Quokka Test", "sample_types": ["Saliva"]}},
                "remove": removed,
            },
        )
        [added] = answer["added"]

        count, _ = await sync(server.url, database)

    assert count == answer["count"]
    assert database.catalog.test_count() == answer["count"]
    for test_id in removed:
        with pytest.raises(UnknownLabTestError):
            database.catalog.get_test(test_id)
    assert database.catalog.search("zebrafish").hits[0].id == added
    assert str(database.catalog.get_test(added).price) == "123.45"
    renamed = database.catalog.search("quokka").hits[0]
    assert renamed.id == changed
    assert renamed.sample_types == ("Saliva",)


class WithoutCounts:
    """The real client, with the pagination counts taken off its pages: the count is our
    assumption about Rupa's lists (RUPA_API.md), and the sync must do without it."""

    def __init__(self, client: RupaClient) -> None:
        self._client = client

    async def first_page(self, listing: Listing[T]) -> Page[T]:
        return uncounted(await self._client.first_page(listing))

    async def next_page(self, page: Page[T]) -> Page[T]:
        return uncounted(await self._client.next_page(page))


def uncounted(page: Page[T]) -> Page[T]:
    return dataclasses.replace(page, count=None, pages=None)


async def test_a_sync_without_pagination_counts_completes_and_reports_an_unknown_total(
    database: Store,
) -> None:
    assert database.path is not None
    progress: list[tuple[int, int]] = []
    with simulator(lab_tests=400, seed=5) as server:
        async with simulator_client(server.url) as client:
            result = await CatalogSync(WithoutCounts(client), database.path).run(
                lambda done, total: progress.append((done, total))
            )
    assert result.test_count == 400
    assert database.catalog.test_count() == 400
    assert database.catalog.search("a1c").hits
    # Until the end the total is unknown (0: a busy bar), never a bar that reads "done".
    assert progress[-1] == (400, 400)
    assert all(total == 0 for _, total in progress[:-1])
    assert any(done > 0 for done, _ in progress[:-1])
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)


async def test_a_test_of_a_company_the_listing_leaves_out_still_arrives(database: Store) -> None:
    with simulator(lab_tests=500, seed=5) as server:
        async with simulator_client(server.url) as client:
            hidden = (await client.first_page(listings.lab_companies(page_size=100))).items[-1]
        control(server.url, "/_sim/faults", {"unlisted_lab_companies": 1})
        answer = control(
            server.url,
            "/_sim/catalog",
            {"add": [{"name": "Zebrafish Allergen Panel", "lab_company": hidden.id}]},
        )
        count, progress = await sync(server.url, database)
        unfiltered = [
            r["query"]
            for r in api_requests(server.url)
            if r["path"] == "/lab_tests" and "filter" not in r["query"]
        ]

    assert count == answer["count"]
    assert database.catalog.test_count() == answer["count"]
    [zebrafish] = database.catalog.search("zebrafish").hits
    assert (zebrafish.lab_company_id, zebrafish.lab_company_name) == (hidden.id, hidden.name)
    companies = {c.id: c.test_count for c in database.catalog.companies()}
    assert len(companies) == 35
    assert sum(companies.values()) == count
    assert companies[hidden.id] > 1
    assert progress[-1] == (count, count)
    # The probe, then one chain over everything (with the companies included).
    assert len(unfiltered) == 1 + -(-count // 100)
    assert all("include=lab_company" in q for q in unfiltered[1:])


async def test_tests_with_hostile_values_are_skipped_and_reported_and_the_rest_syncs(
    database: Store,
) -> None:
    """Issue 18: a price of 1e30 or "1e999999", 2**70 days, a lone surrogate or a NUL in a
    name once crashed the store ("Catalog sync failed (a bug)") and so blocked every sync."""
    with simulator(lab_tests=400, seed=5) as server:
        control(server.url, "/_sim/faults", {"hostile_values": 5})
        hostile = first_ids(server.url, "lab_tests", 5)
        async with simulator_client(server.url) as client:
            assert (await client.first_page(listings.lab_tests(page_size=5))).skipped == 5
            result = await CatalogSync(client, database.path, account_db=database.db).run()
        test_pages = [r for r in api_requests(server.url) if r["path"] == "/lab_tests"]

    assert (result.test_count, result.skipped_tests, result.skipped_companies) == (395, 5, 0)
    assert result.skipped_message is not None
    assert result.skipped_message.startswith(
        "5 lab tests skipped: Rupa sent values Rupa Desk could not read."
    )
    assert database.catalog.test_count() == 395
    assert sum(c.test_count for c in database.catalog.companies()) == 395
    for lab_test_id in hostile:
        with pytest.raises(UnknownLabTestError):
            database.catalog.get_test(lab_test_id)
    # The skipped tests count toward the total: no second, unfiltered download.
    assert test_pages
    assert not any("include=lab_company" in r["query"] for r in test_pages)
    assert database.catalog.last_synced() == result.synced_at
    assert_no_leftovers(database)


async def test_a_lab_company_with_a_hostile_name_is_skipped_with_its_tests(
    database: Store,
) -> None:
    """Its tests arrive with it included (the unfiltered download): they are left out too,
    and the rest of the catalog syncs."""
    with simulator(lab_tests=400, seed=5) as server:
        control(server.url, "/_sim/faults", {"hostile_lab_companies": 1})
        [hostile] = first_ids(server.url, "lab_companies", 1)
        filter_ = {"filter[lab_company]": hostile}
        its_tests = api_get(server.url, "/lab_tests", **filter_)["meta"]["pagination"]["count"]
        async with simulator_client(server.url) as client:
            result = await CatalogSync(client, database.path, account_db=database.db).run()

    assert its_tests > 0
    assert (result.skipped_companies, result.skipped_tests) == (1, its_tests)
    assert result.test_count == database.catalog.test_count() == 400 - its_tests
    assert result.company_count == 34
    assert hostile not in {c.id for c in database.catalog.companies()}
    assert result.skipped_message is not None
    assert result.skipped_message.startswith(
        f"{its_tests} lab tests and 1 lab company skipped: Rupa sent values"
    )
    assert_no_leftovers(database)


async def test_a_company_filter_the_api_ignores_costs_one_extra_chain_not_one_per_company(
    database: Store,
) -> None:
    with simulator(lab_tests=700, seed=6, ignore_company_filter=True) as server:
        count, progress = await sync(server.url, database)
        test_pages = [r for r in api_requests(server.url) if r["path"] == "/lab_tests"]

    assert count == 700
    assert database.catalog.test_count() == 700
    assert sum(c.test_count for c in database.catalog.companies()) == 700
    assert progress[-1] == (700, 700)
    filtered = [r for r in test_pages if "filter" in r["query"]]
    # The first filtered pages show the filter is ignored; no chain goes on.
    assert len(filtered) <= 2 * ClientLimits().max_concurrent_pages
    assert len(test_pages) - len(filtered) == 1 + 7  # the probe, then 7 pages of 100


@pytest.mark.timeout(180)
async def test_injected_429_and_5xx_during_sync_still_complete(database: Store) -> None:
    with simulator(lab_tests=1500, seed=9) as server:
        control(server.url, "/_sim/faults", {"fault_429_rate": 0.1, "fault_5xx_rate": 0.1})
        count, _ = await sync(server.url, database)
        faults = [r["fault"] for r in api_requests(server.url) if r["fault"]]
    assert count == 1500
    assert database.catalog.test_count() == 1500
    assert "429" in faults
    assert "5xx" in faults


async def test_persistent_server_errors_fail_the_sync_and_keep_the_old_catalog(
    old_catalog: Store,
) -> None:
    assert old_catalog.path is not None
    before = Snapshot.of(old_catalog)
    with simulator(lab_tests=1500, seed=10) as server:
        env = demo_environment(server.url, backoff_initial_s=0.01, backoff_max_s=0.05)
        async with RupaClient(env, SimulatorTokens(server.url)) as client:
            break_rupa = once_past(
                300, lambda: control(server.url, "/_sim/faults", {"fault_5xx_rate": 1.0})
            )
            with pytest.raises(ServerError) as failure:
                await CatalogSync(client, old_catalog.path).run(break_rupa)
        served = api_requests(server.url)

    assert [r for r in served if r["path"] == "/lab_tests" and r["status"] == 200]
    assert any(r["fault"] == "5xx" for r in served)
    assert Snapshot.of(old_catalog) == before
    record = old_catalog.sync_state.get(CATALOG)
    assert record.last_error == str(failure.value)
    assert record.last_attempt_at is not None
    assert before.synced_at is not None
    assert record.last_attempt_at > before.synced_at
    assert record.last_success_at == before.synced_at
    assert_no_leftovers(old_catalog)


async def test_a_session_that_ends_mid_download_fails_the_sync_and_keeps_the_old_catalog(
    old_catalog: Store,
) -> None:
    assert old_catalog.path is not None
    before = Snapshot.of(old_catalog)
    secrets = MemorySecretStore()
    with simulator(lab_tests=1500, seed=11) as server, PractitionerBrowser(server.url) as browser:
        async with signed_in(server.url, browser, store=secrets) as (auth, client):
            stored = await secrets.get(session_key(auth.environment, auth.account_id))
            assert stored is not None
            refresh_token = json.loads(stored)["refresh_token"]

            def end_session() -> None:  # e.g. signed out of Rupa on another computer
                revoked = httpx.post(
                    server.url + "/oauth/revoke_token",
                    data={"token": refresh_token, "client_id": auth.environment.client_id},
                )
                revoked.raise_for_status()
                control(server.url, "/_sim/tokens/expire", {})

            with pytest.raises(SessionExpired):
                await CatalogSync(client, old_catalog.path).run(once_past(300, end_session))
        rejected = [r for r in api_requests(server.url) if r["status"] == 401]

    assert rejected
    assert Snapshot.of(old_catalog) == before
    record = old_catalog.sync_state.get(CATALOG)
    assert record.last_error == str(SessionExpired())
    assert record.last_success_at == before.synced_at
    assert_no_leftovers(old_catalog)


async def test_a_second_request_joins_the_running_sync(database: Store) -> None:
    assert database.path is not None
    with simulator(lab_tests=800, seed=2, latency_ms=20) as server:
        async with simulator_client(server.url) as client:
            syncer = CatalogSync(client, database.path)
            first, second = await asyncio.gather(syncer.run(), syncer.run())
            assert first is second
            assert not syncer.running
        test_pages = [r for r in api_requests(server.url) if r["path"] == "/lab_tests"]
    assert first.test_count == 800
    assert len(test_pages) == first.pages - 1  # minus the lab companies page


async def test_another_process_syncing_the_same_database_is_refused(database: Store) -> None:
    assert database.path is not None
    with simulator(lab_tests=300, seed=2, latency_ms=20) as server:
        async with simulator_client(server.url) as client:
            one = CatalogSync(client, database.path)
            other = CatalogSync(client, database.path)
            started = asyncio.Event()
            running = asyncio.create_task(one.run(lambda done, total: started.set()))
            await started.wait()
            with pytest.raises(CatalogSyncBusy):
                await other.run()
            assert (await running).test_count == 300


@pytest.mark.timeout(240)
async def test_a_sync_in_another_real_process_is_refused_until_it_ends(database: Store) -> None:
    # Two copies of the app on one front-desk PC, signed in to the same account.
    assert database.path is not None
    with simulator(lab_tests=2000, seed=4, latency_ms=60) as server:
        child = await sync_in_a_child_process(server.url, database.path)
        assert child.stdout is not None
        try:
            async with simulator_client(server.url) as client:
                while True:
                    words = (await child.stdout.readline()).decode().split()
                    assert words, "the sync process ended early"
                    assert words[0] != "done", "the other sync finished before it was tried"
                    if words[0] == "progress" and int(words[1]) > 0:
                        break
                with pytest.raises(CatalogSyncBusy):
                    await CatalogSync(client, database.path).run()
                while words and words[0] != "done":
                    words = (await child.stdout.readline()).decode().split()
                assert words == ["done", "2000"]
                assert await child.wait() == 0
                # Its lock went with it: this process may sync now.
                result = await CatalogSync(client, database.path).run()
        finally:
            if child.returncode is None:
                child.kill()
                await child.wait()
    assert result.test_count == 2000
    assert database.catalog.test_count() == 2000
    assert_no_leftovers(database)


async def test_cancelling_the_caller_cancels_the_sync_and_keeps_the_old_catalog(
    other_simulator: SandboxServer, old_catalog: Store
) -> None:
    assert old_catalog.path is not None
    before = Snapshot.of(old_catalog)
    async with simulator_client(other_simulator.url) as client:
        syncer = CatalogSync(client, old_catalog.path)
        reached = asyncio.Event()
        task = asyncio.create_task(syncer.run(once_past(300, reached.set)))
        await reached.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not syncer.running
    assert Snapshot.of(old_catalog) == before
    assert old_catalog.sync_state.get(CATALOG).last_error == "cancelled"
    assert_no_leftovers(old_catalog)


async def test_cancel_stops_the_sync_for_every_caller_and_keeps_the_old_catalog(
    other_simulator: SandboxServer, old_catalog: Store
) -> None:
    assert old_catalog.path is not None
    before = Snapshot.of(old_catalog)
    async with simulator_client(other_simulator.url) as client:
        syncer = CatalogSync(client, old_catalog.path)
        reached = asyncio.Event()
        first = asyncio.create_task(syncer.run(once_past(300, reached.set)))
        second = asyncio.create_task(syncer.run())
        await reached.wait()
        syncer.cancel()
        for caller in (first, second):
            with pytest.raises(CatalogSyncCancelled, match="unchanged"):
                await caller
        assert not syncer.running
    assert Snapshot.of(old_catalog) == before
    assert old_catalog.sync_state.get(CATALOG).last_error == "cancelled"
    assert_no_leftovers(old_catalog)


async def test_cancel_during_the_build_stops_before_the_swap(
    other_simulator: SandboxServer, old_catalog: Store
) -> None:
    assert old_catalog.path is not None
    before = Snapshot.of(old_catalog)
    async with simulator_client(other_simulator.url) as client:
        downloaded: list[int] = []
        syncer: CatalogSync

        def clock_that_cancels() -> datetime:
            # Read once, when every page is staged and the build is about to start.
            downloaded.append(syncer.progress[0])
            syncer.cancel()
            return datetime.now(UTC)

        syncer = CatalogSync(client, old_catalog.path, clock=clock_that_cancels)
        with pytest.raises(CatalogSyncCancelled):
            await syncer.run()
    assert downloaded == [OTHER]
    assert Snapshot.of(old_catalog) == before
    assert old_catalog.sync_state.get(CATALOG).last_error == "cancelled"
    assert_no_leftovers(old_catalog)


async def test_a_second_run_reports_its_own_progress_from_zero(database: Store) -> None:
    assert database.path is not None
    with simulator(lab_tests=300, seed=2) as server:
        async with simulator_client(server.url) as client:
            syncer = CatalogSync(client, database.path)
            await syncer.run()
            assert syncer.progress == (300, 300)
            second: list[tuple[int, int]] = []
            await syncer.run(lambda done, total: second.append((done, total)))
    assert second[0] == (0, 0)
    assert [done for done, _ in second] == sorted(done for done, _ in second)
    assert second[-1] == (300, 300)


@pytest.mark.timeout(240)
async def test_a_sync_killed_half_way_leaves_the_old_catalog_searchable(
    old_catalog: Store,
) -> None:
    assert old_catalog.path is not None
    before = Snapshot.of(old_catalog)
    generation = current_generation(old_catalog.db)
    assert generation is not None
    old_file = old_catalog.catalog_files.path(generation)
    old_digest = hashlib.sha256(old_file.read_bytes()).hexdigest()
    old_catalog.close()

    with simulator(lab_tests=5000, seed=12, latency_ms=30) as server:
        child = await sync_in_a_child_process(server.url, old_catalog.path)
        assert child.stdout is not None
        try:
            while True:
                words = (await child.stdout.readline()).decode().split()
                assert words, "the sync process ended before it could be killed"
                assert words[0] != "done", "the sync finished before it could be killed"
                if words[0] == "progress" and 1000 <= int(words[1]) < int(words[2]):
                    break
            os.kill(child.pid, signal.SIGKILL)
        finally:
            if child.returncode is None:
                child.kill()
            await child.wait()
        assert child.returncode == -signal.SIGKILL

        with Store.open(old_catalog.path) as reopened:
            assert reopened.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert Snapshot.of(reopened) == before
            assert reopened.catalog.search("a1c").hits
            assert hashlib.sha256(old_file.read_bytes()).hexdigest() == old_digest
            # The killed sync's unfinished files are still there, unused ...
            unfinished = set(reopened.catalog_files.on_disk()) - {old_file}
            assert reopened.catalog_files.staging_path(generation + 1) in unfinished
            assert current_generation(reopened.db) == generation
            count, _ = await sync(server.url, reopened)
            assert count == 5000
            assert reopened.catalog.test_count() == 5000
            assert Snapshot.of(reopened) != before
            # ... until the next sync deletes them (and the old catalog once it has switched).
            assert not old_file.exists()
            assert_no_leftovers(reopened)


async def test_the_old_catalog_is_searched_during_a_sync_and_the_new_one_after(
    other_simulator: SandboxServer, old_catalog: Store
) -> None:
    assert old_catalog.path is not None
    before = Snapshot.of(old_catalog)
    old_generation = current_generation(old_catalog.db)
    seen_during: list[Snapshot] = []

    def look() -> None:
        seen_during.append(Snapshot.of(old_catalog))

    def clock_that_looks() -> datetime:
        look()  # every page is staged; the build starts next
        return datetime.now(UTC)

    async with simulator_client(other_simulator.url) as client:
        syncer = CatalogSync(client, old_catalog.path, clock=clock_that_looks)
        result = await syncer.run(once_past(300, look))

    assert seen_during == [before, before]
    assert result.test_count == OTHER
    assert old_catalog.catalog.test_count() == OTHER
    assert old_catalog.catalog.last_synced() == result.synced_at
    assert current_generation(old_catalog.db) != old_generation
    assert_no_leftovers(old_catalog)


class UserWrites:
    """A user editing a draft's notes every 20 ms on a connection of its own (a thread), as
    the UI does while a sync runs; records how long each write took and any that failed."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self.times_s: list[float] = []
        self.failures: list[BaseException] = []
        self.last_notes = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="user-writes")

    def __enter__(self) -> UserWrites:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with Store.open(self._path) as store:
            draft_id = store.drafts.create(notes="")
            count = 0
            while not self._stop.wait(0.02):
                count += 1
                notes = f"call the patient first ({count})"
                started = time.perf_counter()
                try:
                    store.drafts.edit(draft_id, notes=notes)
                except Exception as exc:
                    self.failures.append(exc)
                else:
                    self.last_notes = notes
                self.times_s.append(time.perf_counter() - started)
            assert store.drafts.get(draft_id).notes == self.last_notes


@pytest.mark.timeout(180)
async def test_user_writes_do_not_wait_for_a_sync(
    big_simulator: SandboxServer, database: Store
) -> None:
    """Drafts are written while a sync downloads, builds and switches catalogs (twice: the
    second replaces the first): none fails and none waits anywhere near the busy timeout."""
    assert database.path is not None
    with UserWrites(database.path) as writes:
        for _ in range(2):
            count, _ = await sync(big_simulator.url, database)
            assert count == BIG
    assert not writes.failures, writes.failures[:3]
    assert len(writes.times_s) > 20
    assert max(writes.times_s) < 1.0, sorted(writes.times_s)[-5:]
    # The catalog is written to files of its own: the account's database stays small.
    pages = database.db.execute("PRAGMA main.page_count").fetchone()[0]
    page_size = database.db.execute("PRAGMA main.page_size").fetchone()[0]
    assert pages * page_size < 1_000_000
    assert_no_leftovers(database)


@pytest.mark.timeout(240)
async def test_drafts_written_on_the_ui_connection_never_find_the_database_busy_during_a_sync(
    big_simulator: SandboxServer, database: Store
) -> None:
    """The app's own connection, with no busy timeout at all: a draft written while a sync
    downloads, builds and switches catalogs (twice: the second replaces the first) never finds
    the account's database locked. With the catalog built in the account's database, the
    sync's write transactions made these writes fail with `DatabaseBusyError`."""
    assert database.path is not None
    database.db.execute("PRAGMA busy_timeout = 0")
    draft_id = database.drafts.create(notes="")
    busy: list[DatabaseBusyError] = []
    saved = 0
    notes = ""
    async with simulator_client(big_simulator.url) as client:
        syncer = CatalogSync(client, database.path, account_db=database.db)
        for round_no in range(2):
            task = asyncio.create_task(syncer.run())
            while not task.done():
                attempt = f"fasting; call first ({round_no}.{saved + len(busy)})"
                try:
                    database.drafts.edit(draft_id, notes=attempt)
                    database.drafts.add_test(
                        draft_id, f"labts_{saved}", name=f"Test {saved}", price=None
                    )
                except DatabaseBusyError as exc:
                    busy.append(exc)
                else:
                    saved += 1
                    notes = attempt
                await asyncio.sleep(0.005)
            assert (await task).test_count == BIG
    assert not busy, f"{len(busy)} of {saved + len(busy)} writes found the database busy"
    assert saved > 50  # the writes really ran all along the syncs
    assert database.drafts.get(draft_id).notes == notes
    assert len(database.drafts.tests(draft_id)) == saved
    assert database.catalog.test_count() == BIG
    assert_no_leftovers(database)
