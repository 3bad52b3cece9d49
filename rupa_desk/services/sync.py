"""Catalog sync: download every lab company and lab test into the local catalog.

One `links.next` chain per lab company (`filter[lab_company]=…`) runs concurrently, at most
`ClientLimits.max_concurrent_pages` at once; the client's rate limiter keeps them all within
Rupa's limit. That relies on two assumptions about the API, so the sync checks both: every
test belongs to a listed company (the tests staged must add up to the total an unfiltered
probe reports in `meta.pagination.count`), and the filter is applied (no page holds a test of
another company). When either fails, the tests staged so far are dropped and the sync follows
one unfiltered `links.next` chain instead (slower, but it cannot miss a test), adding the
companies it finds that the listing left out.

Pages are written as they arrive into a staging file, on a worker thread with its own
connection, so neither the whole catalog nor the event loop is ever held; the next page of a
chain is already on its way while one is written. When every chain is done the new catalog is
built in a file of its own (`CatalogBuilder`) and then switched in by one small transaction in
the account's database (`catalog_files.publish`): until then the old catalog stays searchable,
and a sync that fails, is cancelled or is killed leaves it as it was (the next sync deletes
the files it left). The sync writes the account's database only for that switch and two
sync-state notes (the attempt, a failure); given the store's own connection (`account_db`,
as the app and the command line do) it makes them on the event loop's thread through that
connection, so this process writes the account's database through one connection only and
the user's writes (drafts, notes, patients) never wait for a lock the sync holds.

Only one sync runs per database: a second `run()` in the same process joins the running one
(and gets its result); another process gets `CatalogSyncBusy`.

A lab test or lab company Rupa sends with values Rupa Desk cannot read (a price of 1e30, a
name that is not text) is left out by the parser (`Page.skipped`): the sync counts it toward
the total and goes on, and its result says how many were left out.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlite_utils import Database

from rupa_desk.core.models import LabCompany, LabTest, Page
from rupa_desk.services import listings
from rupa_desk.services.errors import RupaError
from rupa_desk.services.listings import Listing
from rupa_desk.services.store import CATALOG, CatalogBuilder, StoreError, SyncState, connect
from rupa_desk.services.store.catalog_files import CatalogFiles, current_generation, publish
from rupa_desk.services.store.database import create_private_file
from rupa_desk.services.store.sync_state import utc_now
from rupa_desk.settings import ClientLimits

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

#: Called with (tests written so far, tests expected in all) as the sync goes.
ProgressCallback = Callable[[int, int], None]


class CatalogSource(Protocol):
    """The part of `RupaClient` the sync uses."""

    async def first_page(self, listing: Listing[T]) -> Page[T]: ...

    async def next_page(self, page: Page[T]) -> Page[T]: ...


class CatalogSyncBusy(StoreError):
    """Another program (e.g. the command line) is syncing the same catalog right now."""

    def __init__(self) -> None:
        super().__init__(
            "Another Rupa Desk window or command is downloading the catalog right now. "
            "Wait for it to finish, then search again."
        )


class CatalogSyncCancelled(StoreError):
    """The sync was stopped with `CatalogSync.cancel()` before its switch; the old catalog stays.

    Raised to every caller of `run()` that was waiting for that sync (a caller that is itself
    cancelled gets `asyncio.CancelledError`, as usual).
    """

    def __init__(self) -> None:
        super().__init__(
            "The catalog download was stopped before it finished. The catalog you have is "
            "unchanged; sync again to update it."
        )


class _Stopped(Exception):
    """Raised on the worker thread to stop a build before its switch (cancellation)."""


@dataclass(frozen=True, slots=True)
class CatalogSyncResult:
    """What a complete sync did.

    Attributes:
        test_count: tests in the new catalog.
        company_count: lab companies in the new catalog.
        pages: API pages fetched (requests, retries not counted).
        synced_at: the "catalog as of" time recorded.
        download_s: seconds spent downloading (and staging) pages.
        build_s: seconds spent building and switching to the new catalog.
        skipped_tests: lab tests left out: Rupa sent values Rupa Desk could not read.
        skipped_companies: lab companies left out, for the same reason.
    """

    test_count: int
    company_count: int
    pages: int
    synced_at: datetime
    download_s: float
    build_s: float
    skipped_tests: int = 0
    skipped_companies: int = 0

    @property
    def skipped_message(self) -> str | None:
        """What was left out, in words for the user; None when nothing was."""
        parts = []
        if self.skipped_tests:
            parts.append(_count(self.skipped_tests, "lab test"))
        if self.skipped_companies:
            parts.append(_count(self.skipped_companies, "lab company", "lab companies"))
        if not parts:
            return None
        return (
            f"{' and '.join(parts)} skipped: Rupa sent values Rupa Desk could not read. "
            "The rest of the catalog is up to date; if this keeps happening, report it."
        )


def _count(number: int, one: str, many: str | None = None) -> str:
    return f"{number:,} {one if number == 1 else many or one + 's'}"


class CatalogSync:
    """Syncs the catalog of one database from Rupa; `run()` it, `cancel()` it.

    Args:
        source: the API client (`RupaClient`).
        database_path: the database file (already opened by `Store.open`, so migrated).
        account_db: the store's own connection to that database (`Store.db`), used on the
            event loop's thread (the one that opened it) for the sync's few small writes to
            it: the attempt, the switch to the new catalog, a failure. This process then
            writes the account's database through one connection only, so a user's write on
            it never meets a lock the sync holds. None (the command line): a connection of
            the sync's own, on its worker thread.
        limits: paging and concurrency limits (the environment's `ClientLimits`).
        max_concurrent_pages: overrides `limits.max_concurrent_pages` (1: one page at a time).
        clock: the "catalog as of" clock.
    """

    def __init__(
        self,
        source: CatalogSource,
        database_path: Path,
        *,
        account_db: Database | None = None,
        limits: ClientLimits | None = None,
        max_concurrent_pages: int | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._source = source
        self._path = database_path
        self._account_db = account_db
        self._limits = limits or ClientLimits()
        self._concurrency = max(1, max_concurrent_pages or self._limits.max_concurrent_pages)
        self._clock = clock
        self._task: asyncio.Task[CatalogSyncResult] | None = None
        self._waiters = 0
        self._listeners: list[ProgressCallback] = []
        self._progress = (0, 0)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def progress(self) -> tuple[int, int]:
        """(done, total) of the running or last sync."""
        return self._progress

    async def run(self, progress: ProgressCallback | None = None) -> CatalogSyncResult:
        """Sync the catalog, or join the sync already running; returns when it is switched in.

        Cancelling the caller cancels the sync when no other caller waits for it.

        Raises:
            RupaError: the download failed (after the client's retries); the old catalog is
                kept.
            CatalogSyncCancelled: `cancel()` stopped the sync; the old catalog is kept.
            CatalogSyncBusy: another process is syncing this database.
            StoreError: the database could not be written.
        """
        if self._task is None or self._task.done():
            self._progress = (0, 0)  # not the last run's figures
            self._task = asyncio.create_task(self._sync(), name="catalog-sync")
            self._task.add_done_callback(_log_failure)
        task = self._task
        if progress is not None:
            self._listeners.append(progress)
            progress(*self._progress)
        self._waiters += 1
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if not _cancel_requested():
                # Not this caller: the sync itself was cancelled (`cancel()`).
                raise CatalogSyncCancelled() from None
            if not task.done() and self._waiters == 1:
                task.cancel()
                await asyncio.wait([task])
            raise
        finally:
            self._waiters -= 1
            if progress is not None:
                self._listeners.remove(progress)

    def cancel(self) -> None:
        """Stop the running sync (the old catalog stays); no-op when none runs.

        Its callers get `CatalogSyncCancelled`, unless the new catalog was already built
        (then it is switched in, the sync finished, and they get its result).
        """
        if self._task is not None:
            self._task.cancel()

    def _report(self, done: int, total: int) -> None:
        # total 0: not known (Rupa's pagination count is our assumption, and `Page.count` may
        # be None): it stays 0, so that a progress bar shows "busy", not "done".
        self._progress = (done, max(done, total) if total > 0 else 0)
        for listener in list(self._listeners):
            listener(*self._progress)

    async def _sync(self) -> CatalogSyncResult:
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="catalog-sync")
        stop = threading.Event()

        async def on_writer(fn: Callable[..., R], *args: object) -> R:
            return await loop.run_in_executor(executor, fn, *args)

        lock = _acquire_lock(self._path)
        account: _AccountWrites | None = None
        builder: CatalogBuilder | None = None
        files = CatalogFiles(self._path)
        try:
            if self._account_db is not None:
                account = _AccountWrites(self._account_db, None)
            else:
                account = _AccountWrites(await on_writer(_open_account_db, self._path), on_writer)
            await account.call(_record_attempt)
            in_use = await account.call(current_generation)
            builder = await on_writer(CatalogBuilder.after, files, in_use)
            self._report(0, 0)
            downloaded = await self._download(builder, on_writer)
            download_s = time.perf_counter() - started

            def checkpoint() -> None:
                if stop.is_set():
                    raise _Stopped

            synced_at = self._clock()
            build = loop.run_in_executor(
                executor, functools.partial(builder.build, checkpoint=checkpoint)
            )
            try:
                count = await asyncio.shield(build)
            except asyncio.CancelledError as cancelled:
                stop.set()  # the build stops at its next checkpoint, before it is published
                try:
                    count = await build
                except _Stopped:
                    raise cancelled from None
                log.info("Catalog sync cancelled after its build; the new catalog is kept")
            # Published in one step on the store's connection (or, without one, a shielded
            # call on the worker): a cancellation cannot stop it half-way.
            await account.call(publish, builder.generation, item_count=count, synced_at=synced_at)
            old_files = asyncio.ensure_future(
                on_writer(
                    functools.partial(files.remove_unused, builder.generation, newer_too=True)
                )
            )
            try:
                await asyncio.shield(old_files)
            except asyncio.CancelledError:  # published: the sync has finished
                log.info("Catalog sync cancelled after its switch; the new catalog is kept")
                await old_files
            result = CatalogSyncResult(
                test_count=count,
                company_count=downloaded.companies,
                pages=downloaded.pages,
                synced_at=synced_at,
                download_s=download_s,
                build_s=time.perf_counter() - started - download_s,
                skipped_tests=downloaded.skipped_tests,
                skipped_companies=downloaded.skipped_companies,
            )
            log.info(
                "Catalog synced: %d tests, %d companies, %d pages in %.1f s",
                count,
                result.company_count,
                result.pages,
                result.download_s + result.build_s,
            )
            if result.skipped_tests or result.skipped_companies:
                log.warning(
                    "Catalog sync left out %d tests and %d companies that could not be read",
                    result.skipped_tests,
                    result.skipped_companies,
                )
            return result
        except BaseException as exc:
            stop.set()
            if account is not None:
                message = "cancelled" if isinstance(exc, asyncio.CancelledError) else str(exc)
                await _clean_up(account, builder, message, on_writer)
            raise
        finally:
            if account is not None and self._account_db is None:
                await asyncio.shield(on_writer(account.db.close))
            executor.shutdown(wait=False)
            lock.close()

    async def _download(
        self, builder: CatalogBuilder, on_writer: Callable[..., Awaitable[Any]]
    ) -> _Downloaded:
        source = self._source
        size = self._limits.max_page_size
        companies: list[LabCompany] = []
        page: Page[LabCompany] | None = await source.first_page(
            listings.lab_companies(page_size=size)
        )
        pages = _Pages(self._report, fetched=1)
        skipped_companies = 0
        while page is not None:
            companies.extend(page.items)
            skipped_companies += page.skipped
            if page.next_url is None:
                break
            page = await source.next_page(page)
            pages.fetched += 1
        await on_writer(builder.add_companies, companies)
        probe = await source.first_page(listings.lab_tests(page_size=1))
        pages.fetched += 1
        pages.start(probe.count)
        try:
            await self._by_company(companies, builder, on_writer, pages)
            staged = await on_writer(builder.staged_test_count)
            complete = probe.count is None or staged + pages.skipped == probe.count
            why = f"{staged + pages.skipped} tests listed by lab company, {probe.count} in all"
        except _FilterIgnored as ignored:
            complete = False
            why = str(ignored)
        if not complete:
            # The company listing or the filter is not what we assumed: one chain over
            # everything is slower but cannot miss a test.
            log.warning("Catalog sync: %s; downloading the unfiltered list instead", why)
            await on_writer(builder.clear_tests)
            pages.start(probe.count)
            unlisted = await self._unfiltered(builder, on_writer, pages, {c.id for c in companies})
            await on_writer(builder.add_companies, unlisted)
            companies.extend(unlisted)
        staged = await on_writer(builder.staged_test_count)
        self._report(staged, staged)
        return _Downloaded(
            companies=len(companies),
            pages=pages.fetched,
            skipped_tests=pages.skipped,
            skipped_companies=skipped_companies,
        )

    async def _by_company(
        self,
        companies: list[LabCompany],
        builder: CatalogBuilder,
        on_writer: Callable[..., Awaitable[Any]],
        pages: _Pages,
    ) -> None:
        """One `links.next` chain per lab company, several at once.

        Raises:
            _FilterIgnored: a page held a test of another company.
        """
        size = self._limits.max_page_size
        queue: asyncio.Queue[str] = asyncio.Queue()
        for company in companies:
            queue.put_nowait(company.id)

        def check(company_id: str) -> Callable[[Page[LabTest]], None]:
            def foreign_test(page: Page[LabTest]) -> None:
                for test in page.items:
                    if test.lab_company_id not in (None, company_id):
                        raise _FilterIgnored(company_id, test.lab_company_id)

            return foreign_test

        async def worker() -> None:
            while not queue.empty():
                company_id = queue.get_nowait()
                first = await self._source.first_page(
                    listings.lab_tests(company_id, page_size=size)
                )
                pages.fetched += 1
                await self._chain(first, builder, on_writer, pages, check(company_id))

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(min(self._concurrency, max(1, len(companies)))):
                    group.create_task(worker())
        except BaseExceptionGroup as group_error:
            errors = group_error.exceptions
            real = [e for e in errors if not isinstance(e, _FilterIgnored)]
            raise (real or errors)[0] from None

    async def _unfiltered(
        self,
        builder: CatalogBuilder,
        on_writer: Callable[..., Awaitable[Any]],
        pages: _Pages,
        listed: set[str],
    ) -> list[LabCompany]:
        """One `links.next` chain over every test; returns the companies not `listed`."""
        unlisted: dict[str, LabCompany] = {}

        def collect(page: Page[LabTest]) -> None:
            for test in page.items:
                company = test.lab_company
                if company is not None and company.id not in listed:
                    unlisted.setdefault(company.id, company)

        size = self._limits.max_page_size
        first = await self._source.first_page(
            listings.lab_tests(include_company=True, page_size=size)
        )
        pages.fetched += 1
        await self._chain(first, builder, on_writer, pages, collect)
        return list(unlisted.values())

    async def _chain(
        self,
        current: Page[LabTest],
        builder: CatalogBuilder,
        on_writer: Callable[..., Awaitable[Any]],
        pages: _Pages,
        inspect: Callable[[Page[LabTest]], None],
    ) -> None:
        """Stage `current` and the pages after it; the next one is fetched while one is written.

        `inspect` sees each page before it is staged (it may raise to stop the chain).
        """
        while True:
            inspect(current)
            following: asyncio.Task[Page[LabTest]] | None = None
            if current.next_url is not None:
                following = asyncio.create_task(self._source.next_page(current))
            try:
                written = await on_writer(builder.add_tests, current.items)
            except BaseException:
                if following is not None:
                    following.cancel()
                raise
            pages.staged(written, skipped=current.skipped)
            if following is None:
                return
            current = await following
            pages.fetched += 1


class _FilterIgnored(Exception):
    """A page of one lab company's tests held a test of another (the API ignored the filter)."""

    def __init__(self, asked: str, found: str | None) -> None:
        super().__init__(f"the tests of lab company {asked} include one of {found}")


class _Pages:
    """Counts the pages fetched and the tests staged, and reports progress."""

    def __init__(self, report: ProgressCallback, *, fetched: int) -> None:
        self._report = report
        self.fetched = fetched
        self.skipped = 0
        self._done = 0
        self._total = 0

    def start(self, total: int | None) -> None:
        """(Re)start counting staged (and skipped) tests toward `total` (None: unknown)."""
        self._done = 0
        self.skipped = 0
        self._total = total or 0
        self._report(0, self._total)

    def staged(self, count: int, *, skipped: int = 0) -> None:
        """`count` tests of a page were staged and `skipped` left out (they count as done)."""
        self._done += count + skipped
        self.skipped += skipped
        self._report(self._done, self._total)


@dataclass(frozen=True, slots=True)
class _Downloaded:
    companies: int
    pages: int
    skipped_tests: int
    skipped_companies: int


def _open_account_db(path: Path) -> Database:
    """The sync's connection to the account's database: sync state and the switch only."""
    return connect(path, synchronous="FULL", busy_timeout_ms=30_000)


class _AccountWrites:
    """The sync's few small writes to the account's database, on the thread of `db`.

    Args:
        db: the connection.
        on_worker: runs a call on the sync's worker thread (the thread of a connection the
            sync opened); None: `db` is the store's, of the event loop's thread.
    """

    def __init__(self, db: Database, on_worker: Callable[..., Awaitable[Any]] | None) -> None:
        self.db = db
        self._on_worker = on_worker

    async def call(self, fn: Callable[..., R], *args: object, **kwargs: object) -> R:
        """`fn(db, *args, **kwargs)` on the connection's thread (never interrupted half-way)."""
        if self._on_worker is None:
            return fn(self.db, *args, **kwargs)
        result: R = await asyncio.shield(
            self._on_worker(functools.partial(fn, self.db, *args, **kwargs))
        )
        return result


def _record_attempt(account_db: Database) -> None:
    with account_db.atomic():
        SyncState(account_db).record_attempt(CATALOG)


def _record_failure(account_db: Database, message: str) -> None:
    with account_db.atomic():
        SyncState(account_db).record_failure(CATALOG, message)


async def _clean_up(
    account: _AccountWrites,
    builder: CatalogBuilder | None,
    message: str,
    on_writer: Callable[..., Awaitable[Any]],
) -> None:
    """Delete the unfinished catalog (unless it was published) and record why."""
    try:
        in_use = await account.call(current_generation)
        if builder is not None and in_use != builder.generation:
            await asyncio.shield(on_writer(builder.discard))
        await account.call(_record_failure, message)
    except (sqlite3.Error, OSError, StoreError):  # atomic() types SQLite's failures
        log.exception("Could not clean up after an interrupted catalog sync")


class _SyncLock:
    """An exclusive SQLite lock on a file beside the database, held while a sync runs.

    The operating system drops it when the process ends, even by SIGKILL.
    """

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def close(self) -> None:
        self._connection.close()


def _acquire_lock(database_path: Path) -> _SyncLock:
    lock_path = database_path.with_name(database_path.name + ".sync-lock")
    create_private_file(lock_path)
    connection = sqlite3.connect(str(lock_path), timeout=0, isolation_level=None)
    try:
        connection.execute("BEGIN EXCLUSIVE")
    except sqlite3.OperationalError as exc:
        connection.close()
        raise CatalogSyncBusy() from exc
    return _SyncLock(connection)


def _cancel_requested() -> bool:
    """True when the running task itself has been asked to cancel."""
    current = asyncio.current_task()
    return current is not None and current.cancelling() > 0


def _log_failure(task: asyncio.Task[CatalogSyncResult]) -> None:
    if task.cancelled():
        log.info("Catalog sync cancelled; the previous catalog is kept")
        return
    exc = task.exception()
    if isinstance(exc, RupaError | StoreError):
        log.warning("Catalog sync failed; the previous catalog is kept: %s", exc)
    elif exc is not None:
        log.error("Catalog sync failed (a bug); the previous catalog is kept", exc_info=exc)
