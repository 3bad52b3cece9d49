"""The clinic's managed settings at start-up: a corrupt file is told in the window (naming the
file and what is wrong) and logged, and the app starts on the user's own settings; a good file's
locked values are what the app runs with and what the Settings dialog shows."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

from rupa_desk import app
from rupa_desk.app import LaunchOptions
from rupa_desk.desk import Desk
from rupa_desk.paths import AppPaths
from rupa_desk.settings import UserSettings
from rupa_desk.ui.bug_reports import BugReporter
from rupa_desk.ui.messages import Level, Message, MessageBridge
from tests.fixtures.desk import session_only_secrets
from tests.fixtures.qt import wait_until


async def start_and_look(
    app_paths: AppPaths, *, demo: bool = True, banner: bool = True
) -> tuple[list[Message], dict[str, Any]]:
    """Run the app until it has started (and, with `banner`, shows a message), then close it."""
    bridge = MessageBridge()
    messages: list[Message] = []
    bridge.message_shown.connect(messages.append)
    seen: dict[str, Any] = {}
    driver: list[asyncio.Task[None]] = []

    async def look(desk: Desk) -> None:
        try:
            if banner:
                await wait_until(lambda: desk.window.banner.text)
            seen["banner"] = desk.window.banner.text
            seen["environment"] = desk.status_bar.texts()["Environment"]
            seen["settings"] = desk.settings.current
            seen["managed"] = desk.settings.managed
        finally:
            desk.window.close()

    def on_started(desk: Desk) -> None:
        driver.append(asyncio.get_running_loop().create_task(look(desk), name="look"))

    code = await app.main(
        app_paths,
        LaunchOptions(demo=demo, lab_tests=50),
        bridge=bridge,
        reporter=BugReporter(bridge, app_paths.log_file),
        on_started=on_started,
        opener=lambda url: False,
        secrets=session_only_secrets(),
    )
    await driver[0]
    assert code == 0
    return messages, seen


async def test_a_corrupt_managed_file_is_told_and_the_app_starts_on_the_users_settings(
    app_paths: AppPaths, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    UserSettings(poll_interval_s=45).save(app_paths.settings_file)
    managed_file = app_paths.managed_settings_file
    managed_file.parent.mkdir(parents=True)
    managed_file.write_text('{"environment": "production", "redirect_ports": [8765,', "utf-8")

    with caplog.at_level(logging.WARNING, logger="rupa_desk.settings"):
        messages, seen = await start_and_look(app_paths)

    errors = [m.text for m in messages if m.level is Level.ERROR]
    assert len(errors) == 1
    assert str(managed_file) in errors[0]
    assert "set by your clinic" in errors[0]
    assert "IT corrects it" in errors[0]  # what happens next
    assert str(managed_file) in seen["banner"]
    assert str(managed_file) in caplog.text
    assert seen["settings"] == UserSettings(poll_interval_s=45)
    assert not seen["managed"].locked
    assert seen["environment"] == "Demo"
    assert capsys.readouterr().err == ""


async def test_a_bad_value_in_the_managed_file_is_named_in_the_window(
    app_paths: AppPaths,
) -> None:
    managed_file = app_paths.managed_settings_file
    managed_file.parent.mkdir(parents=True)
    managed_file.write_text(json.dumps({"redirect_ports": [8765, 99999]}), "utf-8")
    messages, seen = await start_and_look(app_paths)
    errors = [m.text for m in messages if m.level is Level.ERROR]
    assert len(errors) == 1
    assert "Redirect port 99999 is not between 1 and 65535" in errors[0]
    assert str(managed_file) in errors[0]
    assert seen["settings"] == UserSettings()


async def test_the_clinics_locked_values_are_the_ones_in_use(app_paths: AppPaths) -> None:
    UserSettings(idle_lock_minutes=25, poll_interval_s=45).save(app_paths.settings_file)
    managed_file = app_paths.managed_settings_file
    managed_file.parent.mkdir(parents=True)
    managed_file.write_text(json.dumps({"idle_lock_minutes": 3, "shared_pc": True}), "utf-8")

    bridge_messages, seen = await start_and_look(app_paths, banner=False)

    assert [m for m in bridge_messages if m.level is Level.ERROR] == []
    assert seen["settings"] == UserSettings(idle_lock_minutes=3, poll_interval_s=45)
    assert seen["managed"].shared_pc


async def test_a_locked_environment_wins_over_the_users_at_start(app_paths: AppPaths) -> None:
    UserSettings(environment="demo").save(app_paths.settings_file)
    managed_file = app_paths.managed_settings_file
    managed_file.parent.mkdir(parents=True)
    managed_file.write_text(
        json.dumps({"environment": "production", "client_id": "clinic-client"}), "utf-8"
    )
    messages, seen = await start_and_look(app_paths, demo=False, banner=False)
    assert [m for m in messages if m.level is Level.ERROR] == []
    assert seen["environment"] == "Production"
    assert seen["settings"] == UserSettings(environment="production", client_id="clinic-client")
