"""Structured results (`results_hl7`) fetched by the order tracker from the simulator over
real loopback HTTP, read where they are stored, replaced by newer versions, and marked."""

from __future__ import annotations

import asyncio
import io
import json
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator

import keyring
import pytest

from rupa_desk.__main__ import build_parser
from rupa_desk.cli import account, results
from rupa_desk.cli.results import show_results
from rupa_desk.core.hl7_results import COLUMNS
from rupa_desk.core.polling import PollingPolicy, PollSchedule
from rupa_desk.paths import AppPaths
from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.services.api import RupaClient
from rupa_desk.services.checkout_linking import CheckoutLinker
from rupa_desk.services.order_tracking import (
    OrderTracker,
    StructuredResultsArrived,
    TrackingEvent,
)
from rupa_desk.services.store import Store
from rupa_desk.services.store.lab_results import InboxItem
from tests.fixtures.browser import PractitionerBrowser
from tests.fixtures.fake_keyring import DictKeyring, installed_keyring  # noqa: F401
from tests.fixtures.orders_env import client_for
from tests.fixtures.rupa_client import PlayedBrowser
from tests.fixtures.sandbox import SandboxControl


@pytest.fixture
def store(app_paths: AppPaths) -> Iterator[Store]:
    with Store.for_account(app_paths, "demo", "pra_demo") as store:
        yield store


@pytest.fixture
async def client(sandbox: SandboxServer) -> AsyncIterator[RupaClient]:
    async with client_for(sandbox.url) as client:
        yield client


class Tracking:
    def __init__(
        self,
        client: RupaClient,
        store: Store,
        app_paths: AppPaths,
        policy: PollingPolicy | None = None,
    ) -> None:
        self.events: list[TrackingEvent] = []
        self.results_dir = app_paths.results_dir("demo", "pra_demo")
        self.schedule = PollSchedule(
            policy or PollingPolicy(), clock=time.monotonic, rng=random.Random(1)
        )
        self.tracker = OrderTracker(
            client,
            store.orders,
            store.patients,
            CheckoutLinker(client, store.drafts, store.orders, on_linked=lambda linked: None),
            self.schedule,
            results_dir=self.results_dir,
            on_event=self.events.append,
            lab_results=store.lab_results,
        )

    def arrived(self) -> list[StructuredResultsArrived]:
        found = [e for e in self.events if isinstance(e, StructuredResultsArrived)]
        self.events.clear()
        return found


@pytest.fixture
def tracking(client: RupaClient, store: Store, app_paths: AppPaths) -> Tracking:
    return Tracking(client, store, app_paths)


async def test_preliminary_then_final_then_corrected_replace_each_other(
    tracking: Tracking, store: Store, sandbox_control: SandboxControl
) -> None:
    order_id = sandbox_control.create_order()["id"]  # one test: preliminary at Partial Results
    sandbox_control.advance_order(order_id, to="Partial Results")
    await tracking.tracker.refresh_order(order_id)
    [first] = tracking.arrived()
    test_id = first.saved.ordered_test_id
    preliminary = store.lab_results.results(test_id)
    assert preliminary is not None
    assert preliminary.status == "Pending"
    assert preliminary.pending, "what is still to come is named"
    assert "Pending" in {row.value for row in preliminary.rows}
    assert not list(tracking.results_dir.glob("*.hl7")), "the message is kept in the database"

    await tracking.tracker.refresh_order(order_id)
    assert tracking.arrived() == [], "nothing new: nothing fetched again"

    sandbox_control.advance_order(order_id, to="Complete")
    await tracking.tracker.refresh_order(order_id)
    [final_event] = tracking.arrived()
    final = store.lab_results.results(test_id)
    assert final is not None
    assert final.status == "Final"
    assert final.pending == ()
    assert {row.status for row in final.rows} == {"Final"}
    assert final_event.saved.changed == len(preliminary.pending), "the pending ones arrived"

    inbox_before = {i.analyte: i for i in store.lab_results.inbox()}
    store.lab_results.mark_told([i.id for i in inbox_before.values()], "Front desk")
    sandbox_control.correct_results(test_id)
    await tracking.tracker.refresh_order(order_id)
    [corrected_event] = tracking.arrived()
    assert corrected_event.saved.corrected == 1
    assert corrected_event.saved.changed == 1
    corrected = store.lab_results.results(test_id)
    assert corrected is not None
    assert corrected.corrected
    assert corrected.status == "Corrected"
    [row] = [r for r in corrected.rows if r.status == "Corrected"]
    assert "previously reported" in row.comments
    told = {i.analyte: i.told_by for i in store.lab_results.inbox()}
    assert told[row.analyte] is None, "a corrected value must be told again"
    assert sum(1 for who in told.values() if who == "Front desk") == len(told) - 1


