"""The Settings dialog validates before saving and keeps the client secret out of the file."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from rupa_desk.paths import AppPaths
from rupa_desk.services.auth import client_secret_key
from rupa_desk.services.secrets import MemorySecretStore
from rupa_desk.settings import UserSettings
from rupa_desk.ui.components.settings_dialog import SettingsDialog
from rupa_desk.ui.presenters.settings import SettingsPresenter


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
