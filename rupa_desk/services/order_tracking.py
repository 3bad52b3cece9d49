"""Order tracking: poll orders on the adaptive schedule, record status changes, fetch results.

A desktop app has no public endpoint for Rupa's webhooks, so `OrderTracker` polls. What to do
next is decided by the pure `rupa_desk.core.polling.PollSchedule`; this module performs it:

- `PollOrder`: fetch the order (with its ordered tests and patient), save it, record a status
  change in its history, download new or re-issued result PDFs and structured results
  (`results_hl7`, read where they are stored); once it is complete, keep re-checking it on
  the schedule's slow cadence while its results are recent, so that a corrected result
  (a new result event, which the order list does not show) reaches the Results inbox by
  itself; stop following it once it is canceled or its correction window has closed;
- `RefreshList`: read the clinic's order list page by page, save it, start following new
  orders (placed on Rupa's website or another PC), poll at once those whose status changed,
  and link orders to drafts whose checkout never came back to the app;
- `Wait`: sleep until then, or until woken (a new order to follow, back online).

Rate limits: every API call the tracker makes is charged to the schedule's budget (the PDFs
a status change brings included); a 429 that outlasts the client's own retries defers the
whole schedule by its `Retry-After`. Offline: polling pauses and a single cheap request
probes for the network, backing off, until Rupa answers. Signed out: tracking stops.

What happens is reported as `TrackingEvent`s (the UI updates rows and notifies).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final, Protocol, TypeVar

from rupa_desk.core.jsonapi import is_safe_id, is_web_url
from rupa_desk.core.models import Order, Page, Patient
from rupa_desk.core.polling import PollOrder, PollSchedule, RefreshList, Wait
from rupa_desk.core.status import results_arrived_at
from rupa_desk.services import listings
from rupa_desk.services.checkout_linking import CheckoutLinker
from rupa_desk.services.errors import (
    MalformedResponse,
    NetworkError,
    NotAPdf,
    NotFound,
    NotSignedIn,
    RateLimited,
    RupaError,
)
from rupa_desk.services.listings import Listing
from rupa_desk.services.store.errors import StoreWriteError
from rupa_desk.services.store.lab_results import LabResults, SavedResults
from rupa_desk.services.store.orders import Orders, OrderUpdate
from rupa_desk.services.store.sync_state import utc_now

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Up to this many unknown patients are fetched one by one; more, and the patient list is read.
PATIENTS_ONE_BY_ONE: Final = 5
#: Waits between probes while offline (the last one repeats).
OFFLINE_PROBE_WAITS_S: Final = (5.0, 15.0, 30.0, 60.0, 120.0, 300.0)
LIST_PAGE_SIZE: Final = 100
#: How every PDF file starts (ISO 32000: the header within the first bytes).
PDF_MAGIC: Final = b"%PDF-"


class OrderSource(Protocol):
    """The part of `RupaClient` the tracker uses."""

    async def get_order(
        self, order_id: str, *, include: Sequence[str] = ("ordered_tests", "patient")
    ) -> Order: ...

    async def first_page(self, listing: Listing[T]) -> Page[T]: ...

    async def next_page(self, page: Page[T]) -> Page[T]: ...

    async def download(self, url: str, destination: Path) -> Path: ...

    async def get_patient(self, patient_id: str) -> Patient: ...


class PatientNames(Protocol):
    """Where patients that come with orders are cached (`PatientCache`)."""

    def upsert(self, patients: Sequence[Patient]) -> int: ...


@dataclass(frozen=True, slots=True)
class StatusChanged:
    """An order this PC knew moved to another status."""

    order_id: str
    previous: str
    status: str


@dataclass(frozen=True, slots=True)
class OrderArrived:
    """An order this PC did not know yet (placed here, elsewhere, or before sign-in)."""

    order_id: str


@dataclass(frozen=True, slots=True)
class ResultsDownloaded:
    """A result PDF was saved in the data folder."""

    order_id: str
    ordered_test_id: str
    path: Path


@dataclass(frozen=True, slots=True)
class StructuredResultsArrived:
    """Structured results of an ordered test came (new, final, corrected, or unreadable:
    `saved.error` says so)."""

    saved: SavedResults


@dataclass(frozen=True, slots=True)
class PatientNamesCached:
    """The names of patients of listed orders were fetched (rows can show names, not ids)."""

    count: int


@dataclass(frozen=True, slots=True)
class ConnectionChanged:
    """Rupa became unreachable (False) or reachable again (True) for the tracker."""

    online: bool


@dataclass(frozen=True, slots=True)
class TrackingStopped:
    """Tracking stopped (the session ended); `error` says why."""

    error: RupaError


TrackingEvent = (
    StatusChanged
    | OrderArrived
    | ResultsDownloaded
    | StructuredResultsArrived
    | PatientNamesCached
    | ConnectionChanged
    | TrackingStopped
)


class OrderTracker:
    """Keeps the local orders up to date.

    Args:
        client: the Rupa API.
        orders: the orders in the database.
        patients: where patients that come with orders are cached.
        linker: links listed orders to drafts.
        schedule: the polling schedule.
        results_dir: where result PDFs are saved.
        on_event: called with each `TrackingEvent`.
        clock: the wall clock (for the age of orders).
        offline_probe_waits_s: waits between network probes while offline.
        lab_results: where structured results are kept (None: they are not fetched).
    """

    def __init__(
        self,
        client: OrderSource,
        orders: Orders,
        patients: PatientNames,
        linker: CheckoutLinker,
        schedule: PollSchedule,
        *,
        results_dir: Path,
        on_event: Callable[[TrackingEvent], None],
        clock: Callable[[], datetime] = utc_now,
        offline_probe_waits_s: Sequence[float] = OFFLINE_PROBE_WAITS_S,
        lab_results: LabResults | None = None,
    ) -> None:
        self._lab_results = lab_results
        self._client = client
        self._orders = orders
        self._patients = patients
        self._linker = linker
        self.schedule = schedule
        self._results_dir = results_dir
        self._on_event = on_event
        self._clock = clock
        self._probe_waits = tuple(offline_probe_waits_s) or (60.0,)
        self._wake = asyncio.Event()
        self.requests = 0

    # -- control -------------------------------------------------------------------------------

    def load(self) -> int:
        """Follow every unfinished order in the database, and watch the completed ones whose
        results are recent for corrections; returns how many unfinished ones."""
        now = self._clock()
        tracked = self._orders.tracked()
        for order in tracked:
            self.schedule.track(order.id, age_s=(now - order.last_change_at).total_seconds())
        window = timedelta(seconds=self.schedule.policy.correction_window_s)
        for order in self._orders.completed(since=now - window):
            self.schedule.watch(
                order.id, results_age_s=(now - order.last_change_at).total_seconds()
            )
        return len(tracked)

    def follow(self, order_id: str, *, poll_now: bool = False) -> None:
        """Start following an order that just appeared (e.g. right after checkout)."""
        self.schedule.track(order_id, age_s=0, poll_now=poll_now)
        self.wake()

    def set_online(self, online: bool) -> None:
        """Someone else found Rupa reachable or not (another request's outcome)."""
        if online != self.schedule.online:
            self.schedule.set_online(online)
            self._on_event(ConnectionChanged(online))
        self.wake()

    def wake(self) -> None:
        """Re-plan now (something changed)."""
        self._wake.set()

    def refresh_list_soon(self) -> None:
        """Read the order list at the next opportunity (a checkout ended: its order, if one
        was placed, is found even when the return never reached the app)."""
        self.schedule.refresh_list_soon()
        self.wake()

    async def run(self) -> None:
        """Poll until cancelled (or until the session ends)."""
        log.info(
            "order tracking started with %d open orders and %d completed ones watched",
            len(self.schedule),
            self.schedule.watched,
        )
        probe = 0
        while True:
            action = self.schedule.next_action()
            if isinstance(action, Wait):
                if not self.schedule.online:
                    await self._sleep(self._probe_waits[min(probe, len(self._probe_waits) - 1)])
                    probe += 1
                    if not self.schedule.online:
                        await self._probe()
                else:
                    await self._sleep(action.seconds)
                continue
            probe = 0
            try:
                if isinstance(action, RefreshList):
                    self.schedule.list_refreshed(await self.refresh_list())
                else:
                    await self._poll(action)
            except NotSignedIn as exc:
                self._on_event(TrackingStopped(exc))
                log.info("order tracking stopped: not signed in")
                return
            except RateLimited as exc:
                self.schedule.defer(exc.retry_after)
            except NetworkError:
                pass  # noted by _request: polling pauses until Rupa answers again
            except RupaError as exc:
                log.warning("refreshing the order list failed: %s", type(exc).__name__)
            except (StoreWriteError, sqlite3.OperationalError) as exc:
                # another connection (the catalog sync) held the database past the busy
                # timeout (or the disk is full): what was fetched is saved at the next round
                log.warning("the database was busy; orders are saved next time (%s)", exc)

    # -- what the user asks for ----------------------------------------------------------------

    async def refresh_order(self, order_id: str) -> OrderUpdate:
        """Fetch one order now (the user opened it or pressed Refresh) and its results."""
        return await self._fetch(order_id)

    async def refresh_list(self) -> int:
        """Read the whole order list now (and the names of patients not cached yet);
        returns the number of requests it took."""
        page = await self._request(
            self._client.first_page(listings.orders(page_size=LIST_PAGE_SIZE))
        )
        pages = 1
        while True:
            self._take_list_page(page.items)
            if page.next_url is None:
                break
            page = await self._request(self._client.next_page(page))
            pages += 1
        return pages + await self._fetch_patient_names()

    async def _fetch_patient_names(self) -> int:
        """Cache the patients of listed orders whose names this PC does not know yet (the
        list has no names); returns the number of requests it took."""
        unknown = self._orders.unnamed_patient_ids()
        if not unknown:
            return 0
        cached = 0
        if len(unknown) <= PATIENTS_ONE_BY_ONE:
            try:
                for patient_id in unknown:
                    try:
                        patient = await self._request(self._client.get_patient(patient_id))
                    except NotFound:
                        continue
                    cached += self._patients.upsert([patient])
            finally:
                self._names_cached(cached)
            return len(unknown)
        requests = 1
        try:
            page = await self._request(
                self._client.first_page(listings.patients(page_size=LIST_PAGE_SIZE))
            )
            while True:
                cached += self._patients.upsert(page.items)
                if page.next_url is None:
                    return requests
                page = await self._request(self._client.next_page(page))
                requests += 1
        finally:
            self._names_cached(cached)

    def _names_cached(self, count: int) -> None:
        if count:
            self._on_event(PatientNamesCached(count))

    async def download_results(self, order_id: str) -> list[Path]:
        """Download the results of an order that are missing or out of date.

        Raises:
            MalformedResponse: an id would not make a file in the results folder.
            NotAPdf: a link gave something that is not a PDF (not kept; nor the later ones).
            RupaError: a download failed (the results saved before it are kept).
        """
        saved = []
        for test in self._orders.ordered_tests(order_id):
            if test.results_pdf is None or test.results_up_to_date:
                continue
            path = self._results_path(order_id, test.id)
            await self._download_pdf(test.results_pdf, path, "a result PDF")
            self._orders.set_results_file(test.id, path, test.date_results_received)
            saved.append(path)
            self._on_event(ResultsDownloaded(order_id, test.id, path))
        return saved

    async def download_requisition(self, order_id: str, ordered_test_id: str) -> Path:
        """Download an ordered test's requisition (the form that goes with the sample) into
        the results folder, fresh each time it is asked for (Rupa may issue a new one): the
        same guarded download as result PDFs (https or loopback only, size-capped, the token
        only to Rupa), then kept only when it is a PDF.

        Returns:
            The saved file.

        Raises:
            NotFound: the ordered test has no requisition (yet) on this computer, or Rupa
                has none.
            NotAPdf: what came is not a PDF (nothing is kept).
            MalformedResponse: an id would not make a file in the results folder.
            RupaError: the download failed (a copy saved earlier is left as it was).
        """
        tests = self._orders.ordered_tests(order_id)
        test = next((t for t in tests if t.id == ordered_test_id), None)
        if test is None or test.requisition is None:
            raise NotFound("Rupa has no requisition for this test yet. Refresh the order.")
        path = self._requisition_path(order_id, ordered_test_id)
        await self._download_pdf(test.requisition, path, "a requisition")
        return path

    async def _download_pdf(self, url: str, path: Path, what: str) -> None:
        """Download into `path` only what is a PDF: a web page or anything else a link gives
        is dropped (NotAPdf), and a copy saved there before is left as it was."""
        fresh = path.with_name(f".{path.name}.new")
        self._results_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            await self._request(self._client.download(url, fresh))
            if not await asyncio.to_thread(_starts_with, fresh, PDF_MAGIC):
                log.warning("%s was not kept: it is not a PDF", what)
                raise NotAPdf()
            await asyncio.to_thread(fresh.replace, path)
        finally:
            await asyncio.to_thread(fresh.unlink, missing_ok=True)

    def saved_requisition(self, order_id: str, ordered_test_id: str) -> Path | None:
        """The requisition downloaded earlier, if there is one (to show while offline)."""
        path = self._requisition_path(order_id, ordered_test_id)
        return path if path.is_file() else None

    async def fetch_structured_results(self, order_id: str) -> list[SavedResults]:
        """Fetch and keep the structured results (`results_hl7`) that are missing or out of
        date: a URL is downloaded like a result PDF (size-capped, the token only to Rupa),
        anything else is the message itself. A message that cannot be read is kept with
        its error (the order says so); the PDF is not affected.

        Raises:
            MalformedResponse: an id would not make a file in the results folder.
            RupaError: a download failed (the results saved before it are kept).
        """
        if self._lab_results is None:
            return []
        saved = []
        for test_id, results_hl7, received in self._lab_results.to_fetch(order_id):
            if is_web_url(results_hl7):
                path = self._results_path(order_id, test_id).with_suffix(".hl7")
                self._results_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
                await self._request(self._client.download(results_hl7, path))
                try:
                    data: bytes | str = await asyncio.to_thread(path.read_bytes)
                finally:
                    path.unlink(missing_ok=True)
            else:
                data = results_hl7
            result = self._lab_results.save(order_id, test_id, received, data)
            if result.error:
                log.warning("structured results could not be read; the PDF still shows them")
            saved.append(result)
            self._on_event(StructuredResultsArrived(result))
        return saved

    def _requisition_path(self, order_id: str, ordered_test_id: str) -> Path:
        """Where a requisition is saved: beside the results, checked alike."""
        results = self._results_path(order_id, ordered_test_id)
        return results.with_name(f"{results.stem}-requisition.pdf")

    def _results_path(self, order_id: str, ordered_test_id: str) -> Path:
        """Where a result PDF is saved: a file directly in the results folder, whatever the ids.

        The ids are Rupa's. The parser accepts only safe ids; this checks again, so that no
        id, however it reached the database, can name a file elsewhere.

        Raises:
            MalformedResponse: the ids do not make a plain file name in the results folder
                (nothing is downloaded or written).
        """
        path = self._results_dir / f"{order_id}-{ordered_test_id}.pdf"
        inside = path.resolve().parent == self._results_dir.resolve()
        if not (is_safe_id(order_id) and is_safe_id(ordered_test_id) and inside):
            log.warning("a result was not saved: Rupa sent an id that is not a safe file name")
            raise MalformedResponse()
        return path

    # -- the steps -----------------------------------------------------------------------------

    async def _poll(self, action: PollOrder) -> None:
        order_id = action.order_id
        try:
            update = await self._fetch(order_id)
        except RateLimited as exc:
            self.schedule.defer(exc.retry_after)
            self.schedule.poll_failed(order_id)
        except NotFound:
            log.info("an order is no longer visible; not following it")
            self.schedule.untrack(order_id)
        except NotSignedIn:
            raise
        except NetworkError:
            self.schedule.poll_failed(order_id)
        except RupaError as exc:
            log.warning("polling an order failed: %s", type(exc).__name__)
            self.schedule.poll_failed(order_id)
        else:
            self.schedule.polled(order_id, changed=update.status_changed)

    async def _fetch(self, order_id: str) -> OrderUpdate:
        order = await self._request(self._client.get_order(order_id))
        if order.patient is not None:
            self._patients.upsert([order.patient])
        update = self._orders.save(order)
        if update.finished:
            self._watch_for_corrections(order)
        elif order_id not in self.schedule:
            self.schedule.track(order_id, age_s=0)
        if update.status_changed and update.previous_status is not None:
            self._on_event(StatusChanged(order_id, update.previous_status, update.status))
        try:
            await self.download_results(order_id)
        except (NetworkError, NotSignedIn, RateLimited):
            raise
        except RupaError as exc:  # e.g. the disk is full: tried again at the next poll
            log.warning("downloading results failed: %s", type(exc).__name__)
        try:
            await self.fetch_structured_results(order_id)
        except (NetworkError, NotSignedIn, RateLimited):
            raise
        except RupaError as exc:  # tried again at the next poll
            log.warning("fetching structured results failed: %s", type(exc).__name__)
        return update

    def _watch_for_corrections(self, order: Order) -> None:
        """A finished order: watched for a corrected result while its results are recent
        (from when they last arrived, else its completion), else no longer polled."""
        arrived = results_arrived_at(order)
        if arrived is None:
            self.schedule.untrack(order.id)
            return
        self.schedule.watch(order.id, results_age_s=(self._clock() - arrived).total_seconds())

    def _take_list_page(self, orders: Sequence[Order]) -> None:
        now = self._clock()
        for update, order in zip(self._orders.save_many(orders), orders, strict=True):
            if update.is_new:
                self._on_event(OrderArrived(order.id))
                if update.finished:
                    self._watch_for_corrections(order)  # the list has its completion date
                else:
                    dates = [d for d in (order.date_paid, order.date_submitted) if d is not None]
                    last_change = max(dates) if dates else now
                    self.schedule.track(order.id, age_s=(now - last_change).total_seconds())
            elif update.status_changed and update.previous_status is not None:
                self._on_event(StatusChanged(order.id, update.previous_status, update.status))
                # fetch the details (new results) at once; a finished order is then watched
                self.schedule.track(order.id, age_s=0, poll_now=True)
        self._linker.link_listed(orders)

    async def _request(self, request: Awaitable[T]) -> T:
        """Await one API call, charging it to the polling budget (whatever asked for it) and
        noting what it says about the network."""
        self.requests += 1
        self.schedule.record_requests()
        try:
            result = await request
        except NetworkError:
            self._went(online=False)
            raise
        except RupaError:
            self._went(online=True)
            raise
        self._went(online=True)
        return result

    async def _probe(self) -> None:
        """One cheap request to see whether Rupa is reachable again."""
        try:
            await self._request(self._client.first_page(listings.orders(page_size=1)))
        except NetworkError:
            return
        except RupaError as exc:
            log.info("network probe answered %s", type(exc).__name__)

    def _went(self, *, online: bool) -> None:
        if online != self.schedule.online:
            log.info("Rupa is %s", "reachable again" if online else "unreachable; polling paused")
            self.schedule.set_online(online)
            self._on_event(ConnectionChanged(online))

    async def _sleep(self, seconds: float | None) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):  # no helper task (unlike wait_for)
                await self._wake.wait()


def _starts_with(path: Path, magic: bytes) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(magic)) == magic
