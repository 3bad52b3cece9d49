"""Benchmark of order polling: its cost in requests and its effect on the UI's event loop.

    .venv/bin/python -m tests.bench.bench_orders [--orders 500] [--seconds 60]
        [--advance-per-s 2]

The simulator runs in its own process (so it does not compete for this process's GIL) with
`--orders` non-terminal orders of the demo clinic. This process then:

1. reads the order list once with the app's `OrderTracker` (the first refresh after sign-in:
   every page, and the patients' names) and reports how long it took;
2. requests per hour: drives the app's `PollSchedule` (the production policy: 2.5 % of the
   20 requests/s limit, Settings' default 60 s interval) with the ages of those orders over
   three simulated hours on a fake clock, and counts the requests of the steady third hour
   (and of the first, which includes start-up), as a share of the rate limit;
3. event-loop stalls, with the real Orders presenter and pane attached to the tracker (the
   pane shown, the whole clinic's orders listed): a probe coroutine measures how late a
   5 ms timer fires (a) during the first list refresh, which finds every order at once, and
   (b) for `--seconds` of stress polling (every order treated as just checked out, half the
   rate limit as budget, the whole list refreshed every 15 s: far more polling than
   production ever does) while the simulator advances `--advance-per-s` random orders a
   second, so status changes reach the pane. Reports requests made, the stall percentiles
   (target: p99 <= 50 ms), and, since a percentile counts a long stall as one probe like
   any other, the five longest stalls and the time stalled in all.

Figures from a shared, loaded machine are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from rupa_desk.core.polling import (
    HOUR,
    PollingPolicy,
    PollOrder,
    PollSchedule,
    RefreshList,
    Wait,
)
from rupa_desk.services.checkout_linking import CheckoutLinker
from rupa_desk.services.order_tracking import OrderTracker, TrackingEvent
from rupa_desk.services.store import Store
from tests.bench.simulator_process import simulator_process
from tests.fixtures.orders_env import client_for

RATE_LIMIT_PER_S = 20.0
PROBE_INTERVAL_S = 0.005
FRAME_MS = 16.7


def orders_simulator(open_orders: int) -> AbstractContextManager[str]:
    """The simulator in its own process with `open_orders` non-terminal orders."""
    return simulator_process(
        *("--lab-tests", "300", "--orders", "0", "--open-orders", str(open_orders)),
        *("--clock-speed", "0", "--seed", "7"),
    )


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def simulated_hours(ages_s: list[float], list_pages: int, hours: int = 3) -> list[int]:
    """Requests in each simulated hour of the production schedule for orders of these ages."""
    clock = FakeClock()
    policy = PollingPolicy.within_rate_limit(RATE_LIMIT_PER_S, base_interval_s=60)
    schedule = PollSchedule(policy, clock=clock, rng=random.Random(7))
    for index, age in enumerate(ages_s):
        schedule.track(f"ord_{index:07d}", age_s=age)
    per_hour = [0] * hours
    end = hours * HOUR
    while clock.now < end:
        action = schedule.next_action()
        if isinstance(action, Wait):
            clock.now += min(action.seconds if action.seconds is not None else end, end - clock.now)
            clock.now += 1e-9
            continue
        hour = int(clock.now // HOUR)
        if isinstance(action, RefreshList):
            per_hour[hour] += list_pages
            schedule.record_requests(list_pages)
            schedule.list_refreshed(list_pages)
        elif isinstance(action, PollOrder):
            per_hour[hour] += 1
            schedule.record_requests()
            schedule.polled(action.order_id, changed=False)
    return per_hour


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return ordered[index]


async def probe_stalls(stop: asyncio.Event, stalls: list[float]) -> None:
    """How late a 5 ms timer fires, over and over, until stopped."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        started = loop.time()
        await asyncio.sleep(PROBE_INTERVAL_S)
        stalls.append(max(0.0, loop.time() - started - PROBE_INTERVAL_S) * 1000)


