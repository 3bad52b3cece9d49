"""Checkout linking and order tracking against the simulator over real loopback HTTP."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from rupa_desk.core.checkout_return import CheckoutReturn, ReturnEndpoint, parse_return_url
from rupa_desk.core.drafts import DraftState
from rupa_desk.core.models import Order, OrderedTest
from rupa_desk.core.polling import (
    CORRECTION_WINDOW_S,
    DAY,
    PollingPolicy,
    PollOrder,
    PollSchedule,
    Wait,
)
from rupa_desk.paths import AppPaths
from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.services.api import RupaClient
from rupa_desk.services.checkout_linking import (
    CheckoutLinker,
    CheckoutReturnListener,
    LinkedOrder,
    OrderNotPlacedYet,
)
from rupa_desk.services.errors import EndlessPages, MalformedResponse, NotAPdf, NotFound
from rupa_desk.services.loopback import CallbackPage
from rupa_desk.services.order_tracking import (
    ConnectionChanged,
    OrderArrived,
    OrderTracker,
    ResultsDownloaded,
    StatusChanged,
    TrackingEvent,
)
from rupa_desk.services.outbox import Outbox
from rupa_desk.services.store import Store
from tests.fixtures.browser import PractitionerBrowser
from tests.fixtures.catalog_sync import api_requests
from tests.fixtures.orders_env import client_for, first_ids, set_faults
from tests.fixtures.sandbox import SandboxControl, SandboxFactory

EMBEDDED = ReturnEndpoint.embedded()


@pytest.fixture
def store(app_paths: AppPaths) -> Iterator[Store]:
    with Store.for_account(app_paths, "demo", "pra_demo") as store:
        yield store


@pytest.fixture
async def client(sandbox: SandboxServer) -> AsyncIterator[RupaClient]:
    async with client_for(sandbox.url) as client:
        yield client


class Parts:
    """Outbox, linker and tracker over one store and client, recording what they report."""

    def __init__(self, client: RupaClient, store: Store, app_paths: AppPaths, **policy: float):
        self.events: list[TrackingEvent] = []
        self.links: list[LinkedOrder] = []
        self.store = store
        self.outbox = Outbox(
            client,
            store.drafts,
            return_url_for=EMBEDDED.url_for,
            draft_id_key=client.environment.paths.draft_id_metadata_key,
        )
        self.linker = CheckoutLinker(
            client, store.drafts, store.orders, on_linked=self.links.append
        )
        self.schedule = PollSchedule(
            PollingPolicy(**policy),  # type: ignore[arg-type]
            clock=time.monotonic,
            rng=random.Random(1),
        )
        self.tracker = OrderTracker(
            client,
            store.orders,
            store.patients,
            self.linker,
            self.schedule,
            results_dir=app_paths.results_dir("demo", "pra_demo"),
            on_event=self.events.append,
        )

    async def sent_draft(self, sandbox_url: str) -> str:
        [patient] = first_ids(sandbox_url, "patients", 1)
        draft_id = self.store.drafts.create(patient_id=patient)
        for test_id in first_ids(sandbox_url, "lab_tests", 2):
            self.store.drafts.add_test(draft_id, test_id, name=test_id, price=None)
        assert (await self.outbox.send(draft_id)).state is DraftState.SENT
        return draft_id

    def checkout_url(self, draft_id: str) -> str:
        url = self.store.drafts.get(draft_id).checkout_url
        assert url is not None
        return url


@pytest.fixture
def parts(client: RupaClient, store: Store, app_paths: AppPaths) -> Parts:
    return Parts(client, store, app_paths)


async def test_the_return_url_links_the_order_to_its_draft(
    sandbox: SandboxServer, parts: Parts, practitioner_browser: PractitionerBrowser
) -> None:
    draft_id = await parts.sent_draft(sandbox.url)
    location = practitioner_browser.submit_checkout(parts.checkout_url(draft_id))
    result = parse_return_url(location, (EMBEDDED,))
    assert result is not None
    assert result.draft_id == draft_id
    assert result.order_id is not None
    linked = await parts.linker.link(result)
    assert linked.order.id == result.order_id
    assert linked.draft.state is DraftState.CHECKED_OUT
    assert parts.store.drafts.get(draft_id).order_id == result.order_id
    assert parts.store.orders.row(result.order_id).draft_id == draft_id
    assert parts.links == [linked]
    again = await parts.linker.link(result)  # the return and the poller may both report it
    assert again.draft == linked.draft


async def test_without_or_with_a_wrong_order_hint_the_intent_is_read(
    sandbox: SandboxServer,
    parts: Parts,
    practitioner_browser: PractitionerBrowser,
    sandbox_control: SandboxControl,
) -> None:
    draft_id = await parts.sent_draft(sandbox.url)
    result = parse_return_url(EMBEDDED.url_for(draft_id), (EMBEDDED,))
    assert result is not None
    with pytest.raises(OrderNotPlacedYet):
        await parts.linker.link(result)  # came back before submitting
    location = practitioner_browser.submit_checkout(parts.checkout_url(draft_id))
    real = parse_return_url(location, (EMBEDDED,))
    assert real is not None
    other = sandbox_control.create_order()["id"]  # an order of no intent of ours
    forged = parse_return_url(f"{EMBEDDED.url_for(draft_id)}&order={other}", (EMBEDDED,))
    assert forged is not None
    linked = await parts.linker.link(forged)
    assert linked.order.id == real.order_id
    assert linked.order.id != other


async def test_checkout_in_the_browser_returns_to_the_loopback_listener(
    sandbox: SandboxServer, parts: Parts, practitioner_browser: PractitionerBrowser
) -> None:
    failures: list[tuple[str, BaseException]] = []
    listener = CheckoutReturnListener(
        parts.linker.link, on_failure=lambda name, exc: failures.append((name, exc))
    )
    endpoint = await listener.start()
    try:
        draft_id = await parts.sent_draft(sandbox.url)
        await parts.outbox.use_return_url(draft_id, endpoint.url_for(draft_id))
        location = practitioner_browser.submit_checkout(parts.checkout_url(draft_id))
        assert location.startswith(endpoint.base_url)
        async with httpx.AsyncClient() as browser:  # the browser follows the redirect
            page = await browser.get(location)
            nonsense = await browser.get(f"{endpoint.base_url}?draft=nonsense")
            other = await browser.get(endpoint.base_url.replace("checkout-return", "x"))
        assert "Order placed" in page.text
        assert "does not name a draft" in nonsense.text
        assert other.status_code == 404
        assert parts.store.drafts.get(draft_id).state is DraftState.CHECKED_OUT
        assert failures == []
    finally:
        await listener.aclose()


async def test_a_crash_while_linking_from_the_browser_is_reported_not_only_logged() -> None:
    """The browser is told "it has been reported": it must be (a bug report), and a listener
    whose own task dies must not die silently."""

    async def crashing_link(result: CheckoutReturn) -> LinkedOrder:
        raise RuntimeError("a bug in linking")

    failures: list[tuple[str, BaseException]] = []
    listener = CheckoutReturnListener(
        crashing_link, on_failure=lambda name, exc: failures.append((name, exc))
    )
    endpoint = await listener.start()
    try:
        async with httpx.AsyncClient() as browser:
            page = await browser.get(endpoint.url_for("draft_" + "a" * 32))
        assert "it has been reported" in page.text
        [(where, error)] = failures
        assert isinstance(error, RuntimeError)
        assert "link" in where
    finally:
        await listener.aclose()


async def test_the_browser_return_listener_dying_is_reported() -> None:
    async def never_called(result: CheckoutReturn) -> LinkedOrder:
        raise AssertionError("not reached")

    failures: list[tuple[str, BaseException]] = []
    listener = CheckoutReturnListener(
        never_called,
        on_failure=lambda name, exc: failures.append((name, exc)),
        response_timeout_s=0.5,
    )

    async def broken_page_for(url: str) -> CallbackPage:
        raise RuntimeError("a bug in the listener")

    listener._page_for = broken_page_for  # type: ignore[method-assign]
    endpoint = await listener.start()
    try:
        async with httpx.AsyncClient(timeout=10) as browser:
            await browser.get(endpoint.url_for("draft_" + "a" * 32))
        await asyncio.sleep(0)
        [(where, error)] = failures
        assert where == "checkout-return-listener"
        assert str(error) == "a bug in the listener"
    finally:
        await listener.aclose()


async def test_status_changes_are_recorded_and_results_downloaded(
    sandbox: SandboxServer,
    parts: Parts,
    practitioner_browser: PractitionerBrowser,
    sandbox_control: SandboxControl,
) -> None:
    draft_id = await parts.sent_draft(sandbox.url)
    location = practitioner_browser.submit_checkout(parts.checkout_url(draft_id))
    result = parse_return_url(location, (EMBEDDED,))
    assert result is not None
    order_id = (await parts.linker.link(result)).order.id
    parts.tracker.follow(order_id)
    assert order_id in parts.schedule

    update = await parts.tracker.refresh_order(order_id)
    assert not update.status_changed
    sandbox_control.advance_order(order_id)  # -> Paid
    update = await parts.tracker.refresh_order(order_id)
    assert (update.previous_status, update.status) == ("Pending Payment", "Paid")
    assert StatusChanged(order_id, "Pending Payment", "Paid") in parts.events

    sandbox_control.advance_order(order_id, to="Complete")
    await parts.tracker.refresh_order(order_id)
    downloads = [e for e in parts.events if isinstance(e, ResultsDownloaded)]
    assert len(downloads) == 2  # one per ordered test
    for event in downloads:
        assert event.path.parent == parts.tracker._results_dir
        assert event.path.read_bytes().startswith(b"%PDF")
    tests = parts.store.orders.ordered_tests(order_id)
    assert all(t.results_up_to_date for t in tests)
    assert order_id not in parts.schedule  # finished: no more polling as an open order
    assert parts.schedule.watching(order_id)  # only re-checked, slowly, for corrections
    history = [e.status for e in parts.store.orders.history(order_id)]
    assert history == ["Pending Payment", "Paid", "Complete"]
    assert await parts.tracker.download_results(order_id) == []  # nothing new


async def test_the_list_finds_orders_placed_elsewhere_and_links_lost_returns(
    sandbox: SandboxServer,
    parts: Parts,
    practitioner_browser: PractitionerBrowser,
    sandbox_control: SandboxControl,
) -> None:
    pages = await parts.tracker.refresh_list()
    assert pages >= 1
    seeded = {e.order_id for e in parts.events if isinstance(e, OrderArrived)}
    assert len(seeded) == len(parts.store.orders.listing())
    parts.events.clear()
    # an order still in progress (the seeded ones include finished orders, which cannot move)
    in_progress = min(t.id for t in parts.store.orders.tracked())

    elsewhere = sandbox_control.create_order()["id"]
    draft_id = await parts.sent_draft(sandbox.url)
    practitioner_browser.submit_checkout(parts.checkout_url(draft_id))  # the return is lost
    sandbox_control.advance_order(in_progress, to="Canceled")
    await parts.tracker.refresh_list()
    arrived = {e.order_id for e in parts.events if isinstance(e, OrderArrived)}
    assert elsewhere in arrived
    assert elsewhere in parts.schedule
    draft = parts.store.drafts.get(draft_id)
    assert draft.state is DraftState.CHECKED_OUT
    assert draft.order_id in arrived
    assert parts.store.orders.row(draft.order_id or "").draft_id == draft_id
    changes = [e for e in parts.events if isinstance(e, StatusChanged)]
    assert [c.status for c in changes] == ["Canceled"]


async def test_an_order_list_whose_next_links_never_end_stops_with_endless_pages(
    sandbox: SandboxServer, parts: Parts
) -> None:
    set_faults(sandbox.url, self_referencing_next=True)
    with pytest.raises(EndlessPages):
        await parts.tracker.refresh_list()
    assert parts.tracker.requests <= 3  # the first page, its own link again, then stopped


async def test_rate_limited_polling_waits_for_retry_after(
    sandbox: SandboxServer, store: Store, app_paths: AppPaths
) -> None:
    async with client_for(sandbox.url, max_rate_limited_attempts=1) as client:
        parts = Parts(client, store, app_paths)
        await parts.tracker.refresh_list()
        order_id = next(iter(t.id for t in store.orders.tracked()))
        parts.tracker.follow(order_id, poll_now=True)
        set_faults(sandbox.url, fault_429_rate=1.0)
        action = parts.schedule.next_action()
        while not isinstance(action, PollOrder):  # skip the list refresh due at start
            action = parts.schedule.next_action()
        await parts.tracker._poll(action)
        waiting = parts.schedule.next_action()
        assert isinstance(waiting, Wait)
        assert waiting.seconds is not None
        assert waiting.seconds >= 0.5  # the simulator says Retry-After: 1


async def test_polling_pauses_offline_and_resumes_when_rupa_answers(
    sandbox_factory: SandboxFactory, store: Store, app_paths: AppPaths
) -> None:
    first = sandbox_factory(clock_speed=0.0)
    port = int(first.url.rsplit(":", 1)[1])
    async with client_for(first.url) as client:
        parts = Parts(
            client,
            store,
            app_paths,
            base_interval_s=0.5,
            list_refresh_interval_s=0.5,
            budget_per_hour=72_000,
            burst=20,
        )
        parts.tracker._probe_waits = (0.2,)
        task = asyncio.create_task(parts.tracker.run())
        try:
            await until(lambda: any(isinstance(e, OrderArrived) for e in parts.events))
            first.stop()
            await until(lambda: ConnectionChanged(False) in parts.events)
            assert not parts.schedule.online
            paused_at = parts.tracker.requests
            await asyncio.sleep(1.0)
            probes = parts.tracker.requests - paused_at
            assert probes <= 6  # one small probe at a time, not polling
            back = sandbox_factory(port=port, clock_speed=0.0)
            await until(lambda: ConnectionChanged(True) in parts.events)
            assert parts.schedule.online
            before = len(api_requests(back.url))
            await asyncio.sleep(1.5)
            assert len(api_requests(back.url)) > before  # polling again
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def until(predicate: object, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s")
        await asyncio.sleep(0.05)


def test_at_start_open_orders_are_followed_and_recently_completed_ones_watched(
    parts: Parts,
) -> None:
    now = datetime.now(UTC)
    recent = now - timedelta(days=CORRECTION_WINDOW_S / DAY - 2)
    old = now - timedelta(days=CORRECTION_WINDOW_S / DAY + 1)
    corrected = OrderedTest("ordts_CCCCCCC", None, date_results_received_from_lab=now)
    parts.store.orders.save_many(
        [
            Order("ord_AAAAAAA", "In Progress", None, date_submitted=old),
            Order("ord_BBBBBBB", "Complete", None, date_completed=recent),
            Order("ord_CCCCCCC", "Complete", None, date_completed=old, ordered_tests=(corrected,)),
            Order("ord_DDDDDDD", "Complete", None, date_completed=old),
            Order("ord_EEEEEEE", "Canceled", None, date_canceled=recent),
        ]
    )
    assert parts.tracker.load() == 1
    assert "ord_AAAAAAA" in parts.schedule
    watched = {o for o in "ABCDE" if parts.schedule.watching(f"ord_{o * 7}")}
    assert watched == {"B", "C"}, "recent results, or a recent correction of old ones"
    assert len(parts.schedule) == 1


def test_results_dir_is_under_the_account(app_paths: AppPaths) -> None:
    assert app_paths.results_dir("demo", "pra_demo").is_relative_to(Path(app_paths.data_dir))


async def test_a_busy_database_does_not_stop_tracking(
    sandbox: SandboxServer, store: Store, app_paths: AppPaths, caplog: pytest.LogCaptureFixture
) -> None:
    """Another connection (the catalog sync) holding the database past the busy timeout."""
    assert store.path is not None
    store.db.execute("PRAGMA busy_timeout = 200")
    async with client_for(sandbox.url) as client:
        parts = Parts(client, store, app_paths, list_refresh_interval_s=0.5, budget_per_hour=72_000)
        blocker = sqlite3.connect(store.path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        task = asyncio.create_task(parts.tracker.run())
        try:
            await until(lambda: "the database was busy" in caplog.text)
            assert not task.done()
            assert store.orders.listing() == []
            blocker.execute("COMMIT")
            await until(lambda: len(store.orders.listing()) > 0)
        finally:
            blocker.close()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


# --- hostile ids (issue 18): result files never land outside their folder -------------------


def pdfs_outside(root: Path, results_dir: Path) -> list[Path]:
    """Every PDF (or part of one) under `root` that is not directly in `results_dir`."""
    return [
        p for p in root.rglob("*") if p.is_file() and ".pdf" in p.name and p.parent != results_dir
    ]


async def test_an_order_with_ordered_test_ids_that_climb_folders_is_refused(
    sandbox: SandboxServer, parts: Parts, sandbox_control: SandboxControl, tmp_path: Path
) -> None:
    order_id = sandbox_control.create_order()["id"]
    sandbox_control.advance_order(order_id, to="Complete")
    sandbox_control.set_faults(hostile_ordered_test_ids=True)
    with pytest.raises(MalformedResponse):
        await parts.tracker.refresh_order(order_id)
    results_dir = parts.tracker._results_dir
    assert pdfs_outside(tmp_path, results_dir) == []
    assert not results_dir.exists() or list(results_dir.iterdir()) == []
    assert parts.store.orders.ordered_tests(order_id) == []  # nothing of it was saved

    sandbox_control.set_faults(hostile_ordered_test_ids=False)  # Rupa is fixed: it arrives
    await parts.tracker.refresh_order(order_id)
    assert [e for e in parts.events if isinstance(e, ResultsDownloaded)]
    assert pdfs_outside(tmp_path, results_dir) == []


@pytest.mark.parametrize(
    ("hostile_order_id", "hostile_test_id"),
    [
        (None, "x/../../../{id}"),
        ("../../{id}", None),
        (None, "x\\..\\..\\..\\{id}"),  # what climbs folders on Windows
        (None, "{id}.pdf/.."),
    ],
)
async def test_result_files_stay_in_their_folder_even_if_the_parser_were_bypassed(
    sandbox: SandboxServer,
    client: RupaClient,
    parts: Parts,
    sandbox_control: SandboxControl,
    tmp_path: Path,
    hostile_order_id: str | None,
    hostile_test_id: str | None,
) -> None:
    order_id = sandbox_control.create_order()["id"]
    sandbox_control.advance_order(order_id, to="Complete")
    order = await client.get_order(order_id)
    assert order.ordered_tests
    # Ids the parser refuses, put straight into the database (as another bug might).
    if hostile_order_id is not None:
        order = dataclasses.replace(order, id=hostile_order_id.format(id=order.id))
    if hostile_test_id is not None:
        tests = tuple(
            dataclasses.replace(t, id=hostile_test_id.format(id=t.id)) for t in order.ordered_tests
        )
        order = dataclasses.replace(order, ordered_tests=tests)
    parts.store.orders.save(order)
    since = sandbox_control.requests()[-1]["seq"]

    refused = False
    try:
        await parts.tracker.download_results(order.id)
    except MalformedResponse:
        refused = True

    assert pdfs_outside(tmp_path, parts.tracker._results_dir) == []
    assert refused
    assert [r for r in sandbox_control.requests(since) if r["path"].endswith(".pdf")] == []
    assert not any(isinstance(e, ResultsDownloaded) for e in parts.events)


async def test_every_request_of_the_tracker_counts_against_its_budget(
    sandbox_factory: SandboxFactory, store: Store, app_paths: AppPaths
) -> None:
    """Status changes bring result PDFs: their downloads are charged like the polls, so the
    requests the simulator serves (its request log) stay within the budget's bucket."""
    rate_per_s, burst, seconds = 3.0, 3, 8.0
    sandbox = sandbox_factory(open_orders=40)
    first_seq = max((r["seq"] for r in api_requests(sandbox.url)), default=0)
    async with client_for(sandbox.url) as client:
        started = time.monotonic()
        parts = Parts(
            client,
            store,
            app_paths,
            base_interval_s=1.0,  # every order hot: the budget, not the intervals, limits
            budget_per_hour=rate_per_s * 3600,
            burst=burst,
            list_refresh_interval_s=4.0,
        )
        tracking = asyncio.create_task(parts.tracker.run())
        with SandboxControl(sandbox.url) as control:
            await until(lambda: len(store.orders.tracked()) >= 30)
            open_ids = [t.id for t in store.orders.tracked()]
            random.Random(3).shuffle(open_ids)
            while time.monotonic() - started < seconds and open_ids:
                await asyncio.to_thread(control.advance_order, open_ids.pop(), "Complete")
                await asyncio.sleep(0.15)
            await asyncio.sleep(max(0.0, seconds - (time.monotonic() - started)))
        tracking.cancel()
        await asyncio.gather(tracking, return_exceptions=True)
        elapsed = time.monotonic() - started
    served = api_requests(sandbox.url, since=first_seq)
    downloads = [e for e in parts.events if isinstance(e, ResultsDownloaded)]
    changes = [e for e in parts.events if isinstance(e, StatusChanged)]
    assert len(changes) >= 5  # the run had many status changes ...
    assert len(downloads) >= 5  # ... and the result PDFs they bring
    assert len(served) == parts.tracker.requests  # the tracker counts what it sends
    # the bucket: a burst, the rate since the schedule began, and the overdraft of the last
    # action (an order's PDFs, or the list with patients' names, charged after they went)
    allowed = burst + rate_per_s * elapsed + 8
    assert len(served) <= allowed, f"{len(served)} requests in {elapsed:.1f} s"


