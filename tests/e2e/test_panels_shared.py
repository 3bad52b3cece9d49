"""A clinic shares its panels: made from a draft on one computer, exported, imported on
another computer (another account database), and added to a draft there in one action. The
whole app against the simulator over real loopback HTTP."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from PySide6.QtWidgets import QWidget

from rupa_desk.desk import Desk
from rupa_desk.paths import AppPaths
from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.settings import demo
from rupa_desk.ui.messages import Level, Message
from rupa_desk.ui.pages.panels import PanelsPage
from rupa_desk.ui.presenters.session import SessionState
from tests.fixtures.browser import PractitionerBrowser
from tests.fixtures.desk import MakeDesk, answer_pin_offer, first_download_done
from tests.fixtures.qt import wait_until


class RecordingOpener:
    def __init__(self) -> None:
        self.urls: list[str] = []

    def __call__(self, url: str) -> bool:
        self.urls.append(url)
        return True


async def signed_in_desk(make_desk: MakeDesk, sandbox: SandboxServer, paths: AppPaths) -> Desk:
    """A desk of its own folders (another computer), signed in and its catalog downloaded."""
    opener = RecordingOpener()
    desk = await make_desk(demo(sandbox.url), opener=opener, paths=paths)
    await wait_until(lambda: desk.session.view.state is SessionState.SIGNED_OUT)
    desk.sign_in_page.sign_in_button.click()
    await wait_until(lambda: opener.urls)
    with PractitionerBrowser(sandbox.url) as browser:
        location = await asyncio.to_thread(browser.approve, opener.urls[0])
    async with httpx.AsyncClient(timeout=30) as http:
        await http.get(location)
    await wait_until(lambda: desk.session.view.state is SessionState.SIGNED_IN, within=30)
    await answer_pin_offer(desk)
    await first_download_done(desk)
    return desk


def panels_page(desk: Desk) -> PanelsPage:
    desk.window.show_pane("panels")
    page = desk.window.pane("panels")
    assert isinstance(page, PanelsPage)
    return page


async def test_panels_exported_on_one_computer_are_ordered_from_on_another(
    make_desk: MakeDesk, sandbox: SandboxServer, tmp_path: Path
) -> None:
    shared = tmp_path / "clinic share" / "panels.json"
    shared.parent.mkdir()

    first = await signed_in_desk(make_desk, sandbox, AppPaths.under(tmp_path / "front-desk"))
    workspace = first.workspace
    assert workspace is not None
    hits = workspace.store.catalog.search("vitamin d").hits[:3]
    assert len(hits) == 3
    assert workspace.orders.drafts.new_draft()  # New draft, then its tests
    for hit in hits:
        await workspace.orders.drafts.add_lab_test(workspace.store.catalog.get_test(hit.id))
    page = panels_page(first)
    page.from_draft_button.click()
    page.name.setText("Vitamin D trio")
    page.name.editingFinished.emit()
    assert [p.name for p in workspace.store.panels.all()] == ["Vitamin D trio"]

    def export_to_share(parent: QWidget, suggested: str) -> str:
        return str(shared)

    page.choose_export_path = export_to_share
    page.export_button.click()
    await wait_until(shared.exists)

    second = await signed_in_desk(make_desk, sandbox, AppPaths.under(tmp_path / "back-office"))
    other = second.workspace
    assert other is not None
    assert other.store.path != workspace.store.path  # another account database
    assert other.store.panels.all() == []
    messages: list[Message] = []
    second.bridge.message_shown.connect(messages.append)
    page = panels_page(second)

    def open_share(parent: QWidget) -> str:
        return str(shared)

    page.choose_import_path = open_share
    page.import_button.click()
    await wait_until(lambda: page.list.count() == 1)
    assert page.list.item(0).text() == "Vitamin D trio · 3 tests"
    assert messages[-1].text == "Imported the panels: added “Vitamin D trio”."

    page.list.setCurrentRow(0)
    assert other.orders.drafts.new_draft()  # New draft, then the panel on it
    page.add_to_draft_button.click()
    await wait_until(lambda: other.store.drafts.all()[0].lab_test_ids)
    [draft] = other.store.drafts.all()
    assert draft.lab_test_ids == tuple(hit.id for hit in hits)
    await wait_until(lambda: "Added the panel" in messages[-1].text)
    assert (messages[-1].level, messages[-1].text) == (
        Level.INFO,
        "Added the panel “Vitamin D trio” to the current draft (3 tests).",
    )
