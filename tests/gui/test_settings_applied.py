"""Saving the Settings dialog in the running app: what can apply now applies now, and what
waits for a restart is said plainly."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox
from pytestqt.qtbot import QtBot

from rupa_desk.desk import Desk
from rupa_desk.paths import AppPaths
from rupa_desk.settings import Environment, UserSettings, production
from rupa_desk.ui.components.settings_dialog import SettingsDialog
from rupa_desk.ui.messages import Level, Message
from rupa_desk.ui.presenters.session import SessionState
from rupa_desk.ui.theme import APPEARANCE_PROPERTY, apply_theme, is_dark
from rupa_desk.ui.window_state import WindowState
from tests.fixtures.catalog_data import iter_tests, load_catalog, synthetic_companies
from tests.fixtures.desk import MakeDesk, signed_in_desk
from tests.fixtures.qt import unnamed_controls, wait_until


@pytest.fixture
def environment() -> Environment:
    return production("desk-client")


@pytest.fixture
def themed(qapp: QApplication) -> Iterator[QApplication]:
    """The app's look applied (as `rupa_desk.app.run` does), and Qt's own put back after."""
    style, palette, sheet = qapp.style().objectName(), qapp.palette(), qapp.styleSheet()
    apply_theme(qapp)
    yield qapp
    qapp.setProperty(APPEARANCE_PROPERTY, None)
    qapp.styleHints().colorSchemeChanged.disconnect()
    qapp.setStyleSheet(sheet)
    if style:
        qapp.setStyle(style)
    qapp.setPalette(palette)


def open_settings(desk: Desk) -> SettingsDialog:
    desk.window.settings_requested.emit()
    dialogs = [d for d in desk.window.findChildren(SettingsDialog) if d.isVisible()]
    assert len(dialogs) == 1
    return dialogs[0]


async def save(dialog: SettingsDialog) -> None:
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    await wait_until(lambda: not shiboken6.isValid(dialog) or not dialog.isVisible())


async def test_every_settings_control_has_an_accessible_name(
    make_desk: MakeDesk, environment: Environment
) -> None:
    desk = await signed_in_desk(make_desk, environment, download=True)
    dialog = open_settings(desk)
    assert unnamed_controls(dialog) == []
    dialog.reject()


async def test_a_new_polling_interval_applies_at_once(
    qtbot: QtBot, make_desk: MakeDesk, environment: Environment
) -> None:
    desk = await signed_in_desk(make_desk, environment, download=True)
    workspace = desk.workspace
    assert workspace is not None
    assert workspace.orders.schedule.policy.base_interval_s == 60
    messages: list[Message] = []
    desk.bridge.message_shown.connect(messages.append)

    dialog = open_settings(desk)
    dialog.poll_interval.setValue(120)
    await save(dialog)

    assert workspace.orders.schedule.policy.base_interval_s == 120
    assert [(m.level, m.text) for m in messages] == [
        (Level.INFO, "Settings saved: orders are checked every 120 s from now on.")
    ]
    await desk.session.sign_out(remove_patient_data=False)
    assert desk.settings.current.poll_interval_s == 120  # and for the next sign-in


async def test_a_new_appearance_applies_at_once_and_is_kept_for_the_next_start(
    themed: QApplication, make_desk: MakeDesk, environment: Environment, app_paths: AppPaths
) -> None:
    desk = await signed_in_desk(make_desk, environment, download=True)
    themed.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Light)  # the OS: light
    assert not is_dark(themed.palette())
    messages: list[Message] = []
    desk.bridge.message_shown.connect(messages.append)

    dialog = open_settings(desk)
    dialog.appearance.setCurrentIndex(dialog.appearance.findData("dark"))
    await save(dialog)
    assert is_dark(themed.palette())  # at once, no restart
    assert messages[-1].level is Level.INFO
    assert "Rupa Desk is dark" in messages[-1].text
    assert UserSettings.load(app_paths.settings_file).appearance == "dark"
    assert WindowState(app_paths.config_dir).appearance("system") == "dark"  # first paint

    dialog = open_settings(desk)
    assert dialog.appearance.currentText() == "Dark"
    dialog.appearance.setCurrentIndex(dialog.appearance.findData("system"))
    await save(dialog)
    assert not is_dark(themed.palette())  # the OS's light again
    assert "as the system is set" in messages[-1].text


async def test_a_new_client_id_is_said_to_wait_for_a_restart(
    qtbot: QtBot, make_desk: MakeDesk, environment: Environment
) -> None:
    desk = await signed_in_desk(make_desk, environment, download=True)
    messages: list[Message] = []
    desk.bridge.message_shown.connect(messages.append)

    dialog = open_settings(desk)
    dialog.client_id.setText("another-client")
    dialog.environment.setCurrentIndex(dialog.environment.findData("sandbox"))
    await save(dialog)

    assert desk.settings.current == UserSettings(environment="sandbox", client_id="another-client")
    assert len(messages) == 1
    assert messages[0].level is Level.WARNING  # the banner: the user has something to do
    text = messages[0].text
    assert "The new environment (Rupa sandbox) and client id take effect" in text
    assert "starts again" in text
    assert "keeps using Production" in text
    assert desk.status_bar.texts()["Environment"] == "Production"
    assert desk.session.view.state is SessionState.SIGNED_IN  # nobody was signed out


async def test_new_preferred_labs_apply_to_the_catalog_at_once(
    qtbot: QtBot, make_desk: MakeDesk, environment: Environment
) -> None:
    desk = await signed_in_desk(make_desk, environment, download=True)
    workspace = desk.workspace
    assert workspace is not None
    await wait_until(lambda: not workspace.catalog.syncing)  # this fake Rupa has no catalog
    load_catalog(workspace.store, synthetic_companies(), iter_tests(300))
    await workspace.catalog.refresh()
    labs = [company.name for company in workspace.catalog.companies()]
    messages: list[Message] = []
    desk.bridge.message_shown.connect(messages.append)

    dialog = open_settings(desk)
    offered = [dialog.preferred_labs.item(i).text() for i in range(dialog.preferred_labs.count())]
    assert offered == sorted(labs, key=str.casefold)  # the catalog's labs to tick
    dialog.preferred_labs.item(len(labs) - 1).setCheckState(Qt.CheckState.Checked)
    await save(dialog)

    chosen = sorted(labs, key=str.casefold)[-1]
    assert desk.settings.current.preferred_labs == (chosen,)
    assert "preferred labs are listed first" in messages[-1].text
    model = workspace.catalog.model
    await wait_until(
        lambda: (
            model.rowCount() > 0
            and any(model.hit(row).preferred for row in range(model.rowCount()))
        )
    )
    assert all(
        model.hit(row).lab_company_name == chosen
        for row in range(model.rowCount())
        if model.hit(row).preferred
    )


async def test_a_new_epic_connection_is_said_to_wait_for_a_restart(
    qtbot: QtBot, make_desk: MakeDesk, environment: Environment
) -> None:
    """The Epic connection is made at start: a new FHIR address or client id is saved, and
    the app says it takes effect when it starts again (not silently ignored)."""
    desk = await signed_in_desk(make_desk, environment, download=True)
    messages: list[Message] = []
    desk.bridge.message_shown.connect(messages.append)

    dialog = open_settings(desk)
    dialog.epic_fhir_base.setText("https://fhir.example.org/api/FHIR/R4")
    dialog.epic_client_id.setText("clinic-epic-client")
    await save(dialog)

    saved = desk.settings.current
    assert (saved.epic_fhir_base, saved.epic_client_id) == (
        "https://fhir.example.org/api/FHIR/R4",
        "clinic-epic-client",
    )
    assert len(messages) == 1
    assert messages[0].level is Level.WARNING
    assert "The new Epic connection takes effect" in messages[0].text
    assert "starts again" in messages[0].text