@dataclass
class Stalls:
    """What the probe saw: each probe's lateness in ms, and how long it watched."""

    late_ms: list[float] = field(default_factory=list)
    watched_s: float = 0.0

    def lines(self) -> list[str]:
        """The percentiles per probe, then the longest stalls and the time stalled in all.

        A percentile counts probes, so one long stall is one sample however long it is; the
        longest stalls and their sum show what the percentiles hide.
        """
        late = self.late_ms
        p50, p95, p99 = (percentile(late, q) for q in (0.50, 0.95, 0.99))
        longest = ", ".join(f"{value:.1f}" for value in sorted(late, reverse=True)[:5])
        total = sum(late)
        share = total / 1000 / self.watched_s if self.watched_s else float("nan")
        over_a_frame = sum(value for value in late if value > FRAME_MS)
        return [
            f"event-loop stall ms: p50 {p50:.1f}  p95 {p95:.1f}  p99 {p99:.1f}"
            f"  max {max(late):.1f}  over {len(late)} probes  (target p99 <= 50)",
            f"longest stalls ms: {longest}; stalled in all {total:.0f} ms of "
            f"{self.watched_s:.1f} s watched ({share:.1%}), {over_a_frame:.0f} ms of it in "
            f"stalls longer than a frame ({FRAME_MS} ms)",
        ]


@asynccontextmanager
async def stall_probe() -> AsyncIterator[Stalls]:
    """Measure event-loop stalls while the body runs."""
    seen = Stalls()
    stop = asyncio.Event()
    started = time.perf_counter()
    probe = asyncio.create_task(probe_stalls(stop, seen.late_ms))
    try:
        yield seen
    finally:
        stop.set()
        await probe
        seen.watched_s = time.perf_counter() - started


async def advance_orders(url: str, order_ids: list[str], per_second: float) -> int:
    """Advance random orders on the simulator (status changes for the poller to find)."""
    rng = random.Random(11)
    advanced = 0
    async with httpx.AsyncClient(timeout=30) as http:
        while per_second > 0:
            await asyncio.sleep(1 / per_second)
            response = await http.post(
                f"{url}/_sim/orders/{rng.choice(order_ids)}/advance", json={}
            )
            advanced += response.status_code == 200
    return advanced


class Ui:
    """The Orders presenter and pane as the app builds them, attached to a tracker."""

    def __init__(self, store: Store, practitioner_id: str) -> None:
        from rupa_desk.ui.components.notifier import DesktopNotifier
        from rupa_desk.ui.messages import MessageBridge
        from rupa_desk.ui.pages.orders import OrdersPage
        from rupa_desk.ui.presenters.orders import OrdersPresenter

        self.bridge = MessageBridge()
        self.bridge.attach()
        self.notifier = DesktopNotifier(self.bridge, use_tray=False)
        self.notifications = 0
        self.notifier.notified.connect(self._on_notifier_notified)
        self._store = store
        self._practitioner_id = practitioner_id
        self.presenter: OrdersPresenter | None = None
        self.page: OrdersPage | None = None
        self._classes = (OrdersPresenter, OrdersPage)

    def _on_notifier_notified(self, title: str, text: str) -> None:
        self.notifications += 1

    def attach(self, tracker: OrderTracker) -> None:
        presenter_class, page_class = self._classes
        self.presenter = presenter_class(
            self._store.orders,
            tracker,
            self.notifier,
            self.bridge,
            practitioner_id=self._practitioner_id,
        )
        self.page = page_class(self.presenter)
        self.page.whole_clinic.setChecked(True)  # every order listed: the worst case
        self.page.resize(1180, 760)
        self.page.show()

    def on_event(self, event: TrackingEvent) -> None:
        if self.presenter is not None:
            self.presenter.on_tracking_event(event)

    def listed(self) -> int:
        assert self.page is not None
        return self.page.table.model().rowCount()

    def close(self) -> None:
        if self.presenter is not None:
            self.presenter.close()
        if self.page is not None:
            self.page.close()
            self.page.deleteLater()
        self.notifier.close()


