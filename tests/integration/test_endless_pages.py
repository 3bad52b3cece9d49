"""Lists whose next links never end (the simulator's `self_referencing_next`): the catalog sync
and every lookup end with `EndlessPages` after a few requests, never asking twice for one
page, instead of looping."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
import pytest_asyncio

from rupa_desk.paths import AppPaths
from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.services import listings
from rupa_desk.services.api import RupaClient
from rupa_desk.services.errors import EndlessPages, MalformedResponse
from rupa_desk.services.store import Store
from rupa_desk.services.sync import CatalogSync
from tests.fixtures.catalog_sync import api_requests, control, simulator_client
from tests.fixtures.sandbox import SandboxControl


@pytest_asyncio.fixture
async def client(sandbox: SandboxServer) -> AsyncIterator[RupaClient]:
    async with simulator_client(sandbox.url) as client:
        yield client


@pytest.fixture
def database(app_paths: AppPaths) -> Iterator[Store]:
    with Store.for_account(app_paths, "demo", "pra_demo") as store:
        yield store


def endless(sandbox: SandboxServer) -> int:
    """Switch the fault on; returns the request log's position before it."""
    since = int(control(sandbox.url, "/_sim/requests?since=0")["last_seq"])
    control(sandbox.url, "/_sim/faults", {"self_referencing_next": True})
    return since


def assert_each_page_asked_once(sandbox: SandboxServer, since: int) -> list[dict[str, Any]]:
    requests = api_requests(sandbox.url, since)
    asked = [(r["path"], r["query"]) for r in requests]
    assert len(asked) == len(set(asked)), asked
    assert all(r["status"] == 200 for r in requests)
    return requests


async def every_item(items: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in items]


Lookup = Callable[[RupaClient], Awaitable[object]]

LOOKUPS: dict[str, Lookup] = {
    "every patient": lambda c: every_item(c.iterate(listings.patients(page_size=10))),
    "patients by email": lambda c: every_item(c.iterate(listings.patients("nobody@example.test"))),
    "every order": lambda c: every_item(c.iterate(listings.orders())),
    "open orders": lambda c: every_item(c.iterate(listings.orders(status=["Paid"]))),
    "a draft's order intents": lambda c: c.order_intents_for_draft("draft-1"),
}


@pytest.mark.parametrize("lookup", LOOKUPS.values(), ids=LOOKUPS.keys())
async def test_a_lookup_ends_with_endless_pages(
    sandbox: SandboxServer, client: RupaClient, lookup: Lookup
) -> None:
    since = endless(sandbox)
    with pytest.raises(EndlessPages) as caught:
        await lookup(client)
    assert isinstance(caught.value, MalformedResponse)
    assert "more pages than it said it had" in caught.value.user_message
    requests = assert_each_page_asked_once(sandbox, since)
    assert 2 <= len(requests) <= 5


async def test_following_pages_one_by_one_ends_with_endless_pages(
    sandbox: SandboxServer, client: RupaClient
) -> None:
    """As the order tracker reads the order list: first page, then next_page until None."""
    since = endless(sandbox)
    with pytest.raises(EndlessPages):
        await read_order_pages(client, limit=10)
    assert_each_page_asked_once(sandbox, since)


async def read_order_pages(client: RupaClient, *, limit: int) -> int:
    page = await client.first_page(listings.orders(page_size=100))
    pages = 1
    while page.next_url is not None and pages < limit:
        page = await client.next_page(page)
        pages += 1
    return pages


async def test_the_catalog_sync_ends_with_endless_pages_and_keeps_no_half_catalog(
    sandbox: SandboxServer, database: Store, sandbox_control: SandboxControl
) -> None:
    assert database.path is not None
    since = endless(sandbox)
    async with simulator_client(sandbox.url) as client:
        with pytest.raises(EndlessPages):
            await CatalogSync(client, database.path, account_db=database.db).run()
    assert_each_page_asked_once(sandbox, since)
    assert database.catalog.test_count() == 0

    sandbox_control.set_faults(self_referencing_next=False)
    async with simulator_client(sandbox.url) as client:
        result = await CatalogSync(client, database.path, account_db=database.db).run()
    assert result.test_count == database.catalog.test_count() == 300
