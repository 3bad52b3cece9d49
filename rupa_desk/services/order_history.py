"""The clinic's order history: downloaded once, then kept up to date, so reports work offline.

Order tracking follows the open orders; the reports need every order, finished ones too.
`OrderHistoryDownload.run()` reads Rupa's order list (newest first, with each order's tests)
page after page, following the next links, and saves every page as it comes:

- resumable: the next page's link is kept in the database after every page, so a run that
  was interrupted (sign-out, network, app closed) goes on from there the next time;
- incremental: once a run has completed, the next one stops at the first page whose orders
  are all older than the newest order of that run (less a day's overlap); the open orders
  among the older ones are kept fresh by order tracking;
- at the rate limit: the next page is asked for before the current one is saved, so the
  database write overlaps the network wait and the client's rate limiter sets the pace.

Every order goes through the app's order parser (`jsonapi.parse_order`): a record that
cannot be read is left out of its page, the rest is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final, Protocol, TypeVar

from rupa_desk.core.models import Order, Page, Patient
from rupa_desk.services import listings
from rupa_desk.services.listings import Listing
from rupa_desk.services.store.database import connect
from rupa_desk.services.store.order_history import HistoryCursor, OrderHistoryState
from rupa_desk.services.store.orders import Orders
from rupa_desk.services.store.patients import PatientCache
from rupa_desk.services.store.sync_state import utc_now

log = logging.getLogger(__name__)

T = TypeVar("T")

PAGE_SIZE: Final = 100
#: A run after a complete one reads back this far past the newest order it had.
OVERLAP: Final = timedelta(days=1)


#: Runs a piece of database work: here on the loop's thread, or on a worker thread
#: (`asyncio.to_thread`) when the stores are on a connection of their own.
DatabaseRunner = Callable[[Callable[[], T]], Awaitable[T]]


async def run_here(work: Callable[[], T]) -> T:
    """Database work on the loop's thread (the stores share the window's connection)."""
    return work()


class HistorySource(Protocol):
    """The part of `RupaClient` the download uses."""

    async def first_page(self, listing: Listing[T]) -> Page[T]: ...

    async def next_page(self, page: Page[T]) -> Page[T]: ...

    async def page_at(self, listing: Listing[T], link: str) -> Page[T]: ...


class PatientNames(Protocol):
    """Where the patients of the orders are cached (`PatientCache`)."""

    def upsert(self, patients: Sequence[Patient]) -> int: ...


@dataclass(frozen=True, slots=True)
class HistoryProgress:
    """How far a run has come.

    Attributes:
        pages: pages read by this run.
        orders: orders saved by this run.
        resumed: the run went on from where an earlier one stopped.
        complete: the run has reached its end (the history is whole).
    """

    pages: int
    orders: int
    resumed: bool
    complete: bool


def history_listing() -> Listing[Order]:
    """Every order of the clinic, newest first, with its ordered tests."""
    return listings.orders(page_size=PAGE_SIZE, include=("ordered_tests",))


class OrderHistoryDownload:
    """Downloads the clinic's order history into the database.

    Args:
        client: the Rupa API.
        orders: the orders in the database.
        state: the download's cursor in the database.
        patients: where the names of the orders' patients are cached (None: not fetched).
        on_progress: called after every saved page.
        clock: the wall clock.
        run_db: how the database work runs: `run_here`, or `asyncio.to_thread` when the
            stores are on a connection of their own (`download_on_own_connection`).
    """

    def __init__(
        self,
        client: HistorySource,
        orders: Orders,
        state: OrderHistoryState,
        *,
        patients: PatientNames | None = None,
        on_progress: Callable[[HistoryProgress], None] = lambda progress: None,
        clock: Callable[[], datetime] = utc_now,
        run_db: DatabaseRunner = run_here,
    ) -> None:
        self._client = client
        self._orders = orders
        self._state = state
        self._patients = patients
        self._on_progress = on_progress
        self._clock = clock
        self._db = run_db

    async def run(self) -> HistoryProgress:
        """Download what is missing: the rest of an interrupted run, or the newer orders.

        Raises:
            RupaError: a request failed for good (what was saved stays saved, and the
                cursor says where the next run goes on).
        """
        cursor = await self._db(self._state.cursor)
        listing = history_listing()
        resumed = cursor.next_url is not None
        if cursor.next_url is not None:
            log.info("resuming the order history download")
            page = await self._client.page_at(listing, cursor.next_url)
        else:
            page = await self._client.first_page(listing)
            cursor = replace(cursor, run_newest_submitted=None)
        progress = HistoryProgress(0, 0, resumed, complete=False)
        while True:
            stop = page.next_url is None or self._reached_known(page, cursor)
            following = None if stop else asyncio.create_task(self._client.next_page(page))
            cursor = self._after_page(cursor, page, stop)
            try:
                if following is not None:
                    await asyncio.sleep(0)  # the next request leaves before the write
                await self._db(functools.partial(self._save, page.items, cursor))
            except BaseException:
                if following is not None:
                    following.cancel()
                    with contextlib.suppress(BaseException):
                        await following
                raise
            progress = replace(
                progress,
                pages=progress.pages + 1,
                orders=progress.orders + len(page.items),
                complete=stop,
            )
            self._on_progress(progress)
            if following is None:
                break
            page = await following
        log.info("order history: %d pages, %d orders", progress.pages, progress.orders)
        await self._cache_patient_names()
        return progress

    def _save(self, orders: Sequence[Order], cursor: HistoryCursor) -> None:
        """A page's orders, then the cursor past them (a crash between the two reads the
        page again: saving an order twice changes nothing)."""
        self._orders.save_many(orders)
        self._state.save_cursor(cursor)

    def _reached_known(self, page: Page[Order], cursor: HistoryCursor) -> bool:
        """True when every order of `page` is older than what a complete run already had."""
        if cursor.complete_through is None:
            return False
        submitted = [o.date_submitted for o in page.items if o.date_submitted is not None]
        return bool(submitted) and max(submitted) < cursor.complete_through - OVERLAP

    def _after_page(self, cursor: HistoryCursor, page: Page[Order], stop: bool) -> HistoryCursor:
        submitted = [o.date_submitted for o in page.items if o.date_submitted is not None]
        newest = max([*submitted, *filter(None, [cursor.run_newest_submitted])], default=None)
        seen = cursor.orders_seen + len(page.items)
        if not stop:
            return replace(
                cursor, next_url=page.next_url, run_newest_submitted=newest, orders_seen=seen
            )
        through = max(filter(None, [newest, cursor.complete_through]), default=None)
        return HistoryCursor(
            next_url=None,
            run_newest_submitted=None,
            complete_through=through,
            completed_at=self._clock(),
            orders_seen=seen,
        )

    async def _cache_patient_names(self) -> None:
        """The names of the orders' patients not cached yet (the order list has none)."""
        patients = self._patients
        if patients is None or not await self._db(self._orders.unnamed_patient_ids):
            return
        page = await self._client.first_page(listings.patients(page_size=PAGE_SIZE))
        while True:
            await self._db(functools.partial(patients.upsert, page.items))
            if page.next_url is None:
                return
            page = await self._client.next_page(page)


