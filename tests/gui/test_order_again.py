"""Order again: from a past order (in Orders, or in the patient's detail) a new draft for the
same patient with the same tests; a test that left the catalog is named, never dropped
silently. The whole app against the simulator over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest_asyncio
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from rupa_desk.core.models import Order, OrderedTest, Patient
from rupa_desk.desk import Desk
from rupa_desk.paths import AppPaths
from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.services.store import Store
from rupa_desk.ui.account_workspace import AccountWorkspace
from rupa_desk.ui.messages import Level, Message
from rupa_desk.ui.pages.drafts import DraftsPage
from rupa_desk.ui.pages.orders import OrdersPage
from rupa_desk.ui.pages.patients import PatientsPage
from tests.fixtures.catalog_data import iter_tests, load_catalog, synthetic_companies
from tests.fixtures.demo_desk import demo_desk
from tests.fixtures.desk import MakeDesk
from tests.fixtures.drafts_env import drafts_env
from tests.fixtures.qt import unnamed_controls, wait_until
from tests.fixtures.sandbox import SandboxControl

ADA = Patient("pat_0000001", "Ada", "Lovelace", "ada@example.com", birthday=date(1815, 12, 10))


@dataclass
class App:
    desk: Desk
    workspace: AccountWorkspace
    store: Store
    patients: PatientsPage
    drafts: DraftsPage
    orders: OrdersPage
    messages: list[Message]
    control: SandboxControl


@pytest_asyncio.fixture
async def app(
    make_desk: MakeDesk, sandbox: SandboxServer, sandbox_control: SandboxControl
) -> AsyncIterator[App]:
    desk = await demo_desk(make_desk, sandbox)
    workspace = desk.workspace
    assert workspace is not None
    window = desk.window
    patients, drafts, orders = (window.pane(k) for k in ("patients", "drafts", "orders"))
    assert isinstance(patients, PatientsPage)
    assert isinstance(drafts, DraftsPage)
    assert isinstance(orders, OrdersPage)
    messages: list[Message] = []
    desk.bridge.message_shown.connect(messages.append)
    yield App(desk, workspace, workspace.store, patients, drafts, orders, messages, sandbox_control)


async def past_order(app: App, tests: int = 3) -> tuple[str, str, list[str]]:
    """An order placed on Rupa (paid) for the first patient: (order, patient, tests)."""
    patient = app.store.patients.search("")[0].id
    hits = app.store.catalog.search("panel", limit=tests).hits
    lab_tests = [hit.id for hit in hits]
    assert len(lab_tests) == tests
    order = app.control.create_order(patient=patient, lab_tests=lab_tests, status="Paid")
    await app.workspace.orders.orders.refresh_all()
    return str(order["id"]), patient, lab_tests


def new_drafts_of(app: App, patient_id: str) -> list[tuple[str, ...]]:
    return [d.lab_test_ids for d in app.store.drafts.all() if d.patient_id == patient_id]


async def test_order_again_in_orders_makes_a_draft_with_the_same_patient_and_tests(
    app: App,
) -> None:
    order_id, patient_id, lab_tests = await past_order(app)
    window = app.desk.window
    window.show_pane("orders")
    orders = app.orders
    await wait_until(lambda: orders.row_of(order_id) >= 0)
    orders.table.selectRow(orders.row_of(order_id))
    detail = orders.detail
    await wait_until(lambda: detail.again_button.isEnabled() and detail.tests.rowCount() == 3)
    assert unnamed_controls(detail) == []
    detail.again_button.click()
    await wait_until(lambda: window.current_pane() == "drafts")
    assert new_drafts_of(app, patient_id) == [tuple(lab_tests)]
    editor = app.drafts.editor
    assert editor.tests.rowCount() == 3
    assert editor.patient_label.text() == app.store.patients.get(patient_id).full_name
    message = app.messages[-1]
    assert message.level is Level.INFO
    assert "with 3 tests" in message.text


async def test_a_test_that_left_the_catalog_is_named_and_the_others_are_ordered_again(
    app: App,
) -> None:
    order_id, patient_id, lab_tests = await past_order(app)
    gone = app.store.catalog.get_test(lab_tests[1]).name
    app.control.change_catalog(remove=[lab_tests[1]])
    assert await app.workspace.catalog.sync_now()

    # From her detail in Patients: select the order among hers, "Order again".
    window = app.desk.window
    window.show_pane("patients")
    patients = app.patients
    await wait_until(lambda: patients.model.row_of(patient_id) >= 0)
    patients.table.selectRow(patients.model.row_of(patient_id))
    panel = patients.detail
    await wait_until(lambda: panel.detail is not None and not panel.detail.orders_problem)
    assert not panel.again_button.isEnabled()  # no order selected yet
    [row] = [
        i
        for i in range(panel.orders.count())
        if panel.orders.item(i).data(Qt.ItemDataRole.UserRole) == order_id
    ]
    panel.orders.setCurrentRow(row)
    assert panel.again_button.isEnabled()
    panel.again_button.click()
    await wait_until(lambda: window.current_pane() == "drafts")
    assert new_drafts_of(app, patient_id) == [(lab_tests[0], lab_tests[2])]
    message = app.messages[-1]
    assert message.level is Level.WARNING
    assert "with 2 tests" in message.text
    assert f"no longer in the catalog: {gone}." in message.text


async def test_without_rupa_the_order_as_saved_is_repeated_with_kept_names(
    qtbot: QtBot, app_paths: AppPaths
) -> None:
    """No answer from Rupa (here: no order source at all): the order saved on this computer
    is used, and a test that left the catalog is named after the draft it was made from."""
    with Store.open(app_paths.data_dir / "again.sqlite3") as store:
        load_catalog(store, synthetic_companies(), iter_tests(50))
        store.patients.upsert([ADA])
        env = drafts_env(store, app_paths)
        page = DraftsPage(env.presenter)
        qtbot.addWidget(page)
        try:
            kept, retired = next(iter_tests(1)).id, "labts_Retired1"
            made_from = store.drafts.create(patient_id=ADA.id, lab_test_ids=[kept])
            store.drafts.add_test(made_from, retired, name="Retired Panel", price=None)
            store.drafts.update(
                made_from,
                lambda d: (
                    d.send_started(d.updated_at)
                    .send_succeeded(
                        d.updated_at,
                        intent_id="ordin_AAAAAAA",
                        checkout_url="https://x",
                        revision=1,
                    )
                    .checked_out(d.updated_at, "ord_Again01")
                ),
            )
            store.orders.save(
                Order(
                    id="ord_Again01",
                    status="Complete",
                    patient_id=ADA.id,
                    date_submitted=datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
                    ordered_tests=(
                        OrderedTest("ordts_0000001", kept),
                        OrderedTest("ordts_0000002", retired),
                    ),
                ),
                draft_id=made_from,
            )
            assert await env.presenter.order_again("ord_Again01")
            [again] = [d for d in store.drafts.all() if d.id != made_from]
            assert (again.patient_id, again.lab_test_ids) == (ADA.id, (kept,))
            assert page.editor.draft_id == again.id
            assert "from the order of 02 Nov 2026" in env.messages[-1].text
            assert "no longer in the catalog: Retired Panel." in env.messages[-1].text
            assert not await env.presenter.order_again("ord_Unknown1")
            assert "not on this computer" in env.messages[-1].text
        finally:
            await env.close()
            assert env.failures == []
