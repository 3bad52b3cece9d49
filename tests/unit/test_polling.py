"""The adaptive polling schedule, driven by a fake clock."""

from __future__ import annotations

import random
from collections import Counter
from itertools import pairwise

import pytest

from rupa_desk.core.polling import (
    CORRECTION_WINDOW_S,
    DAY,
    FINISHED_INTERVAL_S,
    HOUR,
    PollAction,
    PollingPolicy,
    PollOrder,
    PollSchedule,
    RefreshList,
    Wait,
)


class FakeClock:
    """Monotonic seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def schedule(clock: FakeClock, **policy: float) -> PollSchedule:
    return PollSchedule(PollingPolicy(**policy), clock=clock, rng=random.Random(7))  # type: ignore[arg-type]


def run(
    sched: PollSchedule,
    clock: FakeClock,
    seconds: float,
    *,
    changes: set[str] | None = None,
    list_pages: int = 1,
) -> list[tuple[float, str]]:
    """Play the poller for `seconds` of fake time; returns (time, what) for every request."""
    end = clock.now + seconds
    log: list[tuple[float, str]] = []
    while clock.now < end:
        action = sched.next_action()
        if isinstance(action, Wait):
            if action.seconds is None:
                break
            clock.advance(min(action.seconds, end - clock.now) or 1e-6)
        elif isinstance(action, RefreshList):
            log.extend((clock.now, "list") for _ in range(list_pages))
            sched.record_requests(list_pages)
            sched.list_refreshed(list_pages)
        else:
            log.append((clock.now, action.order_id))
            sched.record_requests()
            sched.polled(action.order_id, changed=action.order_id in (changes or set()))
    return log


def take(sched: PollSchedule) -> PollAction:
    """The next action, its one request made (and charged) at once if it is one."""
    action = sched.next_action()
    if not isinstance(action, Wait):
        sched.record_requests()
    return action


def seconds_until_polled(sched: PollSchedule, clock: FakeClock, order_id: str) -> float:
    """How long until the schedule hands out `order_id` (list refreshes on the way are
    answered with one page, other orders as unchanged; nothing is charged)."""
    start = clock.now
    while True:
        action = sched.next_action()
        if action == PollOrder(order_id):
            return clock.now - start
        if isinstance(action, Wait):
            assert action.seconds is not None
            clock.advance(action.seconds)
        elif isinstance(action, RefreshList):
            sched.list_refreshed(1)
        else:
            sched.polled(action.order_id, changed=False)


def test_the_list_is_refreshed_first_then_on_its_interval() -> None:
    clock = FakeClock()
    sched = schedule(clock, jitter=0.0)
    log = run(sched, clock, 3600)
    lists = [t for t, what in log if what == "list"]
    assert len(lists) == 6  # at once, then every 600 s
    assert lists[1] - lists[0] == pytest.approx(600)


def test_intervals_grow_with_the_age_of_the_last_status_change() -> None:
    policy = PollingPolicy(base_interval_s=60)
    assert policy.interval_for_age(0) == 30  # right after checkout
    assert policy.interval_for_age(30 * 60) == 60
    assert policy.interval_for_age(5 * HOUR) == 300
    assert policy.interval_for_age(3 * DAY) == 900
    assert policy.interval_for_age(30 * DAY) == HOUR
    assert PollingPolicy(base_interval_s=600).interval_for_age(30 * DAY) == 6 * HOUR  # capped


def test_a_fresh_order_is_polled_sooner_than_an_old_one() -> None:
    clock = FakeClock()
    sched = schedule(clock)
    sched.track("ord_fresh00", age_s=0)
    sched.track("ord_old0000", age_s=30 * DAY)
    counts = Counter(what for _, what in run(sched, clock, 2 * HOUR))
    assert counts["ord_old0000"] in (1, 2, 3)
    assert counts["ord_fresh00"] >= 100  # every ~30 s, then every ~60 s after 15 minutes


def test_jitter_spreads_orders_that_were_tracked_together() -> None:
    clock = FakeClock()
    sched = schedule(clock, jitter=0.2, budget_per_hour=100_000)
    for i in range(50):
        sched.track(f"ord_{i:07d}", age_s=HOUR)
    start = clock.now
    dues = [0.0] * 50
    for t, what in run(sched, clock, 73):
        if what != "list":
            dues[int(what[4:])] = t - start
    assert min(dues) >= 48
    assert max(dues) <= 72
    assert len({round(d, 3) for d in dues}) == 50
    assert max(dues) - min(dues) > 10


def test_without_jitter_intervals_are_exact() -> None:
    clock = FakeClock()
    sched = schedule(clock, jitter=0.0)
    sched.track("ord_AAAAAAA", age_s=HOUR)
    assert seconds_until_polled(sched, clock, "ord_AAAAAAA") == 60


def test_a_status_change_makes_an_old_order_hot_again() -> None:
    clock = FakeClock()
    sched = schedule(clock, jitter=0.0)
    sched.track("ord_AAAAAAA", age_s=30 * DAY, poll_now=True)
    run(sched, clock, 1)  # the list, then the order
    assert seconds_until_polled(sched, clock, "ord_AAAAAAA") == pytest.approx(HOUR, abs=1)
    sched.polled("ord_AAAAAAA", changed=False)
    sched.track("ord_AAAAAAA", age_s=30 * DAY, poll_now=True)
    assert sched.next_action() == PollOrder("ord_AAAAAAA")
    sched.polled("ord_AAAAAAA", changed=True)
    assert seconds_until_polled(sched, clock, "ord_AAAAAAA") == pytest.approx(30)


def test_terminal_orders_stop_being_polled() -> None:
    clock = FakeClock()
    sched = schedule(clock)
    sched.track("ord_AAAAAAA", age_s=0)
    sched.track("ord_BBBBBBB", age_s=0)
    sched.untrack("ord_AAAAAAA")
    sched.untrack("ord_unknown")
    assert "ord_AAAAAAA" not in sched
    assert len(sched) == 1
    polled = {what for _, what in run(sched, clock, HOUR)}
    assert polled == {"list", "ord_BBBBBBB"}


def test_retry_after_is_a_floor_for_everything() -> None:
    clock = FakeClock()
    sched = schedule(clock)
    sched.track("ord_AAAAAAA", age_s=0, poll_now=True)
    sched.defer(120)
    action = sched.next_action()
    assert action == Wait(pytest.approx(120))
    log = run(sched, clock, 300)
    assert log[0][0] >= 1120
    sched.defer(-5)  # nonsense is ignored
    sched.defer(0)


def test_offline_pauses_everything_and_coming_back_refreshes_the_list() -> None:
    clock = FakeClock()
    sched = schedule(clock)
    sched.track("ord_AAAAAAA", age_s=0)
    run(sched, clock, 100)
    sched.set_online(False)
    assert not sched.online
    assert sched.next_action() == Wait(None)
    clock.advance(HOUR)
    assert sched.next_action() == Wait(None)
    sched.set_online(True)
    assert sched.next_action() == RefreshList()
    assert sched.next_action() == PollOrder("ord_AAAAAAA")  # overdue, so at once


def test_failures_back_off_and_success_resets() -> None:
    clock = FakeClock()
    sched = schedule(clock, jitter=0.0)
    sched.track("ord_AAAAAAA", age_s=HOUR)
    waits = []
    for _ in range(5):
        sched.poll_failed("ord_AAAAAAA")
        waits.append(seconds_until_polled(sched, clock, "ord_AAAAAAA"))
    assert waits == [120, 240, 480, 960, 1920]
    for _ in range(10):
        sched.poll_failed("ord_AAAAAAA")
    assert seconds_until_polled(sched, clock, "ord_AAAAAAA") == HOUR
    sched.track("ord_AAAAAAA", age_s=HOUR)  # as old as at first (hours passed meanwhile)
    sched.polled("ord_AAAAAAA", changed=False)
    assert seconds_until_polled(sched, clock, "ord_AAAAAAA") == 60
    sched.poll_failed("ord_unknown")
    sched.polled("ord_unknown", changed=True)


def test_500_fresh_orders_stay_within_the_budget() -> None:
    """More demand than budget: intervals stretch, the hourly count stays under budget."""
    clock = FakeClock()
    sched = schedule(clock, budget_per_hour=1800, burst=10)
    for i in range(500):
        sched.track(f"ord_{i:07d}", age_s=0)
    log = run(sched, clock, 6 * HOUR, list_pages=5)
    for hour in range(6):
        start = 1000 + hour * HOUR
        in_hour = [t for t, _ in log if start <= t < start + HOUR]
        assert len(in_hour) <= 1800 + 10
    last_hour = [t for t, _ in log if t >= 1000 + 5 * HOUR]
    assert len(last_hour) >= 1400  # in steady state the budget is used, not wasted
    per_order = Counter(what for _, what in log)
    polled_orders = [n for what, n in per_order.items() if what != "list"]
    assert len(polled_orders) == 500  # nobody starves


def test_500_old_orders_cost_a_small_share_of_the_rate_limit() -> None:
    clock = FakeClock()
    sched = PollSchedule(PollingPolicy.within_rate_limit(20.0), clock=clock, rng=random.Random(1))
    for i in range(500):
        sched.track(f"ord_{i:07d}", age_s=10 * DAY)
    log = run(sched, clock, 4 * HOUR, list_pages=5)
    hourly = len([t for t, _ in log if t >= 1000 + 3 * HOUR])
    assert 450 <= hourly <= 650  # ~hourly each, plus the list
    assert hourly / (20 * HOUR) < 0.01


def test_the_burst_is_limited_after_coming_back_online() -> None:
    clock = FakeClock()
    sched = schedule(clock, burst=5, budget_per_hour=360)
    for i in range(50):
        sched.track(f"ord_{i:07d}", age_s=0, poll_now=True)
    immediate = 0
    while not isinstance(take(sched), Wait):
        immediate += 1
    assert immediate == 5
    action = sched.next_action()
    assert isinstance(action, Wait)
    assert action.seconds == pytest.approx(10)  # 360/h is one every 10 s


def test_a_long_list_charges_its_pages_and_is_refreshed_less_often() -> None:
    clock = FakeClock()
    sched = schedule(clock, budget_per_hour=360, jitter=0.0)
    assert sched.next_action() == RefreshList()
    sched.record_requests(40)
    sched.list_refreshed(pages=40)
    sched.track("ord_AAAAAAA", age_s=0, poll_now=True)
    action = sched.next_action()
    assert isinstance(action, Wait)
    # 10 tokens - 40 requests = -30: the debt is paid by waiting, one token per 10 s
    assert action.seconds == pytest.approx(310)
    # 40 pages at most half of 360/h: every 800 s instead of 600 s
    sched.untrack("ord_AAAAAAA")
    assert sched.next_action() == Wait(pytest.approx(800))


def test_every_request_is_charged_not_only_the_action() -> None:
    """Polls that bring result PDFs (three requests each here) slow the schedule down to the
    budget: the requests, not the actions, stay within it."""
    clock = FakeClock()
    sched = schedule(clock, budget_per_hour=360, burst=5)
    for i in range(50):
        sched.track(f"ord_{i:07d}", age_s=0, poll_now=True)
    requests = 0
    end = clock.now + HOUR
    while clock.now < end:
        action = sched.next_action()
        if isinstance(action, Wait):
            assert action.seconds is not None
            clock.advance(action.seconds)
            continue
        made = 3 if isinstance(action, PollOrder) else 1  # the order and two PDFs
        sched.record_requests(made)
        requests += made
        if isinstance(action, PollOrder):
            sched.polled(action.order_id, changed=True)
        else:
            sched.list_refreshed(1)
    assert 340 <= requests <= 360 + 5 + 2  # the budget, the burst, the last overdraft


def test_requests_outside_the_schedule_delay_the_next_action() -> None:
    """The user's own refresh, a probe: charged too, so polling leaves room for them."""
    clock = FakeClock()
    sched = schedule(clock, budget_per_hour=360, burst=5, jitter=0.0)
    sched.track("ord_AAAAAAA", age_s=0, poll_now=True)
    sched.record_requests(5)  # the user opened five orders
    action = sched.next_action()
    assert action == Wait(pytest.approx(10))  # one token back after 10 s