async def until(predicate: Callable[[], bool], within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s")
        await asyncio.sleep(0.05)


async def test_a_correction_after_completion_is_fetched_by_tracking_alone(
    client: RupaClient, store: Store, app_paths: AppPaths, sandbox_control: SandboxControl
) -> None:
    """Nobody opens or refreshes the order: tracking completes it, then keeps re-checking
    it slowly, and the corrected value reaches the inbox without its "Patient told"."""
    finished_interval_s = 1.0
    tracking = Tracking(
        client,
        store,
        app_paths,
        PollingPolicy(
            base_interval_s=0.2,  # open orders: every 0.1 s at first
            finished_interval_s=finished_interval_s,
            budget_per_hour=36_000,
            list_refresh_interval_s=3600,
            jitter=0.1,
        ),
    )
    order_id = sandbox_control.create_order()["id"]
    order_path = f"/orders/{order_id}"
    running = asyncio.create_task(tracking.tracker.run())
    try:
        tracking.tracker.follow(order_id)  # as after checkout
        await asyncio.to_thread(sandbox_control.advance_order, order_id, "Complete")

        def ours() -> list[InboxItem]:
            return [i for i in store.lab_results.inbox() if i.order_id == order_id]

        await until(lambda: bool(ours()) and tracking.schedule.watching(order_id))
        [test] = store.orders.ordered_tests(order_id)
        final = store.lab_results.results(test.id)
        assert final is not None
        assert final.status == "Final"
        assert order_id not in tracking.schedule, "no longer polled as an open order"
        store.lab_results.mark_told([i.id for i in ours()], "Front desk")

        # completed: re-checked at the slow cadence, not the open orders' one
        since = max((r["seq"] for r in sandbox_control.requests()), default=0)
        watched_for = 3.0
        await asyncio.sleep(watched_for)
        checks = [
            r for r in await asyncio.to_thread(sandbox_control.requests, since)
            if r["path"] == order_path
        ]  # fmt: skip
        most = watched_for / (finished_interval_s * 0.9) + 1
        assert 1 <= len(checks) <= most, f"{len(checks)} checks in {watched_for} s"

        await asyncio.to_thread(sandbox_control.correct_results, test.id)
        await until(lambda: (store.lab_results.results(test.id) or final).corrected)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    corrected = store.lab_results.results(test.id)
    assert corrected is not None
    assert corrected.status == "Corrected"
    [row] = [r for r in corrected.rows if r.status == "Corrected"]
    inbox = {i.analyte: i for i in ours()}
    assert inbox[row.analyte].status == "Corrected"
    assert inbox[row.analyte].told_by is None, "a corrected value must be told again"
    assert all(i.told_by == "Front desk" for a, i in inbox.items() if a != row.analyte)
    assert [e.saved.corrected for e in tracking.arrived()][-1] == 1
    assert tracking.schedule.watching(order_id), "a correction restarts the window"


async def test_an_unreadable_message_is_kept_with_words_and_the_pdf_still_comes(
    tracking: Tracking, store: Store, sandbox_control: SandboxControl
) -> None:
    sandbox_control.set_faults(hl7_malformed=True)
    order_id = sandbox_control.create_order(status="Complete")["id"]
    await tracking.tracker.refresh_order(order_id)
    [event] = tracking.arrived()
    assert "could not be read" in event.saved.error
    results = store.lab_results.results(event.saved.ordered_test_id)
    assert results is not None
    assert results.rows == ()
    assert "PDF" in results.error
    [test] = store.orders.ordered_tests(order_id)
    assert test.results_file is not None
    assert test.results_file.exists()


async def test_the_inbox_lists_abnormal_results_not_told_and_counts_what_is_new(
    tracking: Tracking, store: Store, sandbox_control: SandboxControl
) -> None:
    order_id = sandbox_control.create_order(status="Complete")["id"]
    await tracking.tracker.refresh_order(order_id)
    everything = store.lab_results.inbox()
    assert everything
    assert store.lab_results.unseen_count() == len(everything)
    store.lab_results.mark_inbox_seen()
    assert store.lab_results.unseen_count() == 0
    abnormal = store.lab_results.inbox(abnormal_not_told=True)
    assert abnormal, "the seeded order has flagged results"
    assert all(item.abnormal for item in abnormal)
    assert [i.id for i in abnormal] == [i.id for i in everything if i.abnormal]
    store.lab_results.mark_reviewed([abnormal[0].id], "Dr. Ada")
    store.lab_results.mark_told([abnormal[0].id], "Front desk")
    left = store.lab_results.inbox(abnormal_not_told=True)
    assert abnormal[0].id not in {i.id for i in left}
    [marked] = [i for i in store.lab_results.inbox() if i.id == abnormal[0].id]
    assert (marked.reviewed_by, marked.told_by) == ("Dr. Ada", "Front desk")
    assert marked.told_at is not None


async def test_the_command_line_prints_the_results_as_the_pane_shows_them(
    tracking: Tracking, store: Store, sandbox_control: SandboxControl
) -> None:
    order_id = sandbox_control.create_order()["id"]
    sandbox_control.advance_order(order_id, to="Partial Results")
    await tracking.tracker.refresh_order(order_id)
    [test] = store.orders.ordered_tests(order_id)
    results = store.lab_results.results(test.id)
    assert results is not None

    as_json = io.StringIO()
    assert show_results(store, order_id, as_json=True, out=as_json) == 0
    [printed] = [json.loads(line) for line in as_json.getvalue().splitlines()]
    assert printed["rows"] == [row.as_dict() for row in results.rows]
    assert printed["summary"] == results.summary
    assert "still to come" in printed["summary"]

    table = io.StringIO()
    show_results(store, order_id, as_json=False, out=table)
    lines = table.getvalue().splitlines()
    assert lines[1].strip() == results.summary
    assert lines[2].split() == list(COLUMNS)
    for row, line in zip(results.rows, lines[3:], strict=False):
        for cell in row.cells():
            assert cell.replace("\n", " / ") in line

    args = build_parser().parse_args(["results", "show", order_id, "--json"])
    assert (args.command, args.results_command, args.order_id, args.json) == (
        "results",
        "show",
        order_id,
        True,
    )


@pytest.mark.usefixtures("installed_keyring")
def test_results_show_end_to_end_after_signin(
    sandbox: SandboxServer,
    practitioner_browser: PractitionerBrowser,
    sandbox_control: SandboxControl,
    app_paths: AppPaths,
    capsys: pytest.CaptureFixture[str],
) -> None:
    keyring.set_keyring(DictKeyring())
    parse = build_parser().parse_args
    demo = ["--env", "demo", "--demo-url", sandbox.url]
    signed_in = account.run(
        parse(["signin", *demo]),
        paths=app_paths,
        opener=PlayedBrowser(practitioner_browser),
        out=io.StringIO(),
    )
    assert signed_in == 0, capsys.readouterr().err
    order_id = sandbox_control.create_order(status="Complete")["id"]

    async def fetch_as_the_app_does() -> None:
        async with client_for(sandbox.url) as client:
            me = await client.me()
            with Store.for_account(app_paths, "demo", me.id) as store:
                await Tracking(client, store, app_paths).tracker.refresh_order(order_id)

    asyncio.run(fetch_as_the_app_does())
    out = io.StringIO()
    assert results.run(parse(["results", "show", order_id, "--json", *demo]), paths=app_paths,
                       out=out) == 0  # fmt: skip
    [printed] = [json.loads(line) for line in out.getvalue().splitlines()]
    assert printed["status"] == "Final"
    assert printed["rows"]
    assert all(row["status"] == "Final" for row in printed["rows"])

    unknown = parse(["results", "show", "ord_Nowhere1", *demo])
    assert results.run(unknown, paths=app_paths, out=io.StringIO()) == 2
    assert "not on this computer" in capsys.readouterr().err
    refused = parse(["results", "show", "../etc", *demo])
    assert results.run(refused, paths=app_paths, out=io.StringIO()) == 2
