"""The reports' pure rules: local days across daylight saving, percentiles, CSV."""

from __future__ import annotations

import csv
import io
import statistics
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from rupa_desk.core.reports import (
    FollowUpRow,
    ReportFilters,
    RevenueRow,
    csv_text,
    day_of,
    median,
    offset_spans,
    percentile,
)

LOS_ANGELES = ZoneInfo("America/Los_Angeles")


def test_offset_spans_find_each_daylight_saving_change_to_the_second() -> None:
    spans = offset_spans(
        LOS_ANGELES, datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    )
    assert spans.offsets == (-8 * 3600, -7 * 3600, -8 * 3600)
    assert spans.starts[1:] == (
        int(datetime(2026, 3, 8, 10, tzinfo=UTC).timestamp()),  # 2 am PST
        int(datetime(2026, 11, 1, 9, tzinfo=UTC).timestamp()),  # 2 am PDT
    )


def test_a_local_day_is_the_clinic_date_of_an_instant_with_any_offset() -> None:
    spans = offset_spans(
        LOS_ANGELES, datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    )
    for text in (
        "2026-07-01T06:30:00+00:00",  # June 30th, 11:30 pm in Los Angeles
        "2026-07-01T02:30:00-04:00",  # the same instant from New York
        "2026-12-31T23:59:59.999999-08:00",
        "2026-03-08T09:59:59+00:00",  # just before the change
    ):
        moment = datetime.fromisoformat(text)
        assert day_of(spans.local_day(moment)) == moment.astimezone(LOS_ANGELES).date()


@pytest.mark.parametrize(
    "values", [[3], [1, 2], [5, 1, 4, 4, 9, 12, 2], list(range(100)), [7] * 10 + [30]]
)
def test_median_and_p90_from_a_histogram_match_the_plain_definitions(values: list[int]) -> None:
    histogram: dict[int, int] = {}
    for value in values:
        histogram[value] = histogram.get(value, 0) + 1
    ranked = sorted(values)
    assert median(histogram) == statistics.median(values)
    assert percentile(histogram, 0.9) == ranked[-(-9 * len(ranked) // 10) - 1]


def test_no_values_have_no_median() -> None:
    with pytest.raises(ValueError, match="no values"):
        median({})


def test_a_range_cannot_end_before_it_starts() -> None:
    with pytest.raises(ValueError, match="ends before it starts"):
        ReportFilters(date(2026, 5, 2), date(2026, 5, 1))


def test_csv_has_the_field_names_iso_dates_and_cents() -> None:
    rows = [
        FollowUpRow("ord_1", "Zoë Ålund, Jr.", "Paid", "late", date(2026, 1, 2), date(2026, 1, 9),
                    3, "Lipid Panel", "Sam", datetime(2026, 1, 12, 15, 0, tzinfo=UTC)),
    ]  # fmt: skip
    parsed = list(csv.reader(io.StringIO(csv_text(rows, FollowUpRow))))
    assert parsed[0][:7] == [
        "order_id", "patient_name", "status", "reason", "submitted", "due", "days_late"
    ]  # fmt: skip
    assert parsed[1] == [
        "ord_1", "Zoë Ålund, Jr.", "Paid", "late", "2026-01-02", "2026-01-09", "3",
        "Lipid Panel", "Sam", "2026-01-12T15:00:00+00:00",
    ]  # fmt: skip
    money = list(csv.reader(io.StringIO(csv_text([RevenueRow("2026-01", 2, 12345)], RevenueRow))))
    assert money == [["month", "orders", "total_cents"], ["2026-01", "2", "12345"]]


def test_the_command_line_offers_every_report_and_only_those() -> None:
    """`__main__` lists the report names itself (the app does not load the reports to start);
    they must be the reports there are."""
    from rupa_desk.__main__ import REPORT_NAMES
    from rupa_desk.core.reports import REPORTS

    assert REPORT_NAMES == REPORTS
