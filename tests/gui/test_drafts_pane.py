"""The Draft orders pane: add, remove, notes, offline save, send, failed send and retry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date

import httpx
import pytest
import pytest_asyncio
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QToolTip, QWidget
from pytestqt.qtbot import QtBot

from rupa_desk.core.checkout_return import CheckoutReturn, ReturnEndpoint
from rupa_desk.core.drafts import MAX_NOTES_CHARS, DraftState
from rupa_desk.core.models import Patient
from rupa_desk.paths import AppPaths
from rupa_desk.services.errors import Offline, ServerError, ValidationFailed
from rupa_desk.services.store import Store
from rupa_desk.ui.bug_reports import BugReporter
from rupa_desk.ui.main_window import MainWindow
from rupa_desk.ui.messages import BugReport, Level, Message, MessageBridge
from rupa_desk.ui.pages.drafts import LEFT_CATALOG, DraftsPage
from rupa_desk.ui.presenters.drafts import DraftsPresenter
from rupa_desk.ui.window_state import WindowState
from tests.fixtures.catalog_data import iter_tests, load_catalog, synthetic_companies
from tests.fixtures.drafts_env import DraftsEnv, drafts_env
from tests.fixtures.fake_intents import KEY, FakeIntents
from tests.fixtures.qt import unnamed_controls, wait_until

SENT_STATE = "Sent to Rupa: check out to place the order"
PLACED_STATE = "Order placed: follow it in Orders"
ADA = Patient("pat_0000001", "Ada", "Lovelace", "ada@example.com", birthday=date(1815, 12, 10))


@dataclass
class Pane:
    page: DraftsPage
    presenter: DraftsPresenter
    store: Store
    rupa: FakeIntents
    messages: list[Message]
    failures: list[str]
    opened: list[str]
    env: DraftsEnv

    def draft(self) -> str:
        assert self.presenter.current is not None
        return self.presenter.current


@pytest.fixture
def store(app_paths: AppPaths) -> Iterator[Store]:
    with Store.open(app_paths.data_dir / "drafts-test.sqlite3") as opened:
        load_catalog(opened, synthetic_companies(), iter_tests(300))
        opened.patients.upsert([ADA])
        yield opened


@pytest_asyncio.fixture
async def pane(qtbot: QtBot, store: Store, app_paths: AppPaths) -> AsyncIterator[Pane]:
    env = drafts_env(store, app_paths)
    page = DraftsPage(env.presenter)
    qtbot.addWidget(page)
    page.resize(1100, 700)
    page.show()
    yield Pane(page, env.presenter, store, env.rupa, env.messages, env.failures, env.opened, env)
    await env.close()
    assert env.failures == []


def choose_ada(qtbot: QtBot, pane: Pane) -> None:
    editor = pane.page.editor
    qtbot.keyClicks(editor.patient_search, "love")
    editor.patient_search.flush()
    assert editor.patient_results.count() == 1
    editor.patient_results.itemClicked.emit(editor.patient_results.item(0))


def add_test_by_search(qtbot: QtBot, pane: Pane, text: str) -> str:
    editor = pane.page.editor
    editor.test_search.clear()
    qtbot.keyClicks(editor.test_search, text)
    editor.test_search.flush()
    assert editor.test_results.count() > 0
    qtbot.keyClick(editor.test_search, Qt.Key.Key_Return)
    return str(editor.test_results.item(0).data(Qt.ItemDataRole.UserRole))


async def new_ready_draft(qtbot: QtBot, pane: Pane) -> str:
    pane.page.new_button.click()
    choose_ada(qtbot, pane)
    add_test_by_search(qtbot, pane, "lipid")
    return pane.draft()


async def test_a_new_draft_with_patient_and_tests_is_saved_as_it_is_made(
    qtbot: QtBot, pane: Pane
) -> None:
    pane.page.new_button.click()
    assert pane.page.model.rowCount() == 1
    draft_id = pane.draft()
    assert pane.store.drafts.get(draft_id).state is DraftState.LOCAL
    choose_ada(qtbot, pane)
    assert pane.store.drafts.get(draft_id).patient_id == ADA.id
    assert pane.page.editor.patient_label.text() == "Ada Lovelace"
    first = add_test_by_search(qtbot, pane, "lipid")
    second = add_test_by_search(qtbot, pane, "a1c")
    assert pane.store.drafts.get(draft_id).lab_test_ids == (first, second)
    assert pane.page.editor.tests.rowCount() == 2
    assert pane.page.editor.total_label.text().startswith("Estimated total: $")
    assert pane.page.cell(0, 0) == "Ada Lovelace"
    assert pane.page.cell(0, 1) == "2"
    assert pane.page.cell(0, 3) == "Local only"
    assert unnamed_controls(pane.page) == []


async def test_delete_removes_the_selected_test(qtbot: QtBot, pane: Pane) -> None:
    draft_id = await new_ready_draft(qtbot, pane)
    kept = add_test_by_search(qtbot, pane, "a1c")
    tests = pane.page.editor.tests
    tests.setFocus()
    tests.selectRow(0)
    qtbot.keyClick(tests, Qt.Key.Key_Delete)
    assert pane.store.drafts.get(draft_id).lab_test_ids == (kept,)
    assert tests.rowCount() == 1


async def test_notes_are_saved_keystroke_by_keystroke(qtbot: QtBot, pane: Pane) -> None:
    draft_id = await new_ready_draft(qtbot, pane)
    notes = pane.page.editor.notes
    notes.setFocus()
    qtbot.keyClicks(notes, "Fast")
    assert pane.store.drafts.get(draft_id).notes == "Fast"
    qtbot.keyClicks(notes, "ing 12h")
    assert pane.store.drafts.get(draft_id).notes == "Fasting 12h"
    # another draft and back: the notes come from the database
    pane.page.new_button.click()
    assert notes.toPlainText() == ""
    pane.page.drafts.selectRow(pane.page.row_of(draft_id))
    assert notes.toPlainText() == "Fasting 12h"


async def test_send_creates_the_intent_and_edits_then_need_an_update(
    qtbot: QtBot, pane: Pane
) -> None:
    draft_id = await new_ready_draft(qtbot, pane)
    editor = pane.page.editor
    assert editor.send_button.text() == "Send to Rupa"
    assert editor.checkout_button.text() == "Send and check out"  # never sent: sends first
    assert not editor.browser_button.isEnabled()
    editor.send_button.click()
    await wait_until(lambda: pane.store.drafts.get(draft_id).state is DraftState.SENT)
    intent_id = pane.store.drafts.get(draft_id).intent_id
    assert intent_id in pane.rupa.intents
    assert pane.rupa.intents[intent_id].metadata == {KEY: draft_id}
    await wait_until(lambda: editor.state_label.text() == SENT_STATE)
    assert f"Rupa's reference: {intent_id}" in editor.state_label.toolTip()
    assert editor.checkout_button.isEnabled()
    assert editor.checkout_button.text() == "Check out"
    assert editor.browser_button.isEnabled()
    assert not editor.send_button.isEnabled()
    assert pane.messages[-1].level is Level.INFO

    add_test_by_search(qtbot, pane, "a1c")
    assert editor.send_button.text() == "Send update"
    assert "changed since" in editor.state_label.text()
    editor.send_button.click()
    await wait_until(lambda: not pane.store.drafts.get(draft_id).needs_update)
    assert pane.rupa.calls == ["create", "update"]
    assert len(pane.rupa.intents[intent_id].lab_test_ids) == 2


async def test_offline_the_draft_is_kept_queued_and_sent_when_back(
    qtbot: QtBot, pane: Pane
) -> None:
    draft_id = await new_ready_draft(qtbot, pane)
    editor = pane.page.editor
    pane.rupa.fail = [Offline()] * 100_000  # offline until the test says otherwise
    editor.send_button.click()
    await wait_until(lambda: pane.store.drafts.get(draft_id).state is DraftState.QUEUED)
    await wait_until(lambda: editor.state_label.text().startswith("Waiting for the connection"))
    assert editor.send_button.text() == "Retry"
    assert pane.messages[-1].level is Level.WARNING
    assert "will be sent by itself when Rupa is reachable" in pane.messages[-1].text
    # still editable offline, and saved
    add_test_by_search(qtbot, pane, "a1c")
    assert len(pane.store.drafts.get(draft_id).lab_test_ids) == 2

    assert not pane.env.connectivity.online  # the failed send said so
    pane.rupa.fail = []  # the network is back
    # nobody presses anything: the queued draft is sent by itself (here on a short backoff)
    await wait_until(lambda: pane.store.drafts.get(draft_id).state is DraftState.SENT)
    assert pane.env.connectivity.online
    assert "Sent 1 waiting draft(s) to Rupa (Ada Lovelace)" in pane.messages[-1].text
    await wait_until(lambda: editor.state_label.text().startswith("Sent to Rupa"))


async def test_a_refused_send_shows_the_reason_and_retry_sends_it(qtbot: QtBot, pane: Pane) -> None:
    draft_id = await new_ready_draft(qtbot, pane)
    editor = pane.page.editor
    pane.rupa.fail = [ValidationFailed({"lab_tests": ("This test cannot be ordered.",)})]
    editor.send_button.click()
    await wait_until(lambda: pane.store.drafts.get(draft_id).state is DraftState.FAILED)
    await wait_until(lambda: editor.state_label.text() == "Failed to send")
    assert "cannot be ordered" in editor.failure_label.text()  # the reason, on its own lines
    assert editor.failure_label.isVisible()
    assert "Failed to send" in pane.page.cell(0, 3)
    assert pane.messages[-1].level is Level.ERROR
    assert editor.send_button.text() == "Retry"
    editor.send_button.click()
    await wait_until(lambda: pane.store.drafts.get(draft_id).state is DraftState.SENT)
    await wait_until(lambda: not editor.failure_label.isVisible())  # sent: no reason left


def state_tooltip_of(pane: Pane, draft_id: str) -> str:
    """The tooltip of a draft's State cell in the list."""
    index = pane.page.model.index(pane.page.row_of(draft_id), 3)
    return str(index.data(Qt.ItemDataRole.ToolTipRole) or "")


