"""An order's timeline from Rupa's dates and the statuses seen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rupa_desk.core.order_timeline import Source, TimelineEntry, order_timeline

T0 = datetime(2024, 6, 13, 9, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def test_dates_and_seen_statuses_merge_oldest_first_without_repeats() -> None:
    timeline = order_timeline(
        submitted=at(0),
        paid=at(2),
        completed=at(100),
        canceled=None,
        seen=[
            ("Pending Payment", at(0.1)),
            ("Paid", at(2.5)),
            ("In Progress", at(30)),
            ("Sample Received", at(70)),
            ("in progress", at(71)),  # seen again (another PC's order of events): once
            ("Partial Results", at(90)),
            ("Complete", at(100.2)),
        ],
    )
    assert [(e.label, e.source) for e in timeline] == [
        ("Submitted", Source.RUPA),
        ("Paid", Source.RUPA),
        ("In Progress", Source.SEEN),
        ("Sample Received", Source.SEEN),
        ("Partial Results", Source.SEEN),
        ("Completed", Source.RUPA),
    ]
    assert timeline[2] == TimelineEntry(at(30), "In Progress", Source.SEEN)


def test_a_status_rupa_did_not_date_is_shown_when_seen() -> None:
    timeline = order_timeline(
        submitted=None,
        paid=None,
        completed=None,
        canceled=at(5),
        seen=[("Pending Payment", at(1)), ("Paid", at(3)), ("Canceled", at(5.5))],
    )
    assert [(e.label, e.at) for e in timeline] == [
        ("Pending Payment", at(1)),
        ("Paid", at(3)),
        ("Canceled", at(5)),
    ]


def test_an_unknown_status_is_kept_as_is() -> None:
    timeline = order_timeline(
        submitted=at(0), paid=None, completed=None, canceled=None, seen=[(" On Hold ", at(4))]
    )
    assert [e.label for e in timeline] == ["Submitted", "On Hold"]
