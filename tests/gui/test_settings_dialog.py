"""The Settings dialog validates before saving and keeps the client secret out of the file."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from rupa_desk.paths import AppPaths
from rupa_desk.services.auth import client_secret_key
from rupa_desk.services.secrets import MemorySecretStore
from rupa_desk.settings import ManagedSettings, UserSettings
from rupa_desk.ui.components.settings_dialog import SET_BY_CLINIC, SettingsDialog
from rupa_desk.ui.presenters.settings import SettingsPresenter
from tests.fixtures.qt import unnamed_controls


def make_dialog(
    qtbot: QtBot, app_paths: AppPaths, secrets: MemorySecretStore
) -> tuple[SettingsDialog, SettingsPresenter]:
    presenter = SettingsPresenter(
        app_paths.settings_file, secrets, UserSettings(), secret_storage="this session only"
    )
    dialog = SettingsDialog(presenter, demo_running=False)
    qtbot.addWidget(dialog)
    return dialog, presenter


async def test_valid_settings_are_saved_and_the_secret_goes_to_the_store(
    qtbot: QtBot, app_paths: AppPaths
) -> None:
    secrets = MemorySecretStore()
    dialog, presenter = make_dialog(qtbot, app_paths, secrets)
    dialog.show()
    dialog.environment.setCurrentIndex(dialog.environment.findData("sandbox"))
    qtbot.keyClicks(dialog.client_id, "desk-client-42")
    qtbot.keyClicks(dialog.client_secret, "s3cret-value")
    qtbot.keyClicks(dialog.redirect_ports, "8765, 8766")
    dialog.poll_interval.setValue(120)
    assert await presenter.save(dialog.form())
    assert not dialog.isVisible()
    saved = UserSettings.load(app_paths.settings_file)
    assert saved == UserSettings(
        environment="sandbox",
        client_id="desk-client-42",
        redirect_ports=(8765, 8766),
        poll_interval_s=120,
    )
    assert presenter.current == saved
    key = client_secret_key(saved.environment_for())
    assert await secrets.get(key) == "s3cret-value"
    assert "s3cret" not in app_paths.settings_file.read_text(encoding="utf-8")
    assert await presenter.has_client_secret(saved)


async def test_bad_values_are_explained_and_nothing_is_saved(
    qtbot: QtBot, app_paths: AppPaths
) -> None:
    secrets = MemorySecretStore()
    dialog, presenter = make_dialog(qtbot, app_paths, secrets)
    dialog.show()
    dialog.environment.setCurrentIndex(dialog.environment.findData("production"))
    assert not await presenter.save(dialog.form())
    assert dialog.isVisible()
    assert "client id" in dialog.error.text().lower()
    qtbot.keyClicks(dialog.client_id, "desk-client")
    qtbot.keyClicks(dialog.redirect_ports, "80")
    assert not await presenter.save(dialog.form())
    assert "between 1024 and 65535" in dialog.error.text()
    assert not app_paths.settings_file.exists()


async def test_the_saved_secret_can_be_removed(qtbot: QtBot, app_paths: AppPaths) -> None:
    secrets = MemorySecretStore()
    production = UserSettings(environment="production", client_id="desk")
    await secrets.set(client_secret_key(production.environment_for()), "old")
    dialog, presenter = make_dialog(qtbot, app_paths, secrets)
    dialog.show()
    dialog.environment.setCurrentIndex(dialog.environment.findData("production"))
    qtbot.keyClicks(dialog.client_id, "desk")
    dialog.remove_secret.setChecked(True)
    assert await presenter.save(dialog.form())
    assert not await presenter.has_client_secret(production)


async def test_demo_has_no_client_id_or_secret(qtbot: QtBot, app_paths: AppPaths) -> None:
    dialog, _ = make_dialog(qtbot, app_paths, MemorySecretStore())
    dialog.show()
    assert dialog.environment.currentData() == "demo"
    assert not dialog.client_id.isEnabled()
    assert not dialog.client_secret.isEnabled()
    dialog.environment.setCurrentIndex(dialog.environment.findData("sandbox"))
    assert dialog.client_id.isEnabled()
    assert dialog.sandbox_authorize_url.isEnabled()


async def test_ok_button_runs_the_save(qtbot: QtBot, app_paths: AppPaths) -> None:
    from PySide6.QtWidgets import QDialogButtonBox

    from tests.fixtures.qt import wait_for_signal

    dialog, presenter = make_dialog(qtbot, app_paths, MemorySecretStore())
    dialog.show()
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    ok.click()
    (settings, secret_changed) = await wait_for_signal(presenter.saved)
    assert settings == UserSettings()
    assert secret_changed is False
    assert app_paths.settings_file.exists()


async def test_the_connection_settings_are_for_it_and_start_closed(
    qtbot: QtBot, app_paths: AppPaths
) -> None:
    dialog, _ = make_dialog(qtbot, app_paths, MemorySecretStore())
    dialog.show()
    # The front desk sees what is theirs: how often orders are checked, and where they are.
    assert dialog.poll_interval.isVisible()
    assert not dialog.administrator.expanded
    for field in (
        dialog.environment,
        dialog.client_id,
        dialog.client_secret,
        dialog.redirect_ports,
    ):
        assert not field.isVisible()
    assert "clinic's IT" in dialog.administrator.note.text()
    qtbot.mouseClick(dialog.administrator.toggle, Qt.MouseButton.LeftButton)
    assert dialog.client_id.isVisible()
    # Each field's hint is read whole (issue 13: placeholders were cut off).
    for field in (dialog.client_id, dialog.client_secret, dialog.redirect_ports):
        hint = field.fontMetrics().horizontalAdvance(field.placeholderText())
        assert field.width() > hint, field.accessibleName()


async def test_a_problem_with_a_connection_setting_opens_the_section(
    qtbot: QtBot, app_paths: AppPaths
) -> None:
    dialog, presenter = make_dialog(qtbot, app_paths, MemorySecretStore())
    dialog.show()
    dialog.environment.setCurrentIndex(dialog.environment.findData("production"))
    assert not await presenter.save(dialog.form())  # no client id
    assert dialog.administrator.expanded
    assert dialog.client_id.isVisible()


CLINIC = ManagedSettings(
    locked=MappingProxyType(
        {
            "environment": "production",
            "client_id": "clinic-client",
            "redirect_ports": (8765,),
            "idle_lock_minutes": 5,
        }
    )
)


def make_managed_dialog(
    qtbot: QtBot, app_paths: AppPaths, managed: ManagedSettings
) -> tuple[SettingsDialog, SettingsPresenter]:
    presenter = SettingsPresenter(
        app_paths.settings_file,
        MemorySecretStore(),
        UserSettings(environment="sandbox", client_id="own-client", poll_interval_s=30),
        secret_storage="this session only",
        managed=managed,
    )
    dialog = SettingsDialog(presenter, demo_running=False)
    qtbot.addWidget(dialog)
    return dialog, presenter


async def test_values_the_clinic_locked_are_shown_read_only_and_said_so(
    qtbot: QtBot, app_paths: AppPaths
) -> None:
    dialog, _ = make_managed_dialog(qtbot, app_paths, CLINIC)
    dialog.show()
    dialog.administrator.set_expanded(True)
    assert dialog.environment.currentData() == "production"
    assert dialog.client_id.text() == "clinic-client"
    assert dialog.redirect_ports.text() == "8765"
    assert dialog.idle_lock.value() == 5
    for field in (dialog.environment, dialog.client_id, dialog.redirect_ports, dialog.idle_lock):
        assert not field.isEnabled(), field.accessibleName()
        assert field.toolTip() == SET_BY_CLINIC
    assert dialog.clinic_note.isVisible()
    assert "Set by your clinic" in dialog.clinic_note.text()
    assert "Environment" in dialog.clinic_note.text()
    # What the clinic left open stays the user's.
    for field in (dialog.poll_interval, dialog.client_secret, dialog.remove_secret):
        assert field.isEnabled(), field.accessibleName()
    assert unnamed_controls(dialog) == []


async def test_a_partial_lock_leaves_the_other_fields_open(
    qtbot: QtBot, app_paths: AppPaths
) -> None:
    managed = ManagedSettings(locked=MappingProxyType({"idle_lock_minutes": 3}))
    dialog, presenter = make_managed_dialog(qtbot, app_paths, managed)
    dialog.show()
    assert not dialog.idle_lock.isEnabled()
    dialog.environment.setCurrentIndex(dialog.environment.findData("production"))
    assert dialog.environment.isEnabled()
    assert dialog.client_id.isEnabled()
    assert dialog.redirect_ports.isEnabled()
    assert dialog.clinic_note.text().endswith("Lock after idle minutes.")
    assert await presenter.save(dialog.form())
    assert UserSettings.load(app_paths.settings_file) == UserSettings(
        environment="production", client_id="own-client", poll_interval_s=30, idle_lock_minutes=3
    )


async def test_without_a_managed_file_nothing_is_locked(qtbot: QtBot, app_paths: AppPaths) -> None:
    dialog, _ = make_managed_dialog(qtbot, app_paths, ManagedSettings())
    dialog.show()
    dialog.administrator.set_expanded(True)
    for field in (dialog.environment, dialog.client_id, dialog.redirect_ports, dialog.idle_lock):
        assert field.isEnabled(), field.accessibleName()
    assert not dialog.clinic_note.isVisible()


async def test_the_user_can_change_the_idle_lock_when_it_is_not_locked(
    qtbot: QtBot, app_paths: AppPaths
) -> None:
    dialog, presenter = make_dialog(qtbot, app_paths, MemorySecretStore())
    dialog.show()
    assert dialog.idle_lock.value() == 10
    dialog.idle_lock.setValue(20)
    assert await presenter.save(dialog.form())
    assert UserSettings.load(app_paths.settings_file).idle_lock_minutes == 20


async def test_the_appearance_is_the_front_desks_to_choose_unless_the_clinic_set_it(
    qtbot: QtBot, app_paths: AppPaths
) -> None:
    dialog, presenter = make_dialog(qtbot, app_paths, MemorySecretStore())
    dialog.show()
    assert not dialog.administrator.expanded  # not an administrator setting: shown at once
    assert dialog.appearance.isVisible()
    labels = [dialog.appearance.itemText(i) for i in range(dialog.appearance.count())]
    assert labels == ["Follow the system", "Light", "Dark"]
    assert dialog.appearance.currentText() == "Follow the system"
    dialog.appearance.setCurrentIndex(dialog.appearance.findData("dark"))
    assert await presenter.save(dialog.form())
    assert UserSettings.load(app_paths.settings_file).appearance == "dark"

    locked = ManagedSettings(locked=MappingProxyType({"appearance": "light"}))
    dialog, presenter = make_managed_dialog(qtbot, app_paths, locked)
    dialog.show()
    assert dialog.appearance.currentData() == "light"
    assert not dialog.appearance.isEnabled()
    assert dialog.appearance.toolTip() == SET_BY_CLINIC
    assert "Appearance" in dialog.clinic_note.text()


@pytest.mark.parametrize(
    ("changed", "named"),
    [
        ({"environment": "sandbox"}, "Environment"),
        ({"client_id": "other-client"}, "Client id"),
        ({"redirect_ports": "9000"}, "Redirect ports"),
        ({"idle_lock_minutes": 30}, "Lock after idle minutes"),
    ],
)
async def test_the_presenter_refuses_to_save_a_changed_locked_value(
    qtbot: QtBot, app_paths: AppPaths, changed: dict[str, Any], named: str
) -> None:
    dialog, presenter = make_managed_dialog(qtbot, app_paths, CLINIC)
    problems: list[str] = []
    presenter.save_failed.connect(problems.append)
    form = replace(dialog.form(), **changed)
    assert not await presenter.save(form)
    assert len(problems) == 1
    assert named in problems[0]
    assert "set by your clinic" in problems[0]
    assert not app_paths.settings_file.exists()
    assert await presenter.save(dialog.form())  # unchanged locked values are fine
    assert UserSettings.load(app_paths.settings_file) == UserSettings(
        environment="production",
        client_id="clinic-client",
        redirect_ports=(8765,),
        idle_lock_minutes=5,
        poll_interval_s=30,
    )


def lab_items(dialog: SettingsDialog) -> dict[str, bool]:
    labs = dialog.preferred_labs
    return {
        labs.item(row).text(): labs.item(row).checkState() == Qt.CheckState.Checked
        for row in range(labs.count())
    }


async def test_preferred_labs_are_ticked_from_the_catalogs_labs_and_saved_in_order(
    qtbot: QtBot, app_paths: AppPaths
) -> None:
    presenter = SettingsPresenter(
        app_paths.settings_file,
        MemorySecretStore(),
        UserSettings(preferred_labs=("ZRT Laboratory",)),
        secret_storage="this session only",
    )
    dialog = SettingsDialog(
        presenter, demo_running=False, lab_names=["Genova", "Doctor's Data", "ZRT Laboratory"]
    )
    qtbot.addWidget(dialog)
    dialog.show()
    # The ones already preferred first, then the others alphabetically, each once.
    assert lab_items(dialog) == {"ZRT Laboratory": True, "Doctor's Data": False, "Genova": False}
    assert list(lab_items(dialog)) == ["ZRT Laboratory", "Doctor's Data", "Genova"]
    dialog.preferred_labs.item(2).setCheckState(Qt.CheckState.Checked)
    assert await presenter.save(dialog.form())
    saved = UserSettings.load(app_paths.settings_file)
    assert saved.preferred_labs == ("ZRT Laboratory", "Genova")
    assert unnamed_controls(dialog) == []


async def test_without_a_catalog_the_preferred_labs_list_says_how_to_fill_it(
    qtbot: QtBot, app_paths: AppPaths
) -> None:
    dialog, presenter = make_dialog(qtbot, app_paths, MemorySecretStore())
    assert dialog.preferred_labs.count() == 1
    assert "Download the catalog" in dialog.preferred_labs.item(0).text()
    assert dialog.chosen_labs() == ()
    assert await presenter.save(dialog.form())
    assert UserSettings.load(app_paths.settings_file).preferred_labs == ()


async def test_preferred_labs_the_clinic_set_are_read_only(
    qtbot: QtBot, app_paths: AppPaths
) -> None:
    managed = ManagedSettings(locked=MappingProxyType({"preferred_labs": ("ZRT Laboratory",)}))
    dialog, presenter = make_managed_dialog(qtbot, app_paths, managed)
    dialog.show()
    assert not dialog.preferred_labs.isEnabled()
    assert dialog.preferred_labs.toolTip() == SET_BY_CLINIC
    assert "Preferred labs" in dialog.clinic_note.text()
    assert dialog.chosen_labs() == ("ZRT Laboratory",)
    assert not await presenter.save(replace(dialog.form(), preferred_labs=("Genova",)))
    assert await presenter.save(dialog.form())
