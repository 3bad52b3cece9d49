"""Orders in the database: saving what Rupa says, the statuses seen, listings, results."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from rupa_desk.core.models import Order, OrderedTest
from rupa_desk.services.store import OrderFilters, Store, UnknownOrderError
from rupa_desk.services.store.orders import Orders

T0 = datetime(2024, 6, 13, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> Iterator[Store]:
    with Store.in_memory() as store:
        store.orders = Orders(store.db, clock=clock)
        for pid, first, last in (
            ("pat_0000001", "Ada", "Lovelace"),
            ("pat_0000002", "Alan", "Turing"),
        ):
            store.db.execute(
                "INSERT INTO patients (id, first_name, last_name, email, first_key, last_key,"
                " email_key, cached_at) VALUES (?, ?, ?, 'x@example.com', '', '', '', '')",
                [pid, first, last],
            )
        yield store


def order(
    order_id: str,
    status: str = "Pending Payment",
    *,
    patient: str = "pat_0000001",
    practitioner: str = "pra_0000001",
    submitted: datetime = T0,
    tests: tuple[OrderedTest, ...] = (),
    **fields: object,
) -> Order:
    return Order(
        id=order_id,
        status=status,
        patient_id=patient,
        total_price=Decimal("120.50"),
        date_submitted=submitted,
        patients_practitioner_id=practitioner,
        ordered_tests=tests,
        **fields,  # type: ignore[arg-type]
    )


def test_a_new_order_and_its_status_changes_are_recorded(store: Store, clock: Clock) -> None:
    first = store.orders.save(order("ord_AAAAAAA"), draft_id="draft_" + "1" * 32)
    assert first.is_new
    assert not first.status_changed
    clock.now = T0 + timedelta(minutes=5)
    same = store.orders.save(order("ord_AAAAAAA"))
    assert not same.is_new
    assert not same.status_changed
    clock.now = T0 + timedelta(minutes=9)
    paid = store.orders.save(order("ord_AAAAAAA", "Paid", date_paid=clock.now))
    assert paid.status_changed
    assert (paid.previous_status, paid.status, paid.finished) == ("Pending Payment", "Paid", False)
    detail = store.orders.detail("ord_AAAAAAA")
    assert [(e.status, e.observed_at) for e in detail.history] == [
        ("Pending Payment", T0),
        ("Paid", T0 + timedelta(minutes=9)),
    ]
    assert detail.row.draft_id == "draft_" + "1" * 32  # kept across saves
    assert detail.row.patient_name == "Ada Lovelace"
    assert detail.row.total_price == Decimal("120.50")
    assert detail.date_paid == T0 + timedelta(minutes=9)
    done = store.orders.save(order("ord_AAAAAAA", "Complete", date_completed=clock.now))
    assert done.finished
    with pytest.raises(UnknownOrderError):
        store.orders.detail("ord_ZZZZZZZ")


def test_tracked_orders_exclude_finished_ones_and_know_their_last_change(
    store: Store, clock: Clock
) -> None:
    store.orders.save_many(
        [
            order("ord_AAAAAAA"),
            order("ord_BBBBBBB", "Complete"),
            order("ord_CCCCCCC", "canceled"),
            order("ord_DDDDDDD", "Sample Received", date_completed=T0),
            order("ord_EEEEEEE", "Some New Status"),
        ]
    )
    clock.now = T0 + timedelta(hours=1)
    store.orders.save(order("ord_EEEEEEE", "In Progress"))
    paid_long_ago = T0 - timedelta(days=20)
    store.orders.save(
        order(
            "ord_FFFFFFF",
            "Paid",
            submitted=paid_long_ago - timedelta(days=1),
            date_paid=paid_long_ago,
        )
    )
    tracked = {t.id: t.last_change_at for t in store.orders.tracked()}
    # a change seen here counts; a first sighting does not (Rupa's dates do)
    assert tracked == {
        "ord_AAAAAAA": T0,
        "ord_EEEEEEE": T0 + timedelta(hours=1),
        "ord_FFFFFFF": paid_long_ago,
    }


def test_completed_orders_know_when_their_results_last_arrived(store: Store) -> None:
    """The start of each completed order's window for corrected results."""
    corrected_at = T0 + timedelta(days=2, microseconds=500)
    tests = (
        OrderedTest("ordts_AAAAAAA", "labts_1", date_results_received_from_lab=T0),
        OrderedTest("ordts_BBBBBBB", "labts_2", date_results_received_from_lab=corrected_at),
        OrderedTest("ordts_CCCCCCC", "labts_3"),
    )
    completed_at = T0 + timedelta(days=1)
    store.orders.save_many(
        [
            order("ord_AAAAAAA", "Complete", date_completed=completed_at, tests=tests),
            order("ord_BBBBBBB", "Complete", date_completed=completed_at),  # a list page
            order("ord_CCCCCCC", "Canceled", date_canceled=T0),
            order("ord_DDDDDDD", "Partial Results", tests=tests[:1]),
        ]
    )
    completed = {t.id: t.last_change_at for t in store.orders.completed(since=T0)}
    assert completed == {"ord_AAAAAAA": corrected_at, "ord_BBBBBBB": completed_at}
    later = store.orders.completed(since=completed_at + timedelta(seconds=1))
    assert [t.id for t in later] == ["ord_AAAAAAA"], "corrected since: still recent"
    assert store.orders.completed(since=corrected_at + timedelta(microseconds=1)) == []