def show_in_editor(pane: Pane, draft_id: str) -> None:
    """Select a draft in the list, as the user does."""
    pane.page.drafts.selectRow(pane.page.row_of(draft_id))
    assert pane.page.editor.draft_id == draft_id


async def sent_draft(qtbot: QtBot, pane: Pane) -> str:
    """A new draft, sent to Rupa through the editor."""
    draft_id = await new_ready_draft(qtbot, pane)
    pane.page.editor.send_button.click()
    await wait_until(lambda: pane.store.drafts.get(draft_id).state is DraftState.SENT)
    return draft_id


async def checked_out_draft(qtbot: QtBot, pane: Pane) -> tuple[str, str]:
    """A sent draft whose embedded checkout returned with an order; (draft id, order id)."""
    draft_id = await sent_draft(qtbot, pane)
    order = pane.rupa.check_out(pane.store.drafts.get(draft_id).intent_id or "")
    pane.env.launcher.returned.emit(CheckoutReturn(draft_id, order.id))
    await wait_until(lambda: pane.store.drafts.get(draft_id).state is DraftState.CHECKED_OUT)
    return draft_id, order.id


async def test_the_list_and_the_editor_show_each_state_with_rupas_ids(
    qtbot: QtBot, pane: Pane
) -> None:
    """Sent: the order intent id; checked out: the order id; failed: the reason and Retry."""
    sent = await sent_draft(qtbot, pane)
    intent_id = pane.store.drafts.get(sent).intent_id
    assert intent_id is not None
    checked_out, order_id = await checked_out_draft(qtbot, pane)
    assert "Order placed for Ada Lovelace" in pane.messages[-1].text
    assert order_id not in pane.messages[-1].text  # no internal id where a person reads
    pane.rupa.fail = [ValidationFailed({"lab_tests": ("This test cannot be ordered.",)})]
    failed = await new_ready_draft(qtbot, pane)
    pane.page.editor.send_button.click()
    await wait_until(lambda: pane.store.drafts.get(failed).state is DraftState.FAILED)
    editor = pane.page.editor

    # in the list: the state in words in the cell; the whole state, and Rupa's reference
    # (for a call to Rupa's support), in its tooltip
    await wait_until(lambda: pane.page.cell(pane.page.row_of(sent), 3) == "Sent to Rupa")
    assert state_tooltip_of(pane, sent) == f"{SENT_STATE}\nRupa's reference: {intent_id}"
    # checked out: it left the list (it is found with the order it became)
    assert pane.page.row_of(checked_out) == -1
    assert pane.page.cell(pane.page.row_of(failed), 3) == "Failed to send"
    assert state_tooltip_of(pane, failed).startswith("Failed to send: ")
    assert "This test cannot be ordered." in state_tooltip_of(pane, failed)
    assert "press Retry" in state_tooltip_of(pane, failed)

    # in the editor of the selected draft: the same, and the button that does the next step
    show_in_editor(pane, sent)
    assert editor.state_label.text() == SENT_STATE
    assert editor.checkout_button.isEnabled()
    pane.presenter.set_current(checked_out)  # as right after its checkout
    assert editor.draft_id == checked_out
    assert editor.state_label.text() == PLACED_STATE
    assert editor.state_label.toolTip() == f"{PLACED_STATE}\nRupa's reference: {order_id}"
    assert not editor.send_button.isEnabled()
    assert not editor.checkout_button.isEnabled()
    show_in_editor(pane, failed)
    assert editor.state_label.text() == "Failed to send"
    assert "This test cannot be ordered." in editor.failure_label.text()
    assert editor.failure_label.isVisible()
    assert editor.send_button.text() == "Retry"
    assert editor.send_button.isEnabled()
    assert editor.state_label.isVisible()


