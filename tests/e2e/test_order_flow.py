"""From a draft to result PDFs: the whole app against the simulator over real loopback HTTP.

Draft → "Send to Rupa" → "Check out" in the real embedded QWebEngineView (the test signs in
on the simulator's page and clicks "Submit order" through JavaScript) → the order appears,
linked to its draft → the simulator advances it → the Orders pane shows the new status and a
notification → the result PDF opens in the viewer.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from pytestqt.qtbot import QtBot

from rupa_desk.core.drafts import DraftState
from rupa_desk.desk import Desk
from rupa_desk.sandbox.config import DEMO_LOGIN_EMAIL, DEMO_LOGIN_PASSWORD
from rupa_desk.sandbox.forms import CheckoutForm, LoginForm
from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.settings import demo
from rupa_desk.ui.pages.drafts import DraftsPage
from rupa_desk.ui.pages.orders import OrdersPage
from rupa_desk.ui.presenters.session import SessionState
from rupa_desk.ui.web.checkout_view import CheckoutView
from tests.fixtures.browser import PractitionerBrowser
from tests.fixtures.desk import MakeDesk, answer_pin_offer
from tests.fixtures.qt import wait_until
from tests.fixtures.sandbox import SandboxControl


class RecordingOpener:
    def __init__(self) -> None:
        self.urls: list[str] = []

    def __call__(self, url: str) -> bool:
        self.urls.append(url)
        return True


async def run_js(view: CheckoutView, script: str) -> Any:
    """Run JavaScript in the checkout page and return its result."""
    answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def done(result: Any) -> None:
        if not answer.done():
            answer.set_result(result)

    view.page.runJavaScript(script, 0, done)
    return await asyncio.wait_for(answer, 10)


async def wait_for_element(view: CheckoutView, element_id: str, within: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await run_js(view, f"document.getElementById({element_id!r}) !== null"):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"#{element_id} never appeared in the checkout page")
        await asyncio.sleep(0.2)


async def signed_in_desk(make_desk: MakeDesk, sandbox: SandboxServer) -> Desk:
    opener = RecordingOpener()
    desk = await make_desk(demo(sandbox.url), opener=opener, poll_interval_s=10)
    await wait_until(lambda: desk.session.view.state is SessionState.SIGNED_OUT)
    desk.sign_in_page.sign_in_button.click()
    await wait_until(lambda: opener.urls)
    with PractitionerBrowser(sandbox.url) as browser:
        location = await asyncio.to_thread(browser.approve, opener.urls[0])
    async with httpx.AsyncClient(timeout=30) as http:
        await http.get(location)
    await wait_until(lambda: desk.session.view.state is SessionState.SIGNED_IN, within=30)
    await answer_pin_offer(desk)
    return desk


async def test_draft_to_checkout_to_order_tracking_to_results(
    qtbot: QtBot, make_desk: MakeDesk, sandbox: SandboxServer, sandbox_control: SandboxControl
) -> None:
    desk = await signed_in_desk(make_desk, sandbox)
    workspace = desk.workspace
    assert workspace is not None
    store = workspace.store
    await wait_until(lambda: store.catalog.test_count() == sandbox.config.lab_tests, within=60)
    await wait_until(lambda: store.patients.count() > 0, within=60)
    notifications: list[tuple[str, str]] = []
    workspace.orders.notifier.notified.connect(lambda t, x: notifications.append((t, x)))

    # A draft: patient and a test from the draft's own search box, then "Send to Rupa".
    desk.window.show_pane("drafts")
    drafts = desk.window.pane("drafts")
    assert isinstance(drafts, DraftsPage)
    drafts.new_button.click()
    editor = drafts.editor
    patient = store.patients.search("")[0]
    qtbot.keyClicks(editor.patient_search, patient.last_name)
    editor.patient_search.flush()
    await wait_until(lambda: editor.patient_results.count() > 0)
    editor.patient_results.itemClicked.emit(editor.patient_results.item(0))
    qtbot.keyClicks(editor.test_search, "lipid")
    editor.test_search.flush()
    await wait_until(lambda: editor.test_results.count() > 0)
    editor.test_results.itemActivated.emit(editor.test_results.item(0))
    draft_id = editor.draft_id
    assert draft_id is not None
    assert len(store.drafts.get(draft_id).lab_test_ids) == 1
    editor.send_button.click()
    await wait_until(lambda: store.drafts.get(draft_id).state is DraftState.SENT, within=30)
    intent_id = store.drafts.get(draft_id).intent_id
    assert intent_id is not None
    await wait_until(lambda: drafts.cell(drafts.row_of(draft_id), 3) == "Sent to Rupa")

    # Check out in the embedded web view: sign in to Rupa's page, submit the order.
    launcher = workspace.orders.launcher
    returns: list[object] = []
    launcher.returned.connect(returns.append)
    editor.checkout_button.click()
    view = launcher.view_for(draft_id)
    assert isinstance(view, CheckoutView)
    await wait_for_element(view, LoginForm.ID)
    await run_js(
        view,
        f"document.getElementById({LoginForm.EMAIL!r}).value = {DEMO_LOGIN_EMAIL!r};"
        f"document.getElementById({LoginForm.PASSWORD!r}).value = {DEMO_LOGIN_PASSWORD!r};"
        f"document.getElementById({LoginForm.SUBMIT_ID!r}).click();",
    )
    await wait_for_element(view, CheckoutForm.SUBMIT_ID)
    await run_js(view, f"document.getElementById({CheckoutForm.SUBMIT_ID!r}).click();")
    await wait_until(lambda: store.drafts.get(draft_id).state is DraftState.CHECKED_OUT, within=30)
    await wait_until(lambda: launcher.view_for(draft_id) is None)  # the view closed itself
    order_id = store.drafts.get(draft_id).order_id
    assert order_id is not None
    [returned] = returns  # the embedded view caught the navigation to the return URL
    assert (returned.draft_id, returned.order_id) == (draft_id, order_id)  # type: ignore[attr-defined]
    assert store.orders.row(order_id).draft_id == draft_id
    # the draft leaves the drafts list (found with its order); its editor shows the order
    await wait_until(lambda: drafts.row_of(draft_id) == -1)
    assert editor.draft_id == draft_id
    assert editor.state_label.text() == "Order placed: follow it in Orders"
    assert f"Rupa's reference: {order_id}" in editor.state_label.toolTip()

    # The order is in the Orders pane, linked to the draft.
    desk.window.show_pane("orders")
    orders = desk.window.pane("orders")
    assert isinstance(orders, OrdersPage)
    await wait_until(lambda: orders.row_of(order_id) >= 0)
    row = orders.row_of(order_id)
    assert orders.cell(row, 2) == "Pending Payment"

    # The simulator advances it; the poller finds the change.
    sandbox_control.advance_order(order_id)
    await wait_until(lambda: orders.cell(orders.row_of(order_id), 2) == "Paid", within=40)
    assert any(
        title == "Order status changed" and "Pending Payment → Paid" in text
        for title, text in notifications
    )
    assert [e.status for e in store.orders.history(order_id)] == ["Pending Payment", "Paid"]

    # Results: the simulator completes it; the PDF is downloaded and shown in its window.
    orders.table.selectRow(orders.row_of(order_id))
    await wait_until(lambda: workspace.orders.orders.current == order_id)
    sandbox_control.advance_order(order_id, to="Complete")
    detail = orders.detail
    await wait_until(detail.view_button.isEnabled, within=40)
    detail.view_button.click()
    assert detail.result_windows is not None
    [shown] = detail.result_windows.open_paths
    window = detail.result_windows.window(shown)
    assert window is not None
    viewer = window.viewer
    assert viewer.page_count > 0
    assert viewer.path is not None
    assert viewer.path.is_relative_to(desk.paths.data_dir)
    assert viewer.path.read_bytes().startswith(b"%PDF")
    await wait_until(lambda: any(title == "Results ready" for title, _ in notifications))
    assert all("order" in text.lower() for _, text in notifications)  # orders, not patients
    assert all(patient.last_name not in text for _, text in notifications)
    await wait_until(lambda: orders.cell(orders.row_of(order_id), 2) == "Complete")
    assert order_id not in workspace.orders.schedule  # finished: no more polling