def test_ordered_tests_and_result_files(store: Store, tmp_path: Path) -> None:
    received = T0 + timedelta(days=3)
    test = OrderedTest(id="ordts_AAAAAAA", lab_test_id="labts_0000001")
    store.db.execute(
        "INSERT INTO lab_tests (id, name, name_key, lab_company_name) VALUES (?, ?, ?, ?)",
        ["labts_0000001", "Lipid Panel", "lipid panel", "Genova"],
    )
    store.orders.save(order("ord_AAAAAAA", "Paid", tests=(test,)))
    [stored] = store.orders.ordered_tests("ord_AAAAAAA")
    assert (stored.name, stored.lab_company, stored.has_results) == ("Lipid Panel", "Genova", False)
    with_results = replace(
        test,
        results_pdf="/ordered_tests/ordts_AAAAAAA/results.pdf",
        date_results_received_from_lab=received,
    )
    store.orders.save(order("ord_AAAAAAA", "Partial Results", tests=(with_results,)))
    store.orders.save(order("ord_AAAAAAA", "Partial Results"))  # a list page: no tests, none lost
    [stored] = store.orders.ordered_tests("ord_AAAAAAA")
    assert stored.has_results
    assert not stored.results_up_to_date
    store.orders.set_results_file(stored.id, tmp_path / "r.pdf", received)
    [stored] = store.orders.ordered_tests("ord_AAAAAAA")
    assert stored.results_up_to_date
    assert stored.results_file == tmp_path / "r.pdf"
    assert store.orders.row("ord_AAAAAAA").results_count == 1
    reissued = replace(with_results, date_results_received_from_lab=received + timedelta(days=1))
    store.orders.save(order("ord_AAAAAAA", "Complete", tests=(reissued,)))
    [stored] = store.orders.ordered_tests("ord_AAAAAAA")
    assert not stored.results_up_to_date  # the final result replaces the preliminary one


def test_listing_newest_first_with_filters_and_search(store: Store) -> None:
    store.orders.save_many(
        [
            order("ord_AAAAAAA", submitted=T0),
            order("ord_BBBBBBB", "Paid", submitted=T0 + timedelta(days=2), patient="pat_0000002"),
            order("ord_CCCCCCC", submitted=T0 + timedelta(days=1), practitioner="pra_0000002"),
        ]
    )
    ids = lambda f: [r.id for r in store.orders.listing(f)]  # noqa: E731
    assert ids(OrderFilters()) == ["ord_BBBBBBB", "ord_CCCCCCC", "ord_AAAAAAA"]
    assert ids(OrderFilters(practitioner_id="pra_0000001")) == ["ord_BBBBBBB", "ord_AAAAAAA"]
    assert ids(OrderFilters(status="Paid")) == ["ord_BBBBBBB"]
    assert ids(OrderFilters(patient_id="pat_0000001")) == ["ord_CCCCCCC", "ord_AAAAAAA"]
    assert ids(OrderFilters(text="turing")) == ["ord_BBBBBBB"]
    assert ids(OrderFilters(text="ada ccc")) == ["ord_CCCCCCC"]
    assert ids(OrderFilters(text="100%")) == []
    assert ids(OrderFilters(text="d_B")) == ["ord_BBBBBBB"]  # "_" is a character, not a joker
    assert ids(OrderFilters(text="dxB")) == []
    assert store.orders.statuses() == ["Paid", "Pending Payment"]
    assert store.orders.patients() == [
        ("pat_0000001", "Ada Lovelace"),
        ("pat_0000002", "Alan Turing"),
    ]
    assert store.orders.unnamed_patient_ids() == []
    store.orders.save(order("ord_DDDDDDD", patient="pat_unknown"))
    assert store.orders.unnamed_patient_ids() == ["pat_unknown"]


def test_the_draft_an_order_came_from_is_kept_by_later_saves(store: Store) -> None:
    store.orders.save(order("ord_AAAAAAA"), draft_id="draft_" + "2" * 32)
    store.orders.save(order("ord_AAAAAAA"))  # a poll: it does not know the draft
    assert store.orders.row("ord_AAAAAAA").draft_id == "draft_" + "2" * 32
