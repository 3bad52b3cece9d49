"""The Epic links and filing states in the account's database, and their removal with the
patient data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from rupa_desk.core.models import Order, OrderedTest
from rupa_desk.services.store.database import Store
from rupa_desk.services.store.epic_links import EpicLinks


@pytest.fixture
def store() -> Iterator[Store]:
    with Store.in_memory() as store:
        yield store


def test_a_rupa_patient_is_linked_to_her_epic_patient(store: Store) -> None:
    assert store.epic_links.link_for("pat_0000001") is None
    store.epic_links.link("pat_0000001", "eOld", "1")
    store.epic_links.link("pat_0000001", "erXuFYUfucBZaryVksYEcMg3", "203713")
    link = store.epic_links.link_for("pat_0000001")
    assert link is not None
    assert (link.epic_patient_id, link.mrn) == ("erXuFYUfucBZaryVksYEcMg3", "203713")
    assert link.linked_at is not None


def test_a_filing_moves_from_filing_to_filed(store: Store) -> None:
    store.epic_links.record("otst_1", "eP", "filing")
    filing = store.epic_links.filing("otst_1")
    assert filing is not None
    assert (filing.state, filing.document_id) == ("filing", None)
    store.epic_links.record("otst_1", "eP", "filed", document_id="eDoc1")
    filing = store.epic_links.filing("otst_1")
    assert filing is not None
    assert (filing.state, filing.document_id) == ("filed", "eDoc1")


def test_removing_patient_data_removes_links_and_filings(store: Store) -> None:
    store.epic_links.link("pat_0000001", "eP", "203713")
    store.epic_links.record("otst_1", "eP", "filed", document_id="eDoc1")
    store.remove_patient_data()
    assert store.epic_links.link_for("pat_0000001") is None
    assert store.epic_links.filing("otst_1") is None


def test_orders_with_a_failed_or_cut_short_filing_are_to_retry(store: Store) -> None:
    for order_id, test_ids in (("ord_A", ("otst_A1", "otst_A2")), ("ord_B", ("otst_B1",))):
        tests = tuple(OrderedTest(id=t, lab_test_id="labts_1") for t in test_ids)
        store.orders.save(
            Order(
                id=order_id,
                status="Complete",
                patient_id="pat_1",
                total_price=Decimal(1),
                ordered_tests=tests,
            )
        )
    ticks = iter(datetime(2026, 12, 7, 9, tzinfo=UTC) + timedelta(minutes=m) for m in range(9))
    links = EpicLinks(store.db, clock=lambda: next(ticks))
    assert links.orders_to_retry() == []
    links.record("otst_A1", "eP", "filed", document_id="eDoc1")
    links.record("otst_B1", "eP", "failed", problem="Epic did not answer.")
    links.record("otst_A2", "eP", "filing")
    assert links.orders_to_retry() == ["ord_B", "ord_A"]  # the longest waiting first
    links.record("otst_B1", "eP", "filed", document_id="eDoc2")
    assert links.orders_to_retry() == ["ord_A"]
