"""When to poll which order: the adaptive polling schedule (pure; clock and randomness injected).

Rupa sends webhooks, but a desktop app has no public endpoint, so Rupa Desk polls (RUPA_API.md,
"Webhooks"). The schedule decides, one action at a time, what the poller does next:

- each non-terminal order is fetched on an interval that grows with the time since its status
  last changed (every 30 s right after checkout, hourly for orders untouched for a week), with
  jitter so that many PCs and many orders do not poll in lock-step;
- the whole order list is refreshed now and then, to find orders placed elsewhere (on Rupa's
  website, on another PC) and status changes of slowly polled orders;
- a budget (a token bucket of requests per hour) keeps polling far under the API's rate limit,
  leaving the rest to what the user does; when many orders would need more than the budget,
  every interval is stretched in proportion instead of some orders starving. Every request
  the poller makes is charged (`record_requests`): the fetch of an order, each page of the
  list, the result PDFs a status change brings, a probe; an action is handed out only while
  the bucket holds a token, so a request that overdraws it is paid for by waiting;
- `Retry-After` sets a floor: nothing is polled before it has passed;
- a completed order is *watched*: re-checked on a slow, fixed cadence
  (`FINISHED_INTERVAL_S`) while its results are recent (`CORRECTION_WINDOW_S` after they
  last arrived), so that a corrected result reaches the desk without anyone opening the
  order (a correction is a new result event on the ordered test, invisible in the order
  list); canceled orders and completed ones past the window are not tracked at all;
- while offline nothing is polled.

`PollSchedule.next_action()` answers `PollOrder`, `RefreshList` or `Wait`; the caller performs
it, charges each request it sent (`record_requests`) and reports back (`polled`, `poll_failed`,
`list_refreshed`, `defer`).
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

HOUR: Final = 3600.0
DAY: Final = 24 * HOUR
#: The share of the budget the schedule plans to use (the rest absorbs retries and jitter).
_USABLE_SHARE: Final = 0.9
#: The most of the budget the list refresh may take.
_LIST_SHARE: Final = 0.5
#: How long after its results last arrived a completed order is re-checked for a corrected
#: result. Labs correct a report when an error is found on review, a delayed repeat or a
#: complaint, which happens within days to a few weeks of the final report; after a month
#: the results have been acted on and a correction is rare enough for the order list and
#: the user's own refresh to cover it. A correction restarts the window.
CORRECTION_WINDOW_S: Final = 30 * DAY
#: How often a watched completed order is re-checked. A correction then reaches the inbox
#: within a morning or an afternoon (the told mark cleared the same working day), and each
#: completed order costs six requests a day: a clinic completing twenty orders a day watches
#: about six hundred, some 150 requests an hour, under a tenth of the default budget, and
#: stretched with everything else when the budget is tight.
FINISHED_INTERVAL_S: Final = 4 * HOUR


@dataclass(frozen=True, slots=True)
class PollingPolicy:
    """The knobs of the schedule.

    Attributes:
        base_interval_s: the user's polling interval (Settings); tiers are multiples of it.
        tiers: (age below which the tier applies in seconds, multiple of the base interval),
            youngest first; the age is the time since the order's status last changed.
        old_multiple: the multiple for orders older than the last tier.
        max_interval_s: the longest interval of any tier (the budget may stretch it).
        jitter: each interval is scaled by a random factor in [1 - jitter, 1 + jitter].
        budget_per_hour: the most polling requests per hour (list pages included).
        burst: how many requests may go out back to back (after being offline, say).
        list_refresh_interval_s: how often the whole order list is refreshed.
        failure_backoff_max_s: the longest wait after repeated failures of one order.
        finished_interval_s: how often a watched (completed) order is re-checked for a
            corrected result.
        correction_window_s: how long after its results last arrived a completed order is
            watched (0: never).
    """

    base_interval_s: float = 60.0
    tiers: tuple[tuple[float, float], ...] = (
        (15 * 60, 0.5),
        (2 * HOUR, 1.0),
        (DAY, 5.0),
        (7 * DAY, 15.0),
    )
    old_multiple: float = 60.0
    max_interval_s: float = 6 * HOUR
    jitter: float = 0.2
    budget_per_hour: float = 1800.0
    burst: int = 10
    list_refresh_interval_s: float = 600.0
    failure_backoff_max_s: float = HOUR
    finished_interval_s: float = FINISHED_INTERVAL_S
    correction_window_s: float = CORRECTION_WINDOW_S

    def __post_init__(self) -> None:
        if self.base_interval_s <= 0 or self.budget_per_hour <= 0 or self.burst < 1:
            raise ValueError("intervals, budget and burst must be positive")
        if self.finished_interval_s <= 0 or self.correction_window_s < 0:
            raise ValueError("the finished interval must be positive, the window not negative")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")
        ages = [age for age, _ in self.tiers]
        if ages != sorted(ages):
            raise ValueError("tiers go from the youngest orders to the oldest")

    @classmethod
    def within_rate_limit(
        cls, rate_per_second: float, *, share: float = 0.025, base_interval_s: float = 60.0
    ) -> PollingPolicy:
        """A policy whose budget is `share` of an API rate limit (2.5 % by default)."""
        return cls(base_interval_s=base_interval_s, budget_per_hour=rate_per_second * HOUR * share)

    def interval_for_age(self, age_s: float) -> float:
        """The un-jittered, un-stretched polling interval of an order of this age."""
        multiple = self.old_multiple
        for below, tier_multiple in self.tiers:
            if age_s < below:
                multiple = tier_multiple
                break
        return min(self.base_interval_s * multiple, self.max_interval_s)


@dataclass(frozen=True, slots=True)
class PollOrder:
    """Fetch this order now."""

    order_id: str


@dataclass(frozen=True, slots=True)
class RefreshList:
    """Refresh the whole order list now (report the pages it took with `list_refreshed`)."""


@dataclass(frozen=True, slots=True)
class Wait:
    """Nothing to do for `seconds` (None: until something changes, e.g. back online)."""

    seconds: float | None


PollAction = PollOrder | RefreshList | Wait


@dataclass(slots=True)
class _Tracked:
    changed_at: float
    due: float
    rate: float  # 1 / base interval: this order's share of the demand
    failures: int = 0
    finished: bool = False  # watched for corrections, on the slow cadence
    watch_until: float = math.inf  # when a watched order's correction window closes


@dataclass(slots=True)
class _Bucket:
    capacity: float
    per_second: float
    tokens: float
    at: float

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.per_second)
        self.at = now

    def seconds_until_one(self, now: float) -> float:
        self.refill(now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.per_second


class PollSchedule:
    """The adaptive polling schedule of one signed-in account.

    Not thread-safe: one poller owns it.
    """

    def __init__(
        self,
        policy: PollingPolicy,
        *,
        clock: Callable[[], float],
        rng: random.Random | None = None,
    ) -> None:
        """Start with nothing tracked and the list refresh due.

        Args:
            policy: the knobs.
            clock: monotonic seconds (`time.monotonic`; a fake clock in tests).
            rng: the source of jitter.
        """
        self.policy = policy
        self.clock = clock
        self.rng = rng or random.Random()
        self._orders: dict[str, _Tracked] = {}
        self._queue: list[tuple[float, str]] = []
        self._demand = 0.0
        self._online = True
        self._blocked_until = -math.inf
        self._list_due = -math.inf
        self._list_pages = 1
        self._list_running = False  # a RefreshList was handed out, not reported yet
        self._list_again = False  # and a refresh was asked for meanwhile
        self._bucket = _Bucket(
            capacity=float(policy.burst),
            per_second=policy.budget_per_hour / HOUR,
            tokens=float(policy.burst),
            at=clock(),
        )

    # -- what is tracked -----------------------------------------------------------------------

    def __contains__(self, order_id: object) -> bool:
        """True for an open order (polled on the adaptive intervals), not a watched one."""
        tracked = self._orders.get(order_id) if isinstance(order_id, str) else None
        return tracked is not None and not tracked.finished

    def __len__(self) -> int:
        """The number of open orders."""
        return sum(1 for tracked in self._orders.values() if not tracked.finished)

    def watching(self, order_id: str) -> bool:
        """True for a completed order re-checked for corrected results."""
        tracked = self._orders.get(order_id)
        return tracked is not None and tracked.finished

    @property
    def watched(self) -> int:
        """The number of completed orders re-checked for corrected results."""
        return sum(1 for tracked in self._orders.values() if tracked.finished)

    @property
    def online(self) -> bool:
        return self._online

    def track(self, order_id: str, *, age_s: float, poll_now: bool = False) -> None:
        """Poll this (non-terminal) order from now on.

        Args:
            order_id: the order.
            age_s: seconds since its status last changed (0 right after checkout).
            poll_now: due at once (e.g. the list showed it changed); otherwise after one
                interval. An order already tracked keeps its due time unless this is set.
        """
        now = self.clock()
        known = self._orders.get(order_id)
        changed_at = now - max(age_s, 0.0)
        if known is not None and known.finished:  # it was watched: open again
            self.untrack(order_id)
            known = None
        if known is not None:
            known.changed_at = changed_at
            self._set_rate(known, now)
            if poll_now:
                self._set_due(order_id, known, now)
            return
        tracked = _Tracked(changed_at=changed_at, due=math.inf, rate=0.0)
        self._orders[order_id] = tracked
        self._set_rate(tracked, now)
        self._set_due(order_id, tracked, now if poll_now else now + self._interval(tracked))

    def watch(self, order_id: str, *, results_age_s: float) -> bool:
        """Re-check this completed order for a corrected result on the slow cadence, until
        the correction window after its results last arrived closes.

        An order open until now becomes watched; one watched already keeps its due time
        (the window follows `results_age_s`, so a correction restarts it). The first
        re-check comes after one interval; an order whose window closes before then is not
        watched (nor polled any more).

        Args:
            order_id: the order.
            results_age_s: seconds since its results last arrived.

        Returns:
            True when the order is watched.
        """
        now = self.clock()
        until = now + self.policy.correction_window_s - max(results_age_s, 0.0)
        known = self._orders.get(order_id)
        if known is not None and known.finished:
            if until <= now:
                self.untrack(order_id)
                return False
            known.watch_until = until
            return True
        tracked = _Tracked(changed_at=now, due=math.inf, rate=0.0, finished=True)
        tracked.watch_until = until
        tracked.rate = 1.0 / self.policy.finished_interval_s
        due = now + self._interval(tracked)
        self.untrack(order_id)
        if due > until:
            return False
        self._orders[order_id] = tracked
        self._demand += tracked.rate
        self._set_due(order_id, tracked, due)
        return True

    def untrack(self, order_id: str) -> None:
        """Stop polling this order (it was canceled, its correction window closed, or it is
        gone)."""
        tracked = self._orders.pop(order_id, None)
        if tracked is not None:
            self._demand -= tracked.rate
            if not self._orders:
                self._demand = 0.0  # no float dust left behind

    # -- what happened -------------------------------------------------------------------------

    def polled(self, order_id: str, *, changed: bool) -> None:
        """The order was fetched; `changed`: its status differed from the one known."""
        tracked = self._orders.get(order_id)
        if tracked is None:
            return
        now = self.clock()
        tracked.failures = 0
        if changed:
            tracked.changed_at = now
        self._set_rate(tracked, now)
        self._set_due(order_id, tracked, now + self._interval(tracked))

    def poll_failed(self, order_id: str) -> None:
        """Fetching this order failed (server error, say): try again later, backing off."""
        tracked = self._orders.get(order_id)
        if tracked is None:
            return
        now = self.clock()
        tracked.failures += 1
        backoff = min(
            self.policy.base_interval_s * 2 ** min(tracked.failures, 20),
            self.policy.failure_backoff_max_s,
        )
        self._set_due(order_id, tracked, now + max(backoff, self._interval(tracked)))

    def list_refreshed(self, pages: int) -> None:
        """The order list was refreshed using `pages` requests (charged as they were made,
        with `record_requests`); a long list is refreshed less often. A failed refresh
        needs no report: it is tried again after one interval. A refresh asked for while
        this one ran (`refresh_list_soon`: a checkout ended) still comes at once."""
        self._list_pages = max(pages, 1)
        if not self._list_again:
            self._list_due = self.clock() + self._jittered(self._list_interval())
        self._list_running = self._list_again = False

    def record_requests(self, count: int = 1) -> None:
        """`count` requests went out (any: a poll, a list page, a download, a probe, the
        user's refresh): they are charged to the budget. The bucket may go negative: a debt
        paid by waiting before the next action."""
        now = self.clock()
        self._bucket.refill(now)
        self._bucket.tokens -= count

    def refresh_list_soon(self) -> None:
        """Refresh the list at the next opportunity (after sign-in, back online, checkout)."""
        self._list_due = -math.inf
        self._list_again = self._list_running

    def defer(self, seconds: float) -> None:
        """The server said `Retry-After: seconds`: nothing is polled before that."""
        if seconds > 0:
            self._blocked_until = max(self._blocked_until, self.clock() + seconds)

    def set_online(self, online: bool) -> None:
        """Pause (offline) or resume polling; on resuming, the list is refreshed first."""
        if online and not self._online:
            self.refresh_list_soon()
        self._online = online

    # -- what to do next -----------------------------------------------------------------------

    def next_action(self) -> PollAction:
        """What to do now. An order or list action is handed out only while the budget holds
        a request; the requests it makes are charged with `record_requests`."""
        if not self._online:
            return Wait(None)
        now = self.clock()
        order_id, order_due = self._peek()
        due = min(order_due, self._list_due)
        if due == math.inf:
            return Wait(None)
        start = max(due, self._blocked_until, now + self._bucket.seconds_until_one(now))
        if start > now:
            return Wait(start - now)
        # Each action is rescheduled as it is handed out, so a report that never comes
        # (a cancelled task) delays nothing; `polled`/`poll_failed` reschedule it again.
        if self._list_due <= order_due or order_id is None:
            self._list_due = now + self._jittered(self._list_interval())
            self._list_running, self._list_again = True, False
            return RefreshList()
        tracked = self._orders[order_id]
        self._set_due(order_id, tracked, now + self._interval(tracked))
        return PollOrder(order_id)

    # -- internals -----------------------------------------------------------------------------

    def _budget_rate(self) -> float:
        return self.policy.budget_per_hour / HOUR

    def _list_interval(self) -> float:
        """The list refresh interval, stretched so the list takes at most half the budget."""
        return max(
            self.policy.list_refresh_interval_s,
            self._list_pages / (self._budget_rate() * _LIST_SHARE),
        )

    def _stretch(self) -> float:
        """>= 1: how much every interval grows so that the demand fits the budget."""
        list_rate = self._list_pages / self._list_interval()
        budget = self._budget_rate() * _USABLE_SHARE - list_rate
        return max(1.0, self._demand / budget)

    def _set_rate(self, tracked: _Tracked, now: float) -> None:
        if tracked.finished:
            rate = 1.0 / self.policy.finished_interval_s
        else:
            rate = 1.0 / self.policy.interval_for_age(now - tracked.changed_at)
        self._demand += rate - tracked.rate
        tracked.rate = rate

    def _interval(self, tracked: _Tracked) -> float:
        return self._jittered((1.0 / tracked.rate) * self._stretch())

    def _jittered(self, seconds: float) -> float:
        jitter = self.policy.jitter
        return seconds * self.rng.uniform(1 - jitter, 1 + jitter)

    def _set_due(self, order_id: str, tracked: _Tracked, due: float) -> None:
        if tracked.finished and due > tracked.watch_until:
            self.untrack(order_id)  # its correction window closes first: done
            return
        tracked.due = due
        heapq.heappush(self._queue, (due, order_id))

    def _peek(self) -> tuple[str | None, float]:
        """The earliest due order, dropping queue entries that are out of date."""
        while self._queue:
            due, order_id = self._queue[0]
            tracked = self._orders.get(order_id)
            if tracked is not None and tracked.due == due:
                return order_id, due
            heapq.heappop(self._queue)
        return None, math.inf