async def test_ctrl_c_on_a_sent_draft_copies_rupas_reference_and_says_copied(
    qtbot: QtBot, pane: Pane
) -> None:
    local = await new_ready_draft(qtbot, pane)
    show_in_editor(pane, local)
    copy = pane.page.copy_reference_action
    assert copy in pane.page.drafts.actions()  # its context menu
    assert pane.page.drafts.contextMenuPolicy() == Qt.ContextMenuPolicy.ActionsContextMenu
    assert not copy.isEnabled()  # not sent: Rupa has no reference for it
    sent = await sent_draft(qtbot, pane)
    intent_id = pane.store.drafts.get(sent).intent_id
    assert intent_id is not None
    show_in_editor(pane, sent)
    assert copy.isEnabled()
    QGuiApplication.clipboard().setText("something else")
    window = pane.page.window()
    window.activateWindow()
    await wait_until(window.isActiveWindow)
    pane.page.drafts.setFocus()
    qtbot.keyClick(pane.page.drafts, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == intent_id  # the whole reference
    assert QToolTip.text() == "Copied"


async def test_a_checkout_closed_or_not_loaded_leaves_the_draft_and_says_so(
    qtbot: QtBot, pane: Pane
) -> None:
    """The launcher's signals as the embedded view sends them: the user is told what
    happened, and the sent draft keeps its state, its order intent and its checkout."""
    draft_id = await sent_draft(qtbot, pane)
    before = pane.store.drafts.get(draft_id)
    calls = list(pane.rupa.calls)
    launcher = pane.env.launcher

    load_error = (
        "The checkout page did not load (Connection refused). The draft is safe: try Reload, "
        "or Open in browser."
    )
    launcher.load_failed.emit(draft_id, load_error)
    assert (pane.messages[-1].level, pane.messages[-1].text) == (Level.WARNING, load_error)
    assert pane.store.drafts.get(draft_id) == before

    launcher.closed.emit(draft_id)
    closed = pane.messages[-1]
    assert closed.level is Level.INFO
    assert "closed before the order was submitted" in closed.text
    assert "The draft is unchanged" in closed.text
    assert "check it out again" in closed.text

    after = pane.store.drafts.get(draft_id)
    assert after == before
    assert (after.state, after.intent_id, after.order_id) == (
        DraftState.SENT,
        before.intent_id,
        None,
    )
    assert pane.rupa.calls == calls  # nothing was sent to Rupa
    assert pane.page.cell(pane.page.row_of(draft_id), 3) == "Sent to Rupa"
    assert f"Rupa's reference: {before.intent_id}" in state_tooltip_of(pane, draft_id)
    show_in_editor(pane, draft_id)
    assert pane.page.editor.checkout_button.isEnabled()  # it can be checked out again


async def test_a_checkout_page_that_fails_to_load_then_is_closed_changes_nothing(
    qtbot: QtBot, pane: Pane
) -> None:
    """The real embedded view, pointed at an address where nothing listens: its load error
    and its closing reach the user through the pane's messages; the draft is as it was."""
    pane.rupa.checkout_base = "http://127.0.0.1:1/checkout/"  # nothing listens: no network
    draft_id = await sent_draft(qtbot, pane)
    before = pane.store.drafts.get(draft_id)
    launcher = pane.env.launcher

    pane.page.editor.checkout_button.click()
    view = launcher.view_for(draft_id)
    assert view is not None
    await wait_until(lambda: "did not load" in pane.messages[-1].text, within=30)
    warning = pane.messages[-1]
    assert warning.level is Level.WARNING
    assert "The draft is safe" in warning.text
    assert warning.text == view.status_text  # what the view says, in the app's message bar
    assert pane.store.drafts.get(draft_id) == before

    view.close()
    await wait_until(lambda: launcher.view_for(draft_id) is None)
    assert "closed before the order was submitted" in pane.messages[-1].text
    assert pane.store.drafts.get(draft_id) == before


async def test_a_draft_without_patient_is_not_sent(qtbot: QtBot, pane: Pane) -> None:
    pane.page.new_button.click()
    add_test_by_search(qtbot, pane, "lipid")
    pane.page.editor.send_button.click()
    await wait_until(lambda: bool(pane.messages))
    assert "Choose a patient" in pane.messages[-1].text
    assert pane.rupa.calls == []


async def test_a_test_that_left_the_catalog_is_flagged(qtbot: QtBot, pane: Pane) -> None:
    draft_id = await new_ready_draft(qtbot, pane)
    pane.store.drafts.add_test(draft_id, "labts_gone000", name="Retired panel", price=None)
    pane.page.refresh()
    flags = [pane.page.editor.tests.item(r, 3).text() for r in range(2)]
    assert flags == ["", LEFT_CATALOG]
    assert "1 left catalog" in pane.page.cell(0, 1)


async def test_add_to_draft_from_the_catalog_goes_to_the_shown_draft(
    qtbot: QtBot, pane: Pane
) -> None:
    draft_id = await new_ready_draft(qtbot, pane)
    test = pane.store.catalog.get_test(next(iter_tests(1)).id)
    message = await pane.presenter.add_lab_test(test)
    assert test.id in pane.store.drafts.get(draft_id).lab_test_ids
    assert message is not None
    assert "to the draft for Ada Lovelace (2 tests)" in message
    assert pane.page.editor.tests.rowCount() == 2


def answer_delete(pane: Pane, *, delete: bool) -> str:
    """Answer the open "Delete draft?" question; returns what it said."""
    box = pane.page.confirm_box
    assert box is not None
    assert box.isVisible()
    assert unnamed_controls(box) == []
    text = box.text()
    wanted = "Delete draft" if delete else "Keep it"
    [button] = [b for b in box.buttons() if b.text() == wanted]
    button.click()
    return text


async def test_delete_draft_asks_first(qtbot: QtBot, pane: Pane) -> None:
    draft_id = await new_ready_draft(qtbot, pane)
    pane.page.delete_button.click()
    question = answer_delete(pane, delete=False)
    assert "only on this computer" in question
    assert [d.id for d in pane.store.drafts.all()] == [draft_id]  # kept
    await wait_until(lambda: pane.page.confirm_box is None)

    pane.page.delete_button.click()
    answer_delete(pane, delete=True)
    assert pane.page.model.rowCount() == 0
    assert pane.store.drafts.all() == []
    assert pane.presenter.current is None
    assert not pane.page.editor.isEnabled()
    assert pane.page.empty_hint.isVisible()


async def test_deleting_a_draft_sent_to_rupa_says_what_stays_on_rupa(
    qtbot: QtBot, pane: Pane
) -> None:
    draft_id = await sent_draft(qtbot, pane)
    intent_id = pane.store.drafts.get(draft_id).intent_id
    pane.page.delete_button.click()
    question = answer_delete(pane, delete=False)
    assert intent_id is not None
    assert intent_id not in question  # no reference in the words
    assert "It was sent to Rupa: deleting it here leaves it on Rupa" in question
    assert pane.store.drafts.get(draft_id).intent_id == intent_id


async def test_open_in_browser_points_the_return_at_the_loopback_listener(
    qtbot: QtBot, pane: Pane
) -> None:
    draft_id = await sent_draft(qtbot, pane)
    editor = pane.page.editor
    editor.browser_button.click()
    await wait_until(lambda: bool(pane.opened))
    draft = pane.store.drafts.get(draft_id)
    assert pane.opened == [draft.checkout_url]
    intent = pane.rupa.intents[draft.intent_id or ""]
    assert intent.return_url.startswith("http://127.0.0.1:")
    assert draft_id in intent.return_url
    assert "browser" in pane.messages[-1].text
    # the browser comes back to the listener: the order is linked to the draft
    pane.rupa.check_out(intent.id)
    async with httpx.AsyncClient() as browser:
        page = await browser.get(intent.return_url)
    assert "Order placed" in page.text
    await wait_until(lambda: pane.store.drafts.get(draft_id).state is DraftState.CHECKED_OUT)


async def test_open_in_browser_refuses_a_checkout_address_that_is_not_rupas(
    qtbot: QtBot, pane: Pane
) -> None:
    """A hostile `checkout_url` (a local file here) is not handed to the system."""
    pane.rupa.checkout_base = "file:///etc/"
    draft_id = await sent_draft(qtbot, pane)
    assert (pane.store.drafts.get(draft_id).checkout_url or "").startswith("file:")
    pane.page.editor.browser_button.click()
    await wait_until(lambda: "stopped the checkout" in pane.messages[-1].text)
    assert pane.messages[-1].level is Level.ERROR
    assert "a file on this computer" in pane.messages[-1].text
    assert pane.opened == []
    intent = pane.rupa.intents[pane.store.drafts.get(draft_id).intent_id or ""]
    assert intent.return_url == ReturnEndpoint.embedded().url_for(draft_id)  # not touched


async def test_send_update_keeps_the_checkout_returning_to_the_browser_listener(
    qtbot: QtBot, pane: Pane
) -> None:
    draft_id = await sent_draft(qtbot, pane)
    editor = pane.page.editor
    editor.browser_button.click()
    await wait_until(lambda: bool(pane.opened))
    intent_id = pane.store.drafts.get(draft_id).intent_id or ""
    loopback = pane.rupa.intents[intent_id].return_url
    assert loopback.startswith("http://127.0.0.1:")
    add_test_by_search(qtbot, pane, "a1c")  # changed while the browser shows the checkout
    editor.send_button.click()
    await wait_until(lambda: not pane.store.drafts.get(draft_id).needs_update)
    assert pane.rupa.intents[intent_id].return_url == loopback
    assert len(pane.rupa.intents[intent_id].lab_test_ids) == 2


async def test_check_out_points_a_return_this_run_cannot_catch_back_at_the_view(
    qtbot: QtBot, pane: Pane
) -> None:
    """A draft opened in the browser by an earlier run returns to that run's listener (its
    port is gone): "Check out" in the app points it back at the embedded view first."""
    pane.rupa.checkout_base = "http://127.0.0.1:1/checkout/"  # nothing listens: no network
    draft_id = await new_ready_draft(qtbot, pane)
    pane.page.editor.send_button.click()
    await wait_until(lambda: pane.store.drafts.get(draft_id).state is DraftState.SENT)
    stale = ReturnEndpoint.loopback(9).url_for(draft_id)  # an earlier run's listener
    await pane.env.outbox.use_return_url(draft_id, stale)
    intent_id = pane.store.drafts.get(draft_id).intent_id or ""
    assert pane.rupa.intents[intent_id].return_url == stale

    pane.page.editor.checkout_button.click()
    await wait_until(lambda: pane.env.launcher.view_for(draft_id) is not None)
    assert pane.rupa.intents[intent_id].return_url == ReturnEndpoint.embedded().url_for(draft_id)
    assert pane.store.drafts.get(draft_id).return_url is None


async def test_a_draft_queued_by_a_server_error_is_sent_by_itself_once_rupa_recovers(
    qtbot: QtBot, pane: Pane
) -> None:
    """Rupa answering 5xx is not "offline": no offline→online transition comes to send the
    draft again, so the backoff must."""
    draft_id = await new_ready_draft(qtbot, pane)
    pane.rupa.fail = [ServerError(503)] * 100_000  # Rupa keeps failing
    pane.page.editor.send_button.click()
    await wait_until(lambda: pane.store.drafts.get(draft_id).state is DraftState.QUEUED)
    assert pane.env.connectivity.online  # Rupa answered, with an error
    await wait_until(lambda: pane.rupa.calls.count("lookup") >= 2)  # tried again by itself
    assert pane.store.drafts.get(draft_id).state is DraftState.QUEUED
    pane.rupa.fail = []  # Rupa recovers; nobody touches anything
    await wait_until(lambda: pane.store.drafts.get(draft_id).state is DraftState.SENT)
    assert len(pane.rupa.intents) == 1
    intent_id = pane.store.drafts.get(draft_id).intent_id
    await wait_until(lambda: pane.page.cell(pane.page.row_of(draft_id), 3) == "Sent to Rupa")
    assert f"Rupa's reference: {intent_id}" in state_tooltip_of(pane, draft_id)


async def test_at_the_default_window_size_the_list_shows_every_column(
    qtbot: QtBot, pane: Pane, app_paths: AppPaths
) -> None:
    """1180×760, the size the app opens at: no column of the list is cut or hidden behind a
    horizontal scroll bar, and the draft's tests say their lab company."""
    window = MainWindow(bridge=MessageBridge(), window_state=WindowState(app_paths.config_dir))
    qtbot.addWidget(window)
    panes: dict[str, QWidget] = {key: QWidget() for key in window.pane_keys}
    panes["drafts"] = pane.page
    window.install_panes(panes)
    window.show_workspace()
    window.show()
    window.show_pane("drafts")
    try:
        await check_the_list_at_the_default_size(qtbot, pane, window)
    finally:
        pane.page.setParent(None)  # the pane fixture owns it (and closes it)


async def check_the_list_at_the_default_size(qtbot: QtBot, pane: Pane, window: MainWindow) -> None:
    assert (window.width(), window.height()) == (1180, 760)
    # drafts in every state the list can show, the longest texts included
    sent = await new_ready_draft(qtbot, pane)
    add_test_by_search(qtbot, pane, "a1c")
    pane.page.editor.send_button.click()
    await wait_until(lambda: pane.store.drafts.get(sent).state is DraftState.SENT)
    add_test_by_search(qtbot, pane, "vitamin")  # "Sent · changed"
    await checked_out_draft(qtbot, pane)  # "Order placed"
    pane.rupa.fail = [ValidationFailed({"lab_tests": ("This test cannot be ordered.",)})]
    failed = await new_ready_draft(qtbot, pane)
    pane.page.editor.send_button.click()
    await wait_until(lambda: pane.store.drafts.get(failed).state is DraftState.FAILED)
    pane.store.drafts.add_test(failed, "labts_gone000", name="Retired panel", price=None)
    pane.page.refresh()
    await wait_until(lambda: pane.page.drafts.isVisible())

    table = pane.page.drafts
    header = table.horizontalHeader()
    assert not table.horizontalScrollBar().isVisible()
    last = header.count() - 1
    assert header.sectionViewportPosition(last) + header.sectionSize(last) <= (
        table.viewport().width()
    )
    for column in range(header.count()):
        texts = [pane.page.cell(row, column) for row in range(pane.page.model.rowCount())]
        widest = max(table.fontMetrics().horizontalAdvance(t) for t in texts)
        assert header.sectionSize(column) >= widest, (column, texts)
    editor_tests = pane.page.editor.tests
    assert editor_tests.horizontalHeaderItem(1).text() == "Lab company"
    companies = [editor_tests.item(r, 1).text() for r in range(editor_tests.rowCount())]
    assert all(c != "—" for c in companies[:-1])  # the retired test has none
    assert not editor_tests.horizontalScrollBar().isVisible()


@pytest.mark.allow_error_logs
async def test_a_broken_invariant_while_typing_is_a_bug_report_not_a_banner(
    qtbot: QtBot, pane: Pane, app_paths: AppPaths
) -> None:
    """A refused edit is a message (a known error); a draft that breaks its own rules is a
    bug: it reaches the bug reporter with its traceback and no yellow banner hides it."""
    draft_id = await new_ready_draft(qtbot, pane)
    reports: list[BugReport] = []
    pane.env.bridge.bug_reported.connect(reports.append)
    pane.env.bridge.attach()
    notes = pane.page.editor.notes
    notes.setFocus()
    too_long = "x" * (MAX_NOTES_CHARS + 1)
    notes.setPlainText(too_long)  # refused input: a warning, the saved notes stay
    assert [m.level for m in pane.messages] == [Level.WARNING]
    assert "limited" in pane.messages[0].text
    assert pane.store.drafts.get(draft_id).notes == ""
    pane.messages.clear()
    # The saved row says "sent" without an order intent: no code path writes that, so a
    # draft read from it breaks an invariant of `Draft` (a plain ValueError).
    pane.store.db.execute(
        "UPDATE drafts SET status = 'sent', order_intent_id = NULL WHERE id = ?", [draft_id]
    )
    reporter = BugReporter(pane.env.bridge, app_paths.log_file)
    reporter.install()
    try:
        notes.setPlainText("fasting")
        await wait_until(lambda: reports)
    finally:
        reporter.uninstall()
    assert "ValueError: a sent draft has an order intent id" in reports[0].summary
    assert "set_notes" in reports[0].details  # the traceback, through the presenter
    assert pane.messages == []  # not shown as a banner


def editor_geometry(page: DraftsPage) -> list[object]:
    editor = page.editor
    return [
        page.splitter.sizes(),
        editor.geometry(),
        editor.state_label.geometry(),
        editor.send_button.y(),  # its text changes ("Retry"), its place does not
        editor.tests.geometry(),
        editor.notes.geometry(),
    ]


async def test_a_longer_state_never_moves_the_editor(qtbot: QtBot, pane: Pane) -> None:
    """From "Local only" to a refusal with a long reason: the list, the state and the buttons
    keep their places; the whole reason is read under the buttons (the tests give it room),
    and in the state's tooltip."""
    draft_id = await new_ready_draft(qtbot, pane)
    editor = pane.page.editor
    await wait_until(lambda: editor.state_label.text() == "Local only")
    await asyncio.sleep(0.05)  # let the layout settle
    before = editor_geometry(pane.page)
    reason = "This test cannot be ordered for this patient's state. " * 3  # three lines
    pane.rupa.fail = [ValidationFailed({"lab_tests": (reason.strip(),)})]
    editor.send_button.click()
    await wait_until(lambda: pane.store.drafts.get(draft_id).state is DraftState.FAILED)
    await wait_until(lambda: editor.state_label.text() == "Failed to send")
    await asyncio.sleep(0.05)
    after = editor_geometry(pane.page)
    assert after[:4] == before[:4]  # splitter, editor, state, Retry: where they were
    tests_after, notes_before, notes_after = after[4], before[5], after[5]
    assert isinstance(tests_after, QRect)
    assert isinstance(notes_before, QRect)
    assert isinstance(notes_after, QRect)
    # the room comes from the tests (to about one row), the notes give a pixel at most
    assert tests_after.top() > editor.failure_label.geometry().bottom()
    assert tests_after.height() >= editor.tests.minimumHeight()
    assert abs(notes_after.top() - notes_before.top()) <= 2
    assert notes_after.bottom() == notes_before.bottom()
    assert reason.strip() in editor.failure_label.text()  # whole, on as many lines as it takes
    label = editor.failure_label
    assert label.height() >= label.heightForWidth(label.width())
    assert reason.strip() in editor.state_label.toolTip()


async def test_the_patient_list_shows_only_while_there_are_patients_to_pick(
    qtbot: QtBot, pane: Pane
) -> None:
    pane.page.new_button.click()
    editor = pane.page.editor
    assert not editor.patient_results.isVisible()  # no empty box under the search
    assert not editor.test_results.isVisible()
    qtbot.keyClicks(editor.patient_search, "love")
    editor.patient_search.flush()
    assert editor.patient_results.isVisible()
    assert editor.patient_results.count() == 1
    editor.patient_results.itemClicked.emit(editor.patient_results.item(0))
    assert not editor.patient_results.isVisible()  # picked: the box goes away
    qtbot.keyClicks(editor.patient_search, "nobody-matches-this")
    editor.patient_search.flush()
    assert editor.patient_results.count() == 0
    assert not editor.patient_results.isVisible()
    add_test_by_search(qtbot, pane, "lipid")
    assert editor.test_results.isVisible()


async def test_the_test_search_picks_with_up_down_enter_and_types_over_the_last_pick(
    qtbot: QtBot, pane: Pane
) -> None:
    pane.page.new_button.click()
    editor = pane.page.editor
    draft_id = pane.draft()
    pane.page.activateWindow()
    editor.test_search.setFocus(Qt.FocusReason.OtherFocusReason)
    await wait_until(editor.test_search.hasFocus)
    qtbot.keyClicks(editor.test_search, "panel")
    editor.test_search.flush()
    assert editor.test_results.count() > 1
    second = str(editor.test_results.item(1).data(Qt.ItemDataRole.UserRole))
    qtbot.keyClick(editor.test_search, Qt.Key.Key_Down)  # the highlight moves, the keys stay
    assert editor.test_search.hasFocus()
    assert editor.test_results.currentRow() == 1
    qtbot.keyClick(editor.test_search, Qt.Key.Key_Up)
    qtbot.keyClick(editor.test_search, Qt.Key.Key_Up)  # stops at the first
    assert editor.test_results.currentRow() == 0
    qtbot.keyClick(editor.test_search, Qt.Key.Key_Down)
    qtbot.keyClick(editor.test_search, Qt.Key.Key_Return)
    assert pane.store.drafts.get(draft_id).lab_test_ids == (second,)
    # What was typed is selected: the next test is typed over it, with no key to clear it.
    assert editor.test_search.selectedText() == "panel"
    qtbot.keyClicks(editor.test_search, "a1c")
    assert editor.test_search.text() == "a1c"
    editor.test_search.flush()
    first_a1c = str(editor.test_results.item(0).data(Qt.ItemDataRole.UserRole))
    qtbot.keyClick(editor.test_search, Qt.Key.Key_Return)
    assert pane.store.drafts.get(draft_id).lab_test_ids == (second, first_a1c)
    # The tests found are no Tab stop: Tab goes on to the note to the patient.
    assert editor.test_results.isVisible()
    qtbot.keyClick(editor.test_search, Qt.Key.Key_Tab)
    assert editor.notes.hasFocus()


async def test_another_draft_starts_with_empty_searches(qtbot: QtBot, pane: Pane) -> None:
    pane.page.new_button.click()
    editor = pane.page.editor
    first = pane.draft()
    qtbot.keyClicks(editor.test_search, "lipid")
    editor.test_search.flush()
    qtbot.keyClicks(editor.patient_search, "love")
    editor.patient_search.flush()
    assert editor.test_results.isVisible()
    assert editor.patient_results.isVisible()
    pane.page.new_button.click()
    assert pane.draft() != first
    for search, results in (
        (editor.test_search, editor.test_results),
        (editor.patient_search, editor.patient_results),
    ):
        assert search.text() == ""
        assert results.count() == 0
        assert not results.isVisible()
    qtbot.keyClicks(editor.test_search, "lipid")  # the same words search again
    editor.test_search.flush()
    assert editor.test_results.count() > 0


async def test_send_and_check_out_sends_a_new_draft_then_opens_its_checkout(
    qtbot: QtBot, pane: Pane
) -> None:
    """One button from a draft never sent to Rupa's page: it is sent, then checked out."""
    draft_id = await new_ready_draft(qtbot, pane)
    button = pane.page.editor.checkout_button
    assert button.isEnabled()
    assert button.text() == "Send and check out"
    button.click()
    await wait_until(lambda: pane.env.launcher.view_for(draft_id) is not None)
    assert pane.store.drafts.get(draft_id).state is DraftState.SENT
    assert len(pane.rupa.intents) == 1
    await wait_until(lambda: button.text() == "Check out")  # sent: checking out again opens it
    assert button.isEnabled()


async def test_send_and_check_out_opens_nothing_when_the_send_is_refused(
    qtbot: QtBot, pane: Pane
) -> None:
    draft_id = await new_ready_draft(qtbot, pane)
    pane.rupa.fail = [ValidationFailed({"lab_tests": ("This test cannot be ordered.",)})]
    pane.page.editor.checkout_button.click()
    await wait_until(lambda: pane.store.drafts.get(draft_id).state is DraftState.FAILED)
    await wait_until(lambda: bool(pane.messages) and pane.messages[-1].level is Level.ERROR)
    assert "cannot be ordered" in pane.messages[-1].text
    assert pane.env.launcher.view_for(draft_id) is None
    assert pane.page.editor.send_button.text() == "Retry"


async def test_send_and_check_out_without_a_patient_says_so_and_sends_nothing(
    qtbot: QtBot, pane: Pane
) -> None:
    pane.page.new_button.click()
    add_test_by_search(qtbot, pane, "lipid")
    draft_id = pane.draft()
    pane.page.editor.checkout_button.click()
    await wait_until(lambda: bool(pane.messages))
    assert "Choose a patient" in pane.messages[-1].text
    assert pane.rupa.calls == []
    assert pane.env.launcher.view_for(draft_id) is None
