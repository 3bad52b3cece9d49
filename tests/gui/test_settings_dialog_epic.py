"""The Settings dialog's Epic fields: saved with the rest, checked, kept by saves that do not
change them, and locked when the clinic set them."""

from __future__ import annotations

from types import MappingProxyType

from pytestqt.qtbot import QtBot

from rupa_desk.paths import AppPaths
from rupa_desk.services.secrets import MemorySecretStore
from rupa_desk.settings import DEFAULT_EPIC_SCOPES, ManagedSettings, UserSettings
from rupa_desk.ui.components.settings_dialog import SET_BY_CLINIC, SettingsDialog
from rupa_desk.ui.presenters.settings import SettingsPresenter

SANDBOX = "https://fhir.epic.com/interconnect-fhir-oauth/api/FHIR/R4"


def make_dialog(
    qtbot: QtBot,
    app_paths: AppPaths,
    current: UserSettings | None = None,
    managed: ManagedSettings | None = None,
) -> tuple[SettingsDialog, SettingsPresenter]:
    presenter = SettingsPresenter(
        app_paths.settings_file,
        MemorySecretStore(),
        current or UserSettings(),
        secret_storage="this session only",
        managed=managed or ManagedSettings(),
    )
    dialog = SettingsDialog(presenter, demo_running=False)
    qtbot.addWidget(dialog)
    return dialog, presenter


async def test_epic_settings_are_saved_from_the_dialog(qtbot: QtBot, app_paths: AppPaths) -> None:
    dialog, presenter = make_dialog(qtbot, app_paths)
    dialog.show()
    assert dialog.epic_scopes.text() == DEFAULT_EPIC_SCOPES
    qtbot.keyClicks(dialog.epic_fhir_base, SANDBOX)
    qtbot.keyClicks(dialog.epic_client_id, "epic-app-1")
    assert await presenter.save(dialog.form())
    saved = UserSettings.load(app_paths.settings_file)
    assert (saved.epic_fhir_base, saved.epic_client_id) == (SANDBOX, "epic-app-1")
    assert saved.epic() is not None


async def test_a_plain_http_epic_address_is_refused(qtbot: QtBot, app_paths: AppPaths) -> None:
    dialog, presenter = make_dialog(qtbot, app_paths)
    dialog.show()
    qtbot.keyClicks(dialog.epic_fhir_base, "http://fhir.example.org/R4")
    qtbot.keyClicks(dialog.epic_client_id, "epic-app-1")
    assert not await presenter.save(dialog.form())
    assert "https://" in dialog.error.text()
    assert not app_paths.settings_file.exists()


async def test_saving_other_settings_keeps_epics(qtbot: QtBot, app_paths: AppPaths) -> None:
    current = UserSettings(epic_fhir_base=SANDBOX, epic_client_id="epic-app-1")
    dialog, presenter = make_dialog(qtbot, app_paths, current)
    dialog.show()
    dialog.poll_interval.setValue(90)
    assert await presenter.save(dialog.form())
    saved = UserSettings.load(app_paths.settings_file)
    assert saved.poll_interval_s == 90
    assert (saved.epic_fhir_base, saved.epic_client_id) == (SANDBOX, "epic-app-1")


async def test_epic_settings_the_clinic_set_are_locked(qtbot: QtBot, app_paths: AppPaths) -> None:
    locked = {"epic_fhir_base": SANDBOX, "epic_client_id": "clinic-app"}
    managed = ManagedSettings(locked=MappingProxyType(locked))
    dialog, _ = make_dialog(qtbot, app_paths, managed.apply(UserSettings()), managed)
    dialog.show()
    assert not dialog.epic_fhir_base.isEnabled()
    assert dialog.epic_fhir_base.toolTip() == SET_BY_CLINIC
    assert not dialog.epic_client_id.isEnabled()
    assert dialog.epic_scopes.isEnabled()
    assert "Epic FHIR address" in dialog.clinic_note.text()


async def test_automatic_filing_is_chosen_in_the_dialog(qtbot: QtBot, app_paths: AppPaths) -> None:
    dialog, presenter = make_dialog(qtbot, app_paths)
    dialog.show()
    assert not dialog.epic_auto_file.isChecked()  # off unless chosen
    dialog.epic_auto_file.setChecked(True)
    assert await presenter.save(dialog.form())
    assert UserSettings.load(app_paths.settings_file).epic_auto_file is True


async def test_automatic_filing_the_clinic_set_is_locked(qtbot: QtBot, app_paths: AppPaths) -> None:
    managed = ManagedSettings(locked=MappingProxyType({"epic_auto_file": True}))
    dialog, presenter = make_dialog(qtbot, app_paths, managed.apply(UserSettings()), managed)
    dialog.show()
    assert dialog.epic_auto_file.isChecked()
    assert not dialog.epic_auto_file.isEnabled()
    assert dialog.epic_auto_file.toolTip() == SET_BY_CLINIC
    assert "File results to Epic automatically" in dialog.clinic_note.text()
    dialog.poll_interval.setValue(90)
    assert await presenter.save(dialog.form())
    assert UserSettings.load(app_paths.settings_file).epic_auto_file is True
