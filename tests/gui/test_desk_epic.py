"""The desk with and without Epic: the status bar says whether Epic is connected, the Patients
pane offers Find in Epic only when Epic is set up, a session Epic gave a refresh token is
found again at start-up, and automatic filing chosen in Settings applies at once."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QDialogButtonBox

from rupa_desk.epic_sandbox.config import DEMO_CLIENT_ID, REFRESH_CLIENT_ID
from rupa_desk.epic_sandbox.server import EpicServer
from rupa_desk.services.epic.connection import EpicConnection
from rupa_desk.services.secrets import MemorySecretStore, SecretStoreChoice, SecretStoreMode
from rupa_desk.settings import Environment, EpicSettings, production
from rupa_desk.ui.components.settings_dialog import SettingsDialog
from rupa_desk.ui.messages import Level, Message
from rupa_desk.ui.pages.patients import PatientsPage
from tests.fixtures.desk import MakeDesk, first_download_done, signed_in_desk
from tests.fixtures.epic import PlayedEpicBrowser
from tests.fixtures.qt import wait_until


@pytest.fixture
def environment() -> Environment:
    return production("desk-client")


def patients_page(desk: object) -> PatientsPage:
    workspace = desk.workspace  # type: ignore[attr-defined]
    assert workspace is not None
    page = workspace.panes["patients"]
    assert isinstance(page, PatientsPage)
    return page


async def test_without_epic_there_is_no_epic_in_the_window(
    make_desk: MakeDesk, environment: Environment
) -> None:
    desk = await signed_in_desk(make_desk, environment)
    await first_download_done(desk)
    assert "Epic" not in desk.status_bar.texts()
    assert patients_page(desk).epic_button.isHidden()


async def test_with_epic_the_status_bar_and_patients_pane_offer_it(
    make_desk: MakeDesk, environment: Environment, epic: EpicServer
) -> None:
    desk = await signed_in_desk(
        make_desk, environment, epic=EpicSettings(epic.fhir_base, DEMO_CLIENT_ID)
    )
    await first_download_done(desk)
    await wait_until(lambda: desk.status_bar.texts().get("Epic") == "Epic: not connected")
    assert not patients_page(desk).epic_button.isHidden()


async def test_a_kept_epic_session_is_connected_at_start(
    make_desk: MakeDesk, environment: Environment, epic: EpicServer
) -> None:
    settings = EpicSettings(epic.fhir_base, REFRESH_CLIENT_ID)
    store = MemorySecretStore()
    first = EpicConnection(settings, store, opener=PlayedEpicBrowser())
    try:
        await first.connect(timeout_s=30)
    finally:
        await first.aclose()
    secrets = SecretStoreChoice(store, SecretStoreMode.KEYCHAIN)
    desk = await make_desk(environment, opener=lambda url: False, secrets=secrets, epic=settings)
    await wait_until(lambda: desk.status_bar.texts().get("Epic") == "Epic: connected")


async def test_automatic_filing_turned_on_in_settings_applies_at_once(
    make_desk: MakeDesk, environment: Environment, epic: EpicServer
) -> None:
    desk = await signed_in_desk(
        make_desk, environment, epic=EpicSettings(epic.fhir_base, DEMO_CLIENT_ID)
    )
    await first_download_done(desk)
    workspace = desk.workspace
    assert workspace is not None
    assert workspace.epic_filing is not None
    assert not workspace.epic_filing.automatic  # off by default
    messages: list[Message] = []
    desk.bridge.message_shown.connect(messages.append)
    desk.window.settings_requested.emit()
    [dialog] = [d for d in desk.window.findChildren(SettingsDialog) if d.isVisible()]
    dialog.epic_auto_file.setChecked(True)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    await wait_until(lambda: workspace.epic_filing is not None and workspace.epic_filing.automatic)
    assert workspace.epic_filing.retry_timer.isActive()
    await wait_until(lambda: any("filed to Epic automatically" in m.text for m in messages))
    assert not any(m.level is Level.WARNING for m in messages)  # no restart needed
