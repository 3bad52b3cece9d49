"""The Orders pane against the simulator: list and filters, detail, status changes with a
notification and history, results in the PDF viewer."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
from pytestqt.qtbot import QtBot

from rupa_desk.core.polling import PollingPolicy, PollSchedule
from rupa_desk.paths import AppPaths
from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.services.api import RupaClient
from rupa_desk.services.checkout_linking import CheckoutLinker
from rupa_desk.services.order_tracking import OrderTracker
from rupa_desk.services.store import OrderFilters, Store
from rupa_desk.ui.components.notifier import DesktopNotifier
from rupa_desk.ui.messages import Message, MessageBridge
from rupa_desk.ui.pages.orders import OrdersPage
from rupa_desk.ui.presenters.orders import OrdersPresenter
from tests.fixtures.orders_env import client_for
from tests.fixtures.qt import unnamed_controls, wait_for_signal, wait_until
from tests.fixtures.sandbox import SandboxControl


@dataclass
class Pane:
    page: OrdersPage
    presenter: OrdersPresenter
    tracker: OrderTracker
    store: Store
    notifier: DesktopNotifier
    notifications: list[tuple[str, str]]
    messages: list[Message]
    practitioner_id: str


@pytest.fixture
def store(app_paths: AppPaths) -> Iterator[Store]:
    with Store.open(app_paths.data_dir / "orders-test.sqlite3") as opened:
        yield opened


@pytest_asyncio.fixture
async def client(sandbox: SandboxServer) -> AsyncIterator[RupaClient]:
    async with client_for(sandbox.url) as client:
        yield client


@pytest_asyncio.fixture
async def pane(
    qtbot: QtBot, store: Store, client: RupaClient, app_paths: AppPaths
) -> AsyncIterator[Pane]:
    bridge = MessageBridge()
    messages: list[Message] = []
    bridge.message_shown.connect(messages.append)
    bridge.attach()
    notifier = DesktopNotifier(bridge, use_tray=False)
    notifications: list[tuple[str, str]] = []
    notifier.notified.connect(lambda title, text: notifications.append((title, text)))
    presenter: OrdersPresenter
    tracker = OrderTracker(
        client,
        store.orders,
        store.patients,
        CheckoutLinker(client, store.drafts, store.orders),
        PollSchedule(PollingPolicy(), clock=time.monotonic, rng=random.Random(1)),
        results_dir=app_paths.results_dir("demo", "pra_demo"),
        on_event=lambda event: presenter.on_tracking_event(event),
    )
    me = await client.me()
    presenter = OrdersPresenter(store.orders, tracker, notifier, bridge, practitioner_id=me.id)
    await tracker.refresh_list()
    page = OrdersPage(presenter)
    qtbot.addWidget(page)
    page.resize(1100, 800)
    page.show()
    yield Pane(page, presenter, tracker, store, notifier, notifications, messages, me.id)
    presenter.close()
    notifier.close()


def listed(pane: Pane) -> list[str]:
    table = pane.page.table
    return [str(table.item(r, 0).data(0x0100)) for r in range(table.rowCount())]


async def test_my_orders_newest_first_and_the_clinic_with_a_filter(pane: Pane) -> None:
    assert pane.store.orders.unnamed_patient_ids() == []  # names came with the list refresh
    assert all(not pane.page.table.item(r, 1).text().startswith("pat_") for r in range(3))
    mine = listed(pane)
    everything = pane.store.orders.listing(OrderFilters())
    assert mine == [r.id for r in everything if r.practitioner_id == pane.practitioner_id]
    assert 0 < len(mine) < len(everything)
    pane.page.whole_clinic.setChecked(True)
    assert listed(pane) == [r.id for r in everything]
    dates = [r.date_submitted for r in everything]
    assert dates == sorted(dates, reverse=True)
    assert unnamed_controls(pane.page) == []


async def test_filter_by_status_and_patient_and_search(qtbot: QtBot, pane: Pane) -> None:
    page = pane.page
    page.whole_clinic.setChecked(True)
    status = page.status_filter
    status.setCurrentIndex(status.findData("Complete"))
    assert listed(pane)
    assert {page.table.item(r, 2).text() for r in range(page.table.rowCount())} == {"Complete"}
    status.setCurrentIndex(0)
    patient_id, name = pane.presenter.patients()[0]
    page.patient_filter.setCurrentIndex(page.patient_filter.findData(patient_id))
    assert {page.table.item(r, 1).text() for r in range(page.table.rowCount())} == {name}
    page.patient_filter.setCurrentIndex(0)
    qtbot.keyClicks(page.search_box, name.split()[-1])
    page.search_box.flush()
    assert listed(pane)
    assert all(
        name.split()[-1] in page.table.item(r, 1).text() for r in range(page.table.rowCount())
    )


async def test_a_status_change_updates_the_row_notifies_and_is_kept_in_history(
    pane: Pane, sandbox_control: SandboxControl
) -> None:
    page = pane.page
    page.whole_clinic.setChecked(True)
    order_id = next(r.id for r in pane.store.orders.listing() if r.status == "Paid")
    page.table.selectRow(page.row_of(order_id))
    await wait_until(lambda: pane.presenter.current == order_id)
    detail = page.detail
    await wait_until(lambda: detail.tests.rowCount() > 0)
    assert order_id in detail.header.text()

    sandbox_control.advance_order(order_id)  # Paid -> In Progress
    await pane.tracker.refresh_order(order_id)
    await wait_until(lambda: page.table.item(page.row_of(order_id), 2).text() == "In Progress")
    [(title, text)] = pane.notifications
    assert title == "Order status changed"
    assert f"(order {order_id}): Paid → In Progress" in text
    assert pane.messages[-1].text == f"{title}: {text}"  # no tray offscreen: the message bar
    timeline = [detail.timeline.item(i).text() for i in range(detail.timeline.count())]
    assert any("In Progress (seen by Rupa Desk)" in line for line in timeline)
    assert any(line.endswith("  Paid") for line in timeline)
    statuses = [e.status for e in pane.store.orders.history(order_id)]
    assert statuses[-2:] == ["Paid", "In Progress"]


async def test_results_are_downloaded_and_shown_in_the_viewer(
    pane: Pane, sandbox_control: SandboxControl
) -> None:
    page = pane.page
    page.whole_clinic.setChecked(True)
    order_id = next(r.id for r in pane.store.orders.listing() if r.status == "Sample Received")
    page.table.selectRow(page.row_of(order_id))
    await wait_until(lambda: pane.presenter.current == order_id)
    await wait_until(lambda: page.detail.tests.rowCount() > 0)
    sandbox_control.advance_order(order_id, to="Complete")
    ready = asyncio.ensure_future(wait_for_signal(pane.presenter.result_ready, within=30))
    await asyncio.sleep(0)
    await pane.tracker.refresh_order(order_id)
    (path,) = await ready
    assert path.endswith(".pdf")
    detail = page.detail
    await wait_until(lambda: detail.viewer is not None and detail.viewer.page_count > 0)
    assert detail.viewer is not None
    assert detail.viewer.page_text.startswith("Page 1 of")
    states = {detail.tests.item(r, 2).text() for r in range(detail.tests.rowCount())}
    assert states == {"Results downloaded"}
    assert (
        "Results ready",
        f"New results for {pane.presenter._who(order_id)}.",
    ) in pane.notifications
    detail.view_button.click()
    assert detail.viewer.path is not None
    assert detail.viewer.path.read_bytes().startswith(b"%PDF")