# --- requisitions (issue 13): fetched like result PDFs, kept only when they are PDFs ---------


async def test_a_requisition_is_fetched_fresh_once_the_order_is_paid(
    parts: Parts, sandbox_control: SandboxControl
) -> None:
    order_id = sandbox_control.create_order()["id"]
    await parts.tracker.refresh_order(order_id)
    [first, *_] = parts.store.orders.ordered_tests(order_id)
    assert first.requisition is None  # Pending Payment: Rupa has none yet
    with pytest.raises(NotFound):
        await parts.tracker.download_requisition(order_id, first.id)
    assert parts.tracker.saved_requisition(order_id, first.id) is None

    sandbox_control.advance_order(order_id)  # -> Paid: every test gets its requisition
    await parts.tracker.refresh_order(order_id)
    [first, *_] = parts.store.orders.ordered_tests(order_id)
    assert first.requisition is not None
    since = sandbox_control.requests()[-1]["seq"]
    path = await parts.tracker.download_requisition(order_id, first.id)
    assert path.parent == parts.tracker._results_dir
    assert path.read_bytes().startswith(b"%PDF-")
    assert parts.tracker.saved_requisition(order_id, first.id) == path
    fetched = [r["path"] for r in sandbox_control.requests(since)]
    assert fetched == [f"/ordered_tests/{first.id}/requisition.pdf"]
    await parts.tracker.download_requisition(order_id, first.id)  # asked again: fetched again
    assert len(sandbox_control.requests(since)) == 2
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no leftovers


