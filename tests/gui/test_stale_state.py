"""Nothing stale: a checked-out draft leaves Draft orders and is found with its order; the
patient detail follows her orders; the status filter reads in lifecycle order; a draft's test
has a Remove button; deleting a draft without a patient reads naturally. The whole app
against the simulator over real HTTP (the drafts-only checks use a fake Rupa: no server)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from rupa_desk.core.drafts import DraftState
from rupa_desk.core.status import CANCELED, LIFECYCLE
from rupa_desk.paths import AppPaths
from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.services.store import Store
from rupa_desk.ui.pages.drafts import DraftsPage
from rupa_desk.ui.pages.orders import OrdersPage
from rupa_desk.ui.pages.patients import PatientsPage
from tests.fixtures.browser import PractitionerBrowser
from tests.fixtures.catalog_data import iter_tests, load_catalog, synthetic_companies
from tests.fixtures.demo_desk import demo_desk
from tests.fixtures.desk import MakeDesk
from tests.fixtures.drafts_env import DraftsEnv, drafts_env
from tests.fixtures.qt import wait_until
from tests.fixtures.sandbox import SandboxControl


async def test_a_checked_out_draft_leaves_the_list_and_her_detail_follows_her_orders(
    qtbot: QtBot, make_desk: MakeDesk, sandbox: SandboxServer, sandbox_control: SandboxControl
) -> None:
    desk = await demo_desk(make_desk, sandbox)
    workspace = desk.workspace
    assert workspace is not None
    store = workspace.store
    window = desk.window
    patients, drafts, orders = (window.pane(k) for k in ("patients", "drafts", "orders"))
    assert isinstance(patients, PatientsPage)
    assert isinstance(drafts, DraftsPage)
    assert isinstance(orders, OrdersPage)

    # Her detail is open in Patients, her orders loaded from Rupa.
    window.show_pane("patients")
    await wait_until(lambda: patients.model.rowCount() > 0)
    patients.table.selectRow(0)
    patient = patients.model.patient(0)
    detail = patients.detail
    await wait_until(lambda: detail.detail is not None and not detail.detail.orders_problem)
    assert detail.detail is not None
    before = len(detail.detail.orders)

    # New order for her: a test, an internal note, sent.
    detail.new_order_button.click()
    await wait_until(lambda: window.current_pane() == "drafts")
    editor = drafts.editor
    draft_id = editor.draft_id
    assert draft_id is not None
    await wait_until(lambda: detail.drafts.count() == 1)  # her detail lists the draft
    qtbot.keyClicks(editor.test_search, "panel")
    editor.test_search.flush()
    await wait_until(lambda: editor.test_results.count() > 0)
    qtbot.keyClick(editor.test_search, Qt.Key.Key_Return)
    qtbot.keyClicks(editor.internal_note, "Card on file; call before the draw")
    editor.send_button.click()
    await wait_until(lambda: store.drafts.get(draft_id).state is DraftState.SENT, within=30)

    # The practitioner submits the checkout elsewhere (another browser); Refresh in Orders
    # finds the order.
    checkout_url = store.drafts.get(draft_id).checkout_url
    assert checkout_url is not None
    with PractitionerBrowser(sandbox.url) as browser:
        await asyncio.to_thread(browser.submit_checkout, checkout_url)
    window.show_pane("orders")
    await workspace.orders.orders.refresh_all()  # what Refresh runs (awaited: no task left)
    await wait_until(lambda: store.drafts.get(draft_id).state is DraftState.CHECKED_OUT, within=30)
    order_id = store.drafts.get(draft_id).order_id
    assert order_id is not None

    # Draft orders: the draft left the list; the editor still shows what became of it.
    await wait_until(lambda: drafts.row_of(draft_id) == -1)
    assert editor.draft_id == draft_id
    assert editor.state_label.text() == "Order placed: follow it in Orders"
    assert drafts.hidden_note.text().startswith("1 draft became an order: find each in Orders")

    # Found with its order: the order's detail names the draft and its internal note.
    await wait_until(lambda: orders.row_of(order_id) >= 0)
    orders.table.selectRow(orders.row_of(order_id))
    await wait_until(lambda: orders.detail.from_draft.isVisible())
    assert "Made from a draft on this computer" in orders.detail.from_draft.text()
    assert "Card on file; call before the draw" in orders.detail.from_draft.text()

    # Her detail followed, without selecting her again: the new order, and no open draft.
    await wait_until(lambda: detail.orders.count() == before + 1, within=30)
    assert detail.drafts.count() == 0
    assert detail.orders_label.text() == f"Orders on Rupa ({before + 1})"
    assert detail.detail is not None
    assert detail.detail.patient.id == patient.id

    # A later status (the poll or a Refresh) shows in her detail too.
    sandbox_control.advance_order(order_id, to="In Progress")
    await workspace.orders.orders.refresh_all()
    await wait_until(
        lambda: any(
            "In Progress" in detail.orders.item(i).text() for i in range(detail.orders.count())
        ),
        within=30,
    )


async def test_the_status_filter_follows_the_lifecycle(
    make_desk: MakeDesk, sandbox: SandboxServer, sandbox_control: SandboxControl
) -> None:
    desk = await demo_desk(make_desk, sandbox)
    workspace = desk.workspace
    assert workspace is not None
    for status in ("Complete", "Paid", "Canceled", "Pending Payment", "Sample Received"):
        sandbox_control.create_order(status=status)
    orders = desk.window.pane("orders")
    assert isinstance(orders, OrdersPage)
    await workspace.orders.orders.refresh_all()
    order = [*LIFECYCLE, CANCELED]
    await wait_until(lambda: orders.status_filter.count() > 5)
    shown = [orders.status_filter.itemText(i) for i in range(1, orders.status_filter.count())]
    assert orders.status_filter.itemText(0) == "All statuses"
    assert {"Pending Payment", "Paid", "Sample Received", "Complete", "Canceled"} <= set(shown)
    assert shown == sorted(shown, key=order.index)  # not alphabetical: the lifecycle


@pytest.fixture
def store(app_paths: AppPaths) -> Iterator[Store]:
    with Store.open(app_paths.data_dir / "stale.sqlite3") as opened:
        load_catalog(opened, synthetic_companies(), iter_tests(300))
        yield opened


@pytest_asyncio.fixture
async def pane(qtbot: QtBot, store: Store, app_paths: AppPaths) -> AsyncIterator[DraftsPage]:
    env: DraftsEnv = drafts_env(store, app_paths)
    page = DraftsPage(env.presenter)
    qtbot.addWidget(page)
    page.resize(1100, 700)
    page.show()
    yield page
    await env.close()
    assert env.failures == []


async def test_remove_test_removes_the_selected_test(
    qtbot: QtBot, pane: DraftsPage, store: Store
) -> None:
    pane.new_button.click()
    editor = pane.editor
    draft_id = editor.draft_id
    assert draft_id is not None
    for text in ("lipid", "a1c"):
        editor.test_search.clear()
        qtbot.keyClicks(editor.test_search, text)
        editor.test_search.flush()
        qtbot.keyClick(editor.test_search, Qt.Key.Key_Return)
    _, second = store.drafts.get(draft_id).lab_test_ids
    assert not editor.remove_button.isEnabled()  # nothing selected yet
    editor.tests.selectRow(0)
    assert editor.remove_button.isEnabled()
    editor.remove_button.click()
    assert store.drafts.get(draft_id).lab_test_ids == (second,)
    assert editor.tests.rowCount() == 1
    assert editor.remove_button.accessibleName() == "Remove the selected test from the draft"


async def test_deleting_a_draft_without_a_patient_asks_in_plain_words(
    pane: DraftsPage, store: Store
) -> None:
    pane.new_button.click()
    pane.delete_button.click()
    box = pane.confirm_box
    assert box is not None
    assert box.text() == (
        "Delete this draft? It has no patient yet and exists only on this computer."
    )
    box.reject()
    await wait_until(lambda: pane.confirm_box is None)
    assert len(store.drafts.all()) == 1
