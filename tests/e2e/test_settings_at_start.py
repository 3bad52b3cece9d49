"""Settings that cannot be used at start-up are told in the window (the message bridge), and the
app stays usable, instead of a line on stderr and an exit after the window was shown."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rupa_desk import app
from rupa_desk.app import LaunchOptions
from rupa_desk.desk import Desk
from rupa_desk.paths import AppPaths
from rupa_desk.settings import Environment, SettingsError, UserSettings
from rupa_desk.ui.bug_reports import BugReporter
from rupa_desk.ui.messages import Level, Message, MessageBridge
from tests.fixtures.desk import session_only_secrets
from tests.fixtures.qt import wait_until


def unusable(self: UserSettings, *, demo_url: str | None = None) -> Environment:
    raise SettingsError("The redirect ports are taken by another program.")


async def test_unusable_settings_are_shown_in_the_window_and_the_demo_runs(
    app_paths: AppPaths, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    UserSettings(environment="production", client_id="desk-client").save(app_paths.settings_file)
    monkeypatch.setattr(UserSettings, "environment_for", unusable)
    bridge = MessageBridge()
    messages: list[Message] = []
    bridge.message_shown.connect(messages.append)
    seen: dict[str, Any] = {}
    driver: list[asyncio.Task[None]] = []

    async def look(desk: Desk) -> None:
        try:
            await wait_until(lambda: desk.window.banner.text)
            seen["banner"] = desk.window.banner.text
            seen["environment"] = desk.status_bar.texts()["Environment"]
        finally:
            desk.window.close()

    def on_started(desk: Desk) -> None:
        driver.append(asyncio.get_running_loop().create_task(look(desk), name="look"))

    code = await app.main(
        app_paths,
        LaunchOptions(demo=False, lab_tests=50),
        bridge=bridge,
        reporter=BugReporter(bridge, app_paths.log_file),
        on_started=on_started,
        opener=lambda url: False,
        secrets=session_only_secrets(),
    )
    await driver[0]

    assert code == 0
    errors = [m.text for m in messages if m.level is Level.ERROR]
    assert len(errors) == 1
    assert "The redirect ports are taken by another program." in errors[0]
    assert "File › Settings" in errors[0]
    assert "The redirect ports are taken" in seen["banner"]
    assert seen["environment"] == "Demo"
    assert capsys.readouterr().err == ""
