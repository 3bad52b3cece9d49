"""The Draft orders pane: add, remove, notes, offline save, send, failed send and retry."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import date

import httpx
import pytest
import pytest_asyncio
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from rupa_desk.core.checkout_return import ReturnEndpoint
from rupa_desk.core.drafts import DraftState
from rupa_desk.core.models import Patient
from rupa_desk.paths import AppPaths
from rupa_desk.services.checkout_linking import CheckoutLinker, CheckoutReturnListener
from rupa_desk.services.errors import Offline, ValidationFailed
from rupa_desk.services.outbox import Outbox
from rupa_desk.services.store import Store
from rupa_desk.ui.messages import Level, Message, MessageBridge
from rupa_desk.ui.pages.drafts import LEFT_CATALOG, DraftsPage
from rupa_desk.ui.presenters.drafts import DraftsPresenter
from rupa_desk.ui.tasks import BackgroundTasks
from rupa_desk.ui.web.launcher import CheckoutLauncher
from tests.fixtures.catalog_data import iter_tests, load_catalog, synthetic_companies
from tests.fixtures.fake_intents import KEY, FakeIntents
from tests.fixtures.qt import unnamed_controls, wait_until

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
    rupa = FakeIntents()
    bridge = MessageBridge()
    messages: list[Message] = []
    bridge.message_shown.connect(messages.append)
    bridge.attach()
    failures: list[str] = []
    tasks = BackgroundTasks(lambda name, exc: failures.append(name))
    presenter: DraftsPresenter
    outbox = Outbox(
        rupa,
        store.drafts,
        return_url_for=ReturnEndpoint.embedded().url_for,
        draft_id_key=KEY,
        on_change=lambda d: presenter.on_draft_saved(d),
    )
    linker = CheckoutLinker(rupa, store.drafts, store.orders)
    listener = CheckoutReturnListener(linker.link)
    launcher = CheckoutLauncher(app_paths, "demo")
    opened: list[str] = []
    presenter = DraftsPresenter(
        store, outbox, linker, launcher, listener, bridge, tasks, open_url=opener(opened)
    )
    page = DraftsPage(presenter)
    qtbot.addWidget(page)
    page.resize(1100, 700)
    page.show()
    yield Pane(page, presenter, store, rupa, messages, failures, opened)
    await tasks.cancel_all()
    await listener.aclose()
    assert failures == []


def opener(opened: list[str]) -> Callable[[str], bool]:
    """The system browser: records what it was asked to open."""

    def open_url(url: str) -> bool:
        opened.append(url)
        return True

    return open_url


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
    assert pane.page.drafts.rowCount() == 1
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
    assert pane.page.drafts.item(0, 0).text() == "Ada Lovelace"
    assert pane.page.drafts.item(0, 1).text() == "2"
    assert pane.page.drafts.item(0, 3).text() == "Local only"
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
    assert not editor.checkout_button.isEnabled()
    editor.send_button.click()
    await wait_until(lambda: pane.store.drafts.get(draft_id).state is DraftState.SENT)
    intent_id = pane.store.drafts.get(draft_id).intent_id
    assert intent_id in pane.rupa.intents
    assert pane.rupa.intents[intent_id].metadata == {KEY: draft_id}
    await wait_until(lambda: editor.state_label.text() == f"Sent to Rupa ({intent_id})")
    assert editor.checkout_button.isEnabled()
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
    pane.rupa.fail = [Offline()]
    editor.send_button.click()
    await wait_until(lambda: pane.store.drafts.get(draft_id).state is DraftState.QUEUED)
    await wait_until(lambda: editor.state_label.text().startswith("Waiting for the connection"))
    assert editor.send_button.text() == "Retry"
    assert pane.messages[-1].level is Level.WARNING
    assert "will be sent when Rupa is reachable" in pane.messages[-1].text
    # still editable offline, and saved
    add_test_by_search(qtbot, pane, "a1c")
    assert len(pane.store.drafts.get(draft_id).lab_test_ids) == 2

    sent = await pane.presenter.send_queued()  # what the workspace does when Rupa is back
    assert [d.id for d in sent] == [draft_id]
    assert pane.store.drafts.get(draft_id).state is DraftState.SENT
    assert "Back online: sent 1 waiting draft(s) to Rupa (Ada Lovelace)" in pane.messages[-1].text
    await wait_until(lambda: editor.state_label.text().startswith("Sent to Rupa"))


async def test_a_refused_send_shows_the_reason_and_retry_sends_it(qtbot: QtBot, pane: Pane) -> None:
    draft_id = await new_ready_draft(qtbot, pane)
    editor = pane.page.editor
    pane.rupa.fail = [ValidationFailed({"lab_tests": ("This test cannot be ordered.",)})]
    editor.send_button.click()
    await wait_until(lambda: pane.store.drafts.get(draft_id).state is DraftState.FAILED)
    await wait_until(lambda: editor.state_label.text().startswith("Failed to send:"))
    assert "cannot be ordered" in editor.state_label.text()
    assert "Failed to send" in pane.page.drafts.item(0, 3).text()
    assert pane.messages[-1].level is Level.ERROR
    assert editor.send_button.text() == "Retry"
    editor.send_button.click()
    await wait_until(lambda: pane.store.drafts.get(draft_id).state is DraftState.SENT)


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
    flags = [pane.page.editor.tests.item(r, 2).text() for r in range(2)]
    assert flags == ["", LEFT_CATALOG]
    assert "1 left the catalog" in pane.page.drafts.item(0, 1).text()


async def test_add_to_draft_from_the_catalog_goes_to_the_shown_draft(
    qtbot: QtBot, pane: Pane
) -> None:
    draft_id = await new_ready_draft(qtbot, pane)
    test = pane.store.catalog.get_test(next(iter_tests(1)).id)
    message = await pane.presenter.add_lab_test(test)
    assert test.id in pane.store.drafts.get(draft_id).lab_test_ids
    assert "current draft (2 tests)" in message
    assert pane.page.editor.tests.rowCount() == 2


async def test_delete_draft(qtbot: QtBot, pane: Pane) -> None:
    draft_id = await new_ready_draft(qtbot, pane)
    pane.page.delete_button.click()
    assert pane.page.drafts.rowCount() == 0
    assert pane.store.drafts.all() == []
    assert pane.presenter.current is None
    assert not pane.page.editor.isEnabled()
    assert draft_id


async def test_open_in_browser_points_the_return_at_the_loopback_listener(
    qtbot: QtBot, pane: Pane
) -> None:
    draft_id = await new_ready_draft(qtbot, pane)
    editor = pane.page.editor
    editor.send_button.click()
    await wait_until(lambda: pane.store.drafts.get(draft_id).state is DraftState.SENT)
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
