"""The sidebar counts what needs the desk's attention: drafts not ordered yet, and orders
waiting for the patient's payment; the counts follow changes, and go with the account."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from rupa_desk.core.models import Order
from rupa_desk.settings import Environment, production
from tests.fixtures.desk import MakeDesk, first_download_done, signed_in_desk
from tests.fixtures.qt import wait_until

RESULTS_MESSAGE = (
    "MSH|^~\\&|LAB|ACME|||20261201||ORU^R01|1|P|2.5.1\r"
    "OBR|1|||X^Lipid Panel\r"
    "OBX|1|NM|2093-3^Total Cholesterol^LN||240|mg/dL|125-200|H|||F\r"
    "OBX|2|NM|2571-8^Triglycerides^LN||90|mg/dL|0-150||||F"
)


@pytest.fixture
def environment() -> Environment:
    return production("desk-client")


def unpaid_order(order_id: str, practitioner_id: str) -> Order:
    return Order(
        id=order_id,
        status="Pending Payment",
        patient_id="pat_0000001",
        patients_practitioner_id=practitioner_id,
        total_price=Decimal("120.00"),
        date_submitted=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
    )


async def test_the_counts_follow_drafts_and_orders_and_leave_with_the_account(
    make_desk: MakeDesk, environment: Environment
) -> None:
    desk = await signed_in_desk(make_desk, environment, download=True)
    await first_download_done(desk)
    workspace = desk.workspace
    assert workspace is not None
    window = desk.window
    await wait_until(lambda: window.pane_title("drafts") == "Draft orders")

    drafts = workspace.orders.drafts
    assert drafts.new_draft()
    assert drafts.new_draft()
    await wait_until(lambda: window.pane_title("drafts") == "Draft orders (2)")
    assert "2 draft(s) not ordered yet" in window._sidebar.item(2).toolTip()

    workspace.store.orders.save(unpaid_order("ord_Unpaid1", workspace.account.id))
    workspace.orders.orders.order_linked("ord_Unpaid1")  # as when a checkout placed it
    await wait_until(lambda: window.pane_title("orders") == "Orders (1)")

    workspace.store.lab_results.save("ord_Unpaid1", "ordts_Count01", None, RESULTS_MESSAGE)
    workspace.orders.orders.order_linked("ord_Unpaid1")  # as when the tracker saved them
    await wait_until(lambda: window.pane_title("results") == "Results inbox (2)")
    window.show_pane("results")  # looked at: counted no more
    await wait_until(lambda: window.pane_title("results") == "Results inbox")

    first = drafts.current
    assert first is not None
    drafts.delete_draft(first)
    await wait_until(lambda: window.pane_title("drafts") == "Draft orders (1)")

    await desk.session.sign_out(remove_patient_data=False)
    await wait_until(lambda: window.pane_title("drafts") == "Draft orders")
    assert window.pane_title("orders") == "Orders"
    assert window.pane_title("results") == "Results inbox"