def test_a_cancelled_action_does_not_starve_the_order() -> None:
    clock = FakeClock()
    sched = schedule(clock, jitter=0.0)
    sched.track("ord_AAAAAAA", age_s=HOUR, poll_now=True)
    assert sched.next_action() == RefreshList()
    assert sched.next_action() == PollOrder("ord_AAAAAAA")
    # no report comes back (the task was cancelled): the order is still due later
    assert seconds_until_polled(sched, clock, "ord_AAAAAAA") == 60


def test_a_list_refresh_asked_for_during_one_still_comes_at_once() -> None:
    """A checkout ended while the list was being read: its order may not be on that page."""
    clock = FakeClock()
    sched = schedule(clock, jitter=0.0)
    assert sched.next_action() == RefreshList()
    clock.advance(2)
    sched.refresh_list_soon()
    sched.record_requests()
    sched.list_refreshed(1)
    assert sched.next_action() == RefreshList()
    sched.list_refreshed(1)
    assert sched.next_action() == Wait(pytest.approx(600))


def test_a_completed_order_is_rechecked_slowly_until_its_correction_window_closes() -> None:
    clock = FakeClock()
    sched = schedule(clock, jitter=0.0)
    sched.track("ord_AAAAAAA", age_s=0)
    assert sched.watch("ord_AAAAAAA", results_age_s=0)  # it completed
    assert "ord_AAAAAAA" not in sched
    assert sched.watching("ord_AAAAAAA")
    assert (len(sched), sched.watched) == (0, 1)
    log = run(sched, clock, 31 * DAY)
    polls = [t for t, what in log if what == "ord_AAAAAAA"]
    gaps = {round(b - a) for a, b in pairwise(polls)}
    assert gaps == {round(FINISHED_INTERVAL_S)}, "a fixed, slow cadence"
    assert polls[0] - 1000 == pytest.approx(FINISHED_INTERVAL_S)
    assert polls[-1] - 1000 <= CORRECTION_WINDOW_S, "nothing after the window"
    assert len(polls) == int(CORRECTION_WINDOW_S // FINISHED_INTERVAL_S)
    assert not sched.watching("ord_AAAAAAA")


def test_a_correction_restarts_the_window_and_old_results_are_not_watched() -> None:
    clock = FakeClock()
    sched = schedule(clock, jitter=0.0)
    assert not sched.watch("ord_old0000", results_age_s=CORRECTION_WINDOW_S + 1)
    assert not sched.watch("ord_late000", results_age_s=CORRECTION_WINDOW_S - HOUR)
    assert sched.watched == 0, "a window that closes before the first re-check"
    assert sched.watch("ord_AAAAAAA", results_age_s=CORRECTION_WINDOW_S - 5 * HOUR)
    run(sched, clock, 4 * HOUR)
    assert sched.watch("ord_AAAAAAA", results_age_s=0)  # a corrected result arrived
    polls = [t for t, what in run(sched, clock, 10 * DAY) if what == "ord_AAAAAAA"]
    assert len(polls) == 60
    assert not sched.watch("ord_AAAAAAA", results_age_s=CORRECTION_WINDOW_S)
    assert not sched.watching("ord_AAAAAAA")


def test_watched_orders_cost_a_small_share_of_the_budget_and_open_ones_stay_fast() -> None:
    """Six hundred completed orders (a month of a busy clinic) next to a fresh one."""
    clock = FakeClock()
    sched = PollSchedule(PollingPolicy.within_rate_limit(20.0), clock=clock, rng=random.Random(1))
    for i in range(600):
        sched.watch(f"ord_{i:07d}", results_age_s=(i % 30) * DAY)
    sched.track("ord_fresh00", age_s=0)
    log = run(sched, clock, 12 * HOUR, list_pages=5)
    watched = [t for t, what in log if what.startswith("ord_0") and t >= 1000 + 4 * HOUR]
    per_hour = len(watched) / 8
    assert 120 <= per_hour <= 180, "each watched order about every four hours"
    assert per_hour < 0.1 * sched.policy.budget_per_hour
    fresh = [t for t, what in log if what == "ord_fresh00"]
    alone_clock = FakeClock()
    alone = PollSchedule(sched.policy, clock=alone_clock, rng=random.Random(1))
    alone.track("ord_fresh00", age_s=0)
    baseline = [t for t, what in run(alone, alone_clock, 12 * HOUR) if what == "ord_fresh00"]
    assert len(fresh) >= 0.95 * len(baseline), "the open order is polled as often as alone"
    assert len({what for _, what in log if what.startswith("ord_0")}) == 600


def test_an_order_watched_then_open_again_is_polled_on_its_age() -> None:
    clock = FakeClock()
    sched = schedule(clock, jitter=0.0)
    sched.watch("ord_AAAAAAA", results_age_s=0)
    sched.track("ord_AAAAAAA", age_s=0)  # Rupa reopened it (an unknown status)
    assert "ord_AAAAAAA" in sched
    assert not sched.watching("ord_AAAAAAA")
    assert seconds_until_polled(sched, clock, "ord_AAAAAAA") == pytest.approx(30)


@pytest.mark.parametrize(
    "policy",
    [
        {"finished_interval_s": 0},
        {"correction_window_s": -1},
        {"base_interval_s": 0},
        {"budget_per_hour": 0},
        {"burst": 0},
        {"jitter": 1.0},
        {"tiers": ((100.0, 1.0), (50.0, 2.0))},
    ],
)
def test_nonsense_policies_are_refused(policy: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        PollingPolicy(**policy)  # type: ignore[arg-type]
