"""The practice reports' figures and rules (pure): what each row holds, how days are counted.

Days are counted in the clinic's local time: an order paid on Monday evening and resulted on
Wednesday morning took two days, whatever the time zones of Rupa's timestamps. The database
keeps instants (UTC); `OffsetSpans` says which UTC offset the clinic had when, so that the
store can turn instants into local day numbers in SQL (one pass, no per-row Python).

Money is whole cents (ints) throughout; percentiles come from day-count histograms.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, Final

#: Day number 0 is 1970-01-01 (the epoch), as SQL computes it from Unix seconds.
EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
DAY_S: Final = 86_400
#: An order waiting for payment longer than this needs a follow-up (days).
UNPAID_AFTER_DAYS: Final = 7


def day_number(day: date) -> int:
    """`day` as days since 1970-01-01."""
    return day.toordinal() - EPOCH_ORDINAL


def day_of(number: int) -> date:
    """The date of a day number."""
    return date.fromordinal(number + EPOCH_ORDINAL)


@dataclass(frozen=True, slots=True)
class OffsetSpans:
    """The clinic's UTC offsets over a stretch of time.

    Attributes:
        starts: the Unix second each span starts at (the first is the stretch's start).
        offsets: the UTC offset in seconds during each span.
    """

    starts: tuple[int, ...]
    offsets: tuple[int, ...]

    def offset_at(self, epoch: float) -> int:
        """The offset in seconds at a Unix time (the first span's before the stretch)."""
        found = self.offsets[0]
        for start, offset in zip(self.starts, self.offsets, strict=True):
            if epoch < start:
                break
            found = offset
        return found

    def midnight(self, day: int) -> int:
        """The Unix second the local day number `day` starts at."""
        guess = day * DAY_S - self.offset_at(day * DAY_S)
        return day * DAY_S - self.offset_at(guess)

    def local_day(self, moment: datetime) -> int:
        """The local day number of an aware moment."""
        epoch = moment.timestamp()
        return math.floor((epoch + self.offset_at(epoch)) / DAY_S)


def offset_spans(zone: tzinfo | None, start: datetime, end: datetime) -> OffsetSpans:
    """The offsets of `zone` (None: this computer's local time) from `start` to `end`.

    Walks the stretch a day at a time and finds each change to the second (a change of
    offset happens at most a few times a year).
    """

    def offset(epoch: int) -> int:
        local = datetime.fromtimestamp(epoch, UTC).astimezone(zone)
        delta = local.utcoffset()
        return 0 if delta is None else int(delta.total_seconds())

    first = int(start.timestamp())
    last = int(end.timestamp())
    starts = [first]
    offsets = [offset(first)]
    at = first
    while at < last:
        step = min(DAY_S, last - at)
        if offset(at + step) != offsets[-1]:
            low, high = at, at + step  # offset(low) is the old one, offset(high) the new one
            while high - low > 1:
                middle = (low + high) // 2
                if offset(middle) == offsets[-1]:
                    low = middle
                else:
                    high = middle
            starts.append(high)
            offsets.append(offset(high))
        at += step
    return OffsetSpans(tuple(starts), tuple(offsets))


@dataclass(frozen=True, slots=True)
class ReportFilters:
    """What a report covers.

    Attributes:
        start, end: the first and last local day (inclusive) of the orders: submitted, or
            for revenue paid.
        practitioner_id: one practitioner's orders only (None: the whole clinic).
        lab_company_id: orders with a test of this lab company only, and only those tests
            where a report counts tests (None: every lab company).
    """

    start: date
    end: date
    practitioner_id: str | None = None
    lab_company_id: str | None = None

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("a report's range ends before it starts")


@dataclass(frozen=True, slots=True)
class PipelineRow:
    """Open orders in one status."""

    status: str
    orders: int


@dataclass(frozen=True, slots=True)
class FollowUpRow:
    """An order that needs a follow-up.

    Attributes:
        order_id: the order.
        patient_name: the patient's name ("" when not cached).
        status: its status now.
        reason: "late" (results later than advertised) or "unpaid" (waiting for payment).
        submitted: the local day it was submitted.
        due: the local day results (or the payment) were due.
        days_late: whole days past `due`.
        tests: the names of the tests still without results (late) or ordered (unpaid).
        followed_up_by, followed_up_at: the last follow-up noted on this PC (None: none).
    """

    order_id: str
    patient_name: str
    status: str
    reason: str
    submitted: date
    due: date
    days_late: int
    tests: str
    followed_up_by: str | None = None
    followed_up_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TurnaroundRow:
    """How long one lab company took, in local days from the start to the results.

    Attributes:
        lab_company: its name.
        tests: resulted tests counted.
        median_days, p90_days: the median and the 90th percentile of the days taken.
        advertised_days: the median of the turnaround its tests advertise.
    """

    lab_company: str
    tests: int
    median_days: float
    p90_days: int
    advertised_days: float


@dataclass(frozen=True, slots=True)
class PopularityRow:
    """How often one test was ordered."""

    lab_test: str
    lab_company: str
    orders: int


@dataclass(frozen=True, slots=True)
class RevenueRow:
    """The order totals paid in one month (cents)."""

    month: str
    orders: int
    total_cents: int


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    """A step of a patient's lab history (the patient detail's timeline).

    Attributes:
        day: the local day it happened.
        kind: "ordered", "paid", "results", "completed" or "canceled".
        text: what happened, in words ("Results in: Lipid Panel").
        order_id: the order it belongs to.
    """

    day: date
    kind: str
    text: str
    order_id: str

    def line(self) -> str:
        """ "Mar 02, 2026 · Results in: Lipid Panel"."""
        return f"{self.day:%b %d, %Y} · {self.text}"


def lab_history(
    orders: Iterable[
        tuple[str, str, datetime | None, datetime | None, datetime | None, datetime | None]
    ],
    results: Iterable[tuple[str, str, datetime]],
    zone: tzinfo | None,
) -> list[HistoryEvent]:
    """A patient's lab history, newest first, from their orders and their tests' results.

    Args:
        orders: (order id, test names, submitted, paid, completed, canceled) per order.
        results: (order id, test name, received) per test with results.
        zone: the clinic's time zone (None: this computer's).
    """

    def day(moment: datetime) -> date:
        return moment.astimezone(zone).date()

    events = []
    for order_id, tests, submitted, paid, completed, canceled in orders:
        named = tests or "tests"
        steps = (
            (submitted, "ordered", f"Ordered: {named}"),
            (paid, "paid", "Order paid"),
            (completed, "completed", "All results in"),
            (canceled, "canceled", "Order canceled"),
        )
        for moment, kind, text in steps:
            if moment is not None:
                events.append((moment, HistoryEvent(day(moment), kind, text, order_id)))
    for order_id, name, received in results:
        event = HistoryEvent(day(received), "results", f"Results in: {name}", order_id)
        events.append((received, event))
    events.sort(key=lambda pair: pair[0], reverse=True)
    return [event for _, event in events]


Row = PipelineRow | FollowUpRow | TurnaroundRow | PopularityRow | RevenueRow


def median(histogram: Mapping[int, int]) -> float:
    """The median of the values counted in `histogram` (value → count); the mean of the two
    middle values for an even count (as `statistics.median`)."""
    total = sum(histogram.values())
    if total == 0:
        raise ValueError("no values")
    lower = _nth(histogram, (total - 1) // 2)
    upper = _nth(histogram, total // 2)
    return (lower + upper) / 2


def percentile(histogram: Mapping[int, int], share: float) -> int:
    """The nearest-rank percentile: the smallest value with at least `share` of the values
    at or below it (`share` = 0.9 for the 90th)."""
    total = sum(histogram.values())
    if total == 0:
        raise ValueError("no values")
    return _nth(histogram, max(1, math.ceil(share * total)) - 1)


def _nth(histogram: Mapping[int, int], index: int) -> int:
    """The value at `index` (0-based) of the sorted values."""
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen > index:
            return value
    raise IndexError(index)


def default_range(today: date, days: int = 365) -> tuple[date, date]:
    """The range a report covers when none is given: the last `days` days."""
    return today - timedelta(days=days - 1), today


def csv_text(rows: Sequence[Row], row_type: type[Any]) -> str:
    """Rows as CSV: a header of the field names, one line per row, ISO dates and times."""
    names = [f.name for f in fields(row_type)]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    for row in rows:
        writer.writerow([_cell(getattr(row, name)) for name in names])
    return out.getvalue()


def _cell(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None:
        return ""
    return value


#: Each report by its name (the CLI's and the pane's), and the type of its rows.
REPORT_ROWS: Final[dict[str, type[Any]]] = {
    "pipeline": PipelineRow,
    "late": FollowUpRow,
    "turnaround": TurnaroundRow,
    "popularity": PopularityRow,
    "revenue": RevenueRow,
}
#: The reports' names, in the order the pane and the CLI list them.
REPORTS: Final = tuple(REPORT_ROWS)


def row_type_of(report: str) -> type[Any]:
    """The row type of a report by its name (see `REPORTS`)."""
    return REPORT_ROWS[report]


def total(rows: Iterable[RevenueRow]) -> int:
    """The sum of revenue rows, in cents."""
    return sum(row.total_cents for row in rows)