async def run(url: str, seconds: float, advance_per_s: float, folder: Path) -> None:
    with Store.open(folder / "bench.sqlite3") as store:
        async with client_for(url, max_attempts=5) as client:
            me = await client.me()
            ui = Ui(store, me.id)

            def tracker_with(policy: PollingPolicy) -> OrderTracker:
                return OrderTracker(
                    client,
                    store.orders,
                    store.patients,
                    CheckoutLinker(client, store.drafts, store.orders),
                    PollSchedule(policy, clock=time.monotonic),
                    results_dir=folder / "results",
                    on_event=ui.on_event,
                )

            first = tracker_with(PollingPolicy.within_rate_limit(RATE_LIMIT_PER_S))
            ui.attach(first)
            await asyncio.sleep(0.2)  # the pane painted (empty)
            async with stall_probe() as first_stalls:
                started = time.perf_counter()
                requests = await first.refresh_list()
                first_refresh_s = time.perf_counter() - started
                await asyncio.sleep(0.5)  # updates the UI defers land inside the probe
            tracked = store.orders.tracked()
            now = datetime.now(UTC)
            ages = [(now - t.last_change_at).total_seconds() for t in tracked]
            list_pages = math.ceil(len(store.orders.listing()) / 100)
            median_days = statistics.median(ages) / 86400
            youngest_h = min(ages) / 3600
            print(f"orders tracked (non-terminal): {len(tracked)}")
            print(
                f"first list refresh, Orders pane attached: {requests} requests in "
                f"{first_refresh_s:.2f} s; {ui.listed()} rows listed"
            )
            for line in first_stalls.lines():
                print(f"  {line}")
            print(f"order ages: median {median_days:.1f} days, youngest {youngest_h:.1f} h")

            per_hour = simulated_hours(ages, list_pages)
            limit_per_hour = RATE_LIMIT_PER_S * HOUR
            print()
            print("production schedule (2.5 % budget, 60 s interval), simulated 3 hours:")
            for hour, count in enumerate(per_hour, start=1):
                share = count / limit_per_hour
                print(
                    f"  hour {hour}: {count:6d} requests/h = {share:6.2%} of the "
                    f"{limit_per_hour:,.0f}/h rate limit"
                )

            stress = tracker_with(
                PollingPolicy(
                    base_interval_s=1.0,
                    budget_per_hour=RATE_LIMIT_PER_S * HOUR * 0.5,
                    burst=20,
                    list_refresh_interval_s=15.0,
                )
            )
            for order in tracked:  # every order fresh: polled as fast as the budget allows
                stress.schedule.track(order.id, age_s=0)
            notified_before = ui.notifications
            async with stall_probe() as stalls:
                polling = asyncio.create_task(stress.run())
                advancing = asyncio.create_task(
                    advance_orders(url, [t.id for t in tracked], advance_per_s)
                )
                await asyncio.sleep(seconds)
                for task in (polling, advancing):
                    task.cancel()
                await asyncio.gather(polling, advancing, return_exceptions=True)
            made = stress.requests
            print()
            print(f"stress polling on a qasync loop for {seconds:.0f} s with the Orders pane")
            print(
                "  (every order fresh, budget = half the rate limit, list refresh every 15 s,"
                f" {advance_per_s:g} orders advanced/s on the simulator; far beyond production):"
            )
            print(
                f"  requests: {made} ({made / seconds:.1f}/s), notifications shown: "
                f"{ui.notifications - notified_before}"
            )
            for line in stalls.lines():
                print(f"  {line}")
            ui.close()
    async with httpx.AsyncClient(timeout=30) as http:
        responses = (await http.get(url + "/_sim/requests")).json()["requests"]
    limited = sum(1 for r in responses if r.get("status") == 429)
    print(f"  429 answers from the simulator: {limited}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--advance-per-s", type=float, default=2.0)
    args = parser.parse_args(argv)

    from PySide6.QtWidgets import QApplication

    from rupa_desk.ui.event_loop import AppEventLoop

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(["bench-orders"])
    app.setQuitOnLastWindowClosed(False)  # closing the pane must not stop the loop
    with orders_simulator(args.orders) as url, tempfile.TemporaryDirectory() as tmp:
        print(f"simulator: {url} with {args.orders} non-terminal orders (machine shared, loaded)")
        with asyncio.Runner(loop_factory=lambda: AppEventLoop(app)) as runner:
            runner.run(run(url, args.seconds, args.advance_per_s, Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
