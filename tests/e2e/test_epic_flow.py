"""Epic end to end: the whole desk against the Rupa and Epic simulators over loopback HTTP.

Connect to Epic → find Camila Lopez → Use for Rupa → create her on Rupa → a draft → check out
in the embedded web view → the order completes → its result PDF → File to Epic: filed exactly
once, checked in the Epic simulator's own data; the same with the create's answer lost; and
the same again with "File results to Epic automatically" on, nobody pressing File to Epic.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from pytestqt.qtbot import QtBot

from rupa_desk.core.drafts import DraftState
from rupa_desk.desk import Desk
from rupa_desk.epic_sandbox.config import DEMO_CLIENT_ID
from rupa_desk.epic_sandbox.server import EpicServer
from rupa_desk.sandbox.config import DEMO_LOGIN_EMAIL, DEMO_LOGIN_PASSWORD
from rupa_desk.sandbox.forms import CheckoutForm, LoginForm
from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.services.epic.filing import ORDERED_TEST_SYSTEM
from rupa_desk.settings import EpicSettings, demo
from rupa_desk.ui.pages.drafts import DraftsPage
from rupa_desk.ui.pages.orders import OrdersPage
from rupa_desk.ui.pages.patients import PatientsPage
from rupa_desk.ui.presenters.session import SessionState
from rupa_desk.ui.web.checkout_view import CheckoutView
from tests.e2e.test_order_flow import run_js, wait_for_element
from tests.fixtures.browser import PractitionerBrowser
from tests.fixtures.desk import MakeDesk, answer_pin_offer
from tests.fixtures.epic import PlayedEpicBrowser, validated
from tests.fixtures.qt import wait_until
from tests.fixtures.sandbox import SandboxControl

CAMILA = "erXuFYUfucBZaryVksYEcMg3"


class Browsers:
    """The system browser: Epic's sign-in is played at once, Rupa's is recorded for the test."""

    def __init__(self) -> None:
        self.rupa_urls: list[str] = []
        self.epic = PlayedEpicBrowser()

    def __call__(self, url: str) -> bool:
        if "/oauth2/authorize" in url:
            return self.epic(url)
        self.rupa_urls.append(url)
        return True


async def signed_in_desk(
    make_desk: MakeDesk,
    sandbox: SandboxServer,
    epic: EpicServer,
    browsers: Browsers,
    *,
    epic_auto_file: bool = False,
) -> Desk:
    settings = EpicSettings(epic.fhir_base, DEMO_CLIENT_ID)
    desk = await make_desk(
        demo(sandbox.url),
        opener=browsers,
        poll_interval_s=10,
        epic=settings,
        epic_auto_file=epic_auto_file,
    )
    await wait_until(lambda: desk.session.view.state is SessionState.SIGNED_OUT)
    desk.sign_in_page.sign_in_button.click()
    await wait_until(lambda: browsers.rupa_urls)
    with PractitionerBrowser(sandbox.url) as browser:
        location = await asyncio.to_thread(browser.approve, browsers.rupa_urls[0])
    async with httpx.AsyncClient(timeout=30) as http:
        await http.get(location)
    await wait_until(lambda: desk.session.view.state is SessionState.SIGNED_IN, within=30)
    await answer_pin_offer(desk)
    return desk


@pytest.mark.parametrize(
    ("answer_lost", "automatic"), [(False, False), (True, False), (False, True), (True, True)]
)
async def test_camila_from_epic_to_rupa_and_her_result_filed_to_epic_once(
    qtbot: QtBot,
    make_desk: MakeDesk,
    sandbox: SandboxServer,
    sandbox_control: SandboxControl,
    epic: EpicServer,
    answer_lost: bool,
    automatic: bool,
) -> None:
    browsers = Browsers()
    desk = await signed_in_desk(make_desk, sandbox, epic, browsers, epic_auto_file=automatic)
    workspace = desk.workspace
    assert workspace is not None
    store = workspace.store
    await wait_until(lambda: store.catalog.test_count() == sandbox.config.lab_tests, within=60)

    # Find in Epic → Use for Rupa → Create patient.
    desk.window.show_pane("patients")
    patients = desk.window.pane("patients")
    assert isinstance(patients, PatientsPage)
    patients.epic_button.click()
    finder = patients.epic_dialog
    assert finder is not None
    finder.family.setText("Lopez")
    finder.given.setText("Camila")
    finder.birth_date.setText("1987-09-12")
    finder.search_button.click()
    await wait_until(lambda: finder.table.rowCount() == 1, within=30)
    assert desk.status_bar.texts()["Epic"].startswith("Epic: connected until ")
    finder.use_button.click()
    patients.form.create_button.click()

    def created() -> list[object]:
        return [p for p in store.patients.search("camila") if p.email == "camila.lopez@example.com"]

    await wait_until(created, within=30)
    [camila] = [p for p in store.patients.search("camila") if p.email == "camila.lopez@example.com"]
    await wait_until(lambda: store.epic_links.link_for(camila.id) is not None)
    link = store.epic_links.link_for(camila.id)
    assert link is not None
    assert (link.epic_patient_id, link.mrn) == (CAMILA, "203713")

    # A draft for her, sent and checked out in the embedded web view.
    desk.window.show_pane("drafts")
    drafts = desk.window.pane("drafts")
    assert isinstance(drafts, DraftsPage)
    drafts.new_button.click()
    editor = drafts.editor
    qtbot.keyClicks(editor.patient_search, "camila.lopez@example.com")
    editor.patient_search.flush()
    await wait_until(lambda: editor.patient_results.count() == 1)
    editor.patient_results.itemClicked.emit(editor.patient_results.item(0))
    qtbot.keyClicks(editor.test_search, "lipid")
    editor.test_search.flush()
    await wait_until(lambda: editor.test_results.count() > 0)
    editor.test_results.itemActivated.emit(editor.test_results.item(0))
    draft_id = editor.draft_id
    assert draft_id is not None
    assert store.drafts.get(draft_id).patient_id == camila.id
    editor.send_button.click()
    await wait_until(lambda: store.drafts.get(draft_id).state is DraftState.SENT, within=30)
    launcher = workspace.orders.launcher
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
    await wait_until(lambda: launcher.view_for(draft_id) is None)
    order_id = store.drafts.get(draft_id).order_id
    assert order_id is not None

    # The order completes; its result PDF is downloaded.
    desk.window.show_pane("orders")
    orders = desk.window.pane("orders")
    assert isinstance(orders, OrdersPage)
    await wait_until(lambda: orders.row_of(order_id) >= 0)
    orders.table.selectRow(orders.row_of(order_id))
    await wait_until(lambda: workspace.orders.orders.current == order_id)
    if answer_lost:
        epic.epic.faults.lose_create_answers = 1
    sandbox_control.advance_order(order_id, to="Complete")
    detail = orders.detail
    await wait_until(detail.view_button.isEnabled, within=40)

    # File to Epic (or nobody, when automatic): exactly once, even when the create's answer
    # is lost.
    bar = detail.epic_bar
    assert bar is not None
    if not automatic:
        await wait_until(bar.file_button.isEnabled)
        assert bar.state.text() == "The results are not filed to the Epic chart yet."
        bar.file_button.click()
    await wait_until(
        lambda: bar.state.text() == "The results are filed to the Epic chart.", within=30
    )
    await wait_until(
        lambda: not [t for t in workspace.tasks.running if t.get_name() == "epic-auto-filing"]
    )
    ordered_tests = [t.id for t in store.orders.ordered_tests(order_id) if t.results_file]
    with epic.epic.lock:
        documents = list(epic.epic.documents.values())
        creates = [p for m, p in epic.epic.requests if m == "POST"]
    assert len(documents) == len(ordered_tests) == len(creates)
    assert epic.epic.faults.lose_create_answers == 0  # the lost answer did happen
    for document in documents:
        model = validated(document)
        assert model.subject.reference == f"Patient/{CAMILA}"
        assert model.identifier[0].system == ORDERED_TEST_SYSTEM
        assert model.identifier[0].value in ordered_tests
        assert model.type.coding[0].code == "11502-2"