async def test_a_requisition_that_is_not_a_pdf_is_refused_and_the_saved_one_kept(
    parts: Parts, sandbox_control: SandboxControl
) -> None:
    order_id = sandbox_control.create_order()["id"]
    sandbox_control.advance_order(order_id)  # -> Paid
    await parts.tracker.refresh_order(order_id)
    test_id = parts.store.orders.ordered_tests(order_id)[0].id
    saved = await parts.tracker.download_requisition(order_id, test_id)
    good = saved.read_bytes()

    sandbox_control.set_faults(requisition_not_pdf=True)
    with pytest.raises(NotAPdf):
        await parts.tracker.download_requisition(order_id, test_id)
    assert saved.read_bytes() == good  # the earlier copy is untouched
    assert sorted(p.name for p in saved.parent.iterdir()) == [saved.name]  # nothing else kept


async def test_a_result_pdf_that_is_not_a_pdf_is_not_kept_and_comes_later(
    parts: Parts, sandbox_control: SandboxControl
) -> None:
    """A results link answering with a web page: nothing is kept nor marked downloaded; the
    next download, once the link gives the PDF, keeps it."""
    order_id = sandbox_control.create_order()["id"]
    sandbox_control.set_faults(results_not_pdf=True)
    sandbox_control.advance_order(order_id, to="Complete")
    await parts.tracker.refresh_order(order_id)  # tries, warns, goes on (the next poll retries)
    assert [e for e in parts.events if isinstance(e, ResultsDownloaded)] == []
    tests = parts.store.orders.ordered_tests(order_id)
    assert tests
    assert not any(t.results_up_to_date for t in tests)
    with pytest.raises(NotAPdf):
        await parts.tracker.download_results(order_id)
    results_dir = parts.tracker._results_dir
    assert not results_dir.exists() or list(results_dir.iterdir()) == []

    sandbox_control.set_faults(results_not_pdf=False)
    saved = await parts.tracker.download_results(order_id)
    assert len(saved) == len(tests)
    assert all(path.read_bytes().startswith(b"%PDF-") for path in saved)
    assert sorted(p.name for p in results_dir.iterdir()) == sorted(p.name for p in saved)