async def download_on_own_connection(
    client: HistorySource,
    database: Path,
    *,
    on_progress: Callable[[HistoryProgress], None] = lambda progress: None,
) -> HistoryProgress:
    """Run the download with its writes on a connection of its own, on a worker thread:
    a page is saved while the next one is read and parsed, and the window's thread never
    waits for a write (WAL: the window's connection reads meanwhile).

    Args:
        client: the Rupa API.
        database: the account's database file (opened and migrated by its `Store`).
        on_progress: called after every saved page (on the loop's thread).
    """
    # One worker thread for the connection: work cancelled while it runs (sign-out) still
    # finishes before the connection is closed, which is queued behind it.
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="order-history")
    loop = asyncio.get_running_loop()

    def run_db(work: Callable[[], T]) -> Awaitable[T]:
        return loop.run_in_executor(executor, work)

    try:
        db = await run_db(functools.partial(connect, database, check_same_thread=False))
    except BaseException:
        executor.shutdown(wait=False)
        raise
    try:
        download = OrderHistoryDownload(
            client,
            Orders(db),
            OrderHistoryState(db),
            patients=PatientCache(db),
            on_progress=on_progress,
            run_db=run_db,
        )
        return await download.run()
    finally:
        closing = run_db(db.close)
        executor.shutdown(wait=False)
        await asyncio.shield(closing)
