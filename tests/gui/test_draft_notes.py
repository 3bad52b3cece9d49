"""The draft's two notes: the one Rupa shows the patient is labelled so, and the internal note
stays on this computer (checked on the wire, against the simulator over real HTTP)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import pytest_asyncio
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from rupa_desk.core.drafts import MAX_NOTES_CHARS, DraftState
from rupa_desk.paths import AppPaths
from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.services.api import RupaClient
from rupa_desk.services.store import Store
from rupa_desk.settings import demo
from rupa_desk.ui.account_workspace import AccountContext
from rupa_desk.ui.components.status_bar import StatusBar
from rupa_desk.ui.messages import Message, MessageBridge
from rupa_desk.ui.order_workspace import OrderWorkspace
from rupa_desk.ui.pages.drafts import DraftsPage
from rupa_desk.ui.presenters.connectivity import Connectivity
from rupa_desk.ui.presenters.session import Account
from rupa_desk.ui.tasks import BackgroundTasks
from tests.fixtures.orders_env import (
    FreshSimulatorTokens,
    first_ids,
    intents_for_draft,
    quick_limits,
)
from tests.fixtures.qt import wait_until
from tests.fixtures.recording_transport import RecordingTransport

SECRET = "Husband calls about the bill; do not mention the thyroid result"


@dataclass
class Desk:
    page: DraftsPage
    workspace: OrderWorkspace
    store: Store
    wire: RecordingTransport
    messages: list[Message]
    sandbox_url: str


@pytest_asyncio.fixture
async def desk(qtbot: QtBot, sandbox: SandboxServer, app_paths: AppPaths) -> AsyncIterator[Desk]:
    failures: list[str] = []
    tasks = BackgroundTasks(lambda name, exc: failures.append(f"{name}: {exc!r}"))
    wire = RecordingTransport()
    environment = replace(demo(sandbox.url), limits=quick_limits())
    bridge = MessageBridge()
    messages: list[Message] = []
    bridge.message_shown.connect(messages.append)
    bridge.attach()
    async with RupaClient(environment, FreshSimulatorTokens(sandbox.url), transport=wire) as client:
        with Store.for_account(app_paths, "demo", "pra_test") as store:
            context = AccountContext(
                Account("pra_test"),
                environment,
                app_paths,
                client,
                bridge,
                Connectivity(),
                StatusBar(),
                tasks,
            )
            workspace = OrderWorkspace(context, store, use_tray=False)
            page = DraftsPage(workspace.drafts)
            qtbot.addWidget(page)
            page.resize(1100, 760)
            page.show()
            try:
                yield Desk(page, workspace, store, wire, messages, sandbox.url)
            finally:
                await tasks.cancel_all()
                await workspace.close()
                context.status_bar.deleteLater()
    assert failures == []


def label_of(page: DraftsPage, field: object) -> str:
    """The text of the label that names `field` (its buddy)."""
    [label] = [w for w in page.findChildren(QLabel) if w.buddy() is field]
    return label.text()


async def test_the_patient_note_says_the_patient_sees_it_and_the_internal_note_is_never_sent(
    qtbot: QtBot, desk: Desk
) -> None:
    [patient] = first_ids(desk.sandbox_url, "patients", 1)
    [test_id] = first_ids(desk.sandbox_url, "lab_tests", 1)
    draft_id = desk.store.drafts.create(patient_id=patient)
    desk.store.drafts.add_test(draft_id, test_id, name="A test", price=None)
    desk.workspace.drafts.drafts_changed.emit()
    desk.workspace.drafts.set_current(draft_id)
    editor = desk.page.editor
    assert editor.draft_id == draft_id

    # Each note says who reads it.
    assert label_of(desk.page, editor.notes) == "Note to the patient (shown on their order)"
    assert "patient sees it" in editor.notes.placeholderText()
    assert label_of(desk.page, editor.internal_note) == (
        "Internal note (this computer only, never sent)"
    )

    qtbot.keyClicks(editor.notes, "Fast for 12 hours")
    qtbot.keyClicks(editor.internal_note, SECRET)
    saved = desk.store.drafts.get(draft_id)
    assert (saved.notes, saved.internal_note) == ("Fast for 12 hours", SECRET)

    editor.send_button.click()
    await wait_until(lambda: desk.store.drafts.get(draft_id).state is DraftState.SENT, within=30)
    [intent] = intents_for_draft(desk.sandbox_url, draft_id)
    assert intent["attributes"]["notes"] == "Fast for 12 hours"  # what Rupa shows the patient

    # The internal note is edited after sending: the draft needs no update on Rupa.
    qtbot.keyClicks(editor.internal_note, " (called 12 Dec)")
    assert not desk.store.drafts.get(draft_id).needs_update
    assert editor.send_button.text() == "Send to Rupa"
    assert not editor.send_button.isEnabled()

    # The patient note is edited: "Send update" carries it, and again not the internal one.
    qtbot.keyClicks(editor.notes, ", water is fine")
    assert editor.send_button.text() == "Send update"
    editor.send_button.click()
    await wait_until(lambda: not desk.store.drafts.get(draft_id).needs_update, within=30)
    [intent] = intents_for_draft(desk.sandbox_url, draft_id)
    assert intent["attributes"]["notes"] == "Fast for 12 hours, water is fine"

    writes = [r for r in desk.wire.sent if r.method in ("POST", "PATCH")]
    intent_writes = [r for r in writes if r.path.startswith("/order_intents")]
    assert [r.method for r in intent_writes] == ["POST", "PATCH"]
    for request in writes:
        assert b"Husband" not in request.body
        assert b"12 Dec" not in request.body
    assert json.loads(intent_writes[0].body)["data"]["attributes"]["notes"] == ("Fast for 12 hours")
    assert SECRET not in json.dumps(intent)  # nor anything the simulator kept


async def test_an_internal_note_too_long_is_refused_and_the_saved_one_stays(
    qtbot: QtBot, desk: Desk
) -> None:
    draft_id = desk.store.drafts.create(patient_id="pat_0000001")
    desk.workspace.drafts.drafts_changed.emit()
    desk.workspace.drafts.set_current(draft_id)
    editor = desk.page.editor
    qtbot.keyClicks(editor.internal_note, "call first")
    editor.internal_note.setPlainText("x" * (MAX_NOTES_CHARS + 1))
    assert "internal note is limited" in desk.messages[-1].text
    assert desk.store.drafts.get(draft_id).internal_note == "call first"
    assert desk.wire.sent == []  # typing notes never talks to Rupa
