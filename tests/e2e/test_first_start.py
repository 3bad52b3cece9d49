"""The first start asks: practise with demo data, or connect to the clinic's Rupa. The answer is
saved (asked once), Quit saves nothing, and a clinic's managed environment or `--demo` skip it.

The real `app.main` runs; the test answers the question as a user would, with its buttons.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import shiboken6
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QLabel

from rupa_desk import app
from rupa_desk.app import LaunchOptions
from rupa_desk.desk import Desk
from rupa_desk.paths import AppPaths
from rupa_desk.settings import UserSettings
from rupa_desk.ui.bug_reports import BugReporter
from rupa_desk.ui.components.first_run_dialog import FirstRunDialog
from rupa_desk.ui.messages import MessageBridge
from tests.fixtures.desk import session_only_secrets
from tests.fixtures.qt import unnamed_controls, wait_until


def shown_question() -> FirstRunDialog | None:
    dialogs = [
        w for w in QApplication.topLevelWidgets() if isinstance(w, FirstRunDialog) and w.isVisible()
    ]
    return dialogs[0] if dialogs else None


async def start(
    app_paths: AppPaths, *, demo: bool = False
) -> tuple[asyncio.Task[int], dict[str, Any], list[FirstRunDialog]]:
    """Start the app as a task; the desk, once started, records what it runs and closes."""
    seen: dict[str, Any] = {}
    asked: list[FirstRunDialog] = []
    bridge = MessageBridge()

    def on_started(desk: Desk) -> None:
        seen["environment"] = desk.status_bar.texts()["Environment"]
        seen["question shown with the desk"] = shown_question() is not None
        asyncio.get_running_loop().call_soon(desk.window.close)

    task = asyncio.get_running_loop().create_task(
        app.main(
            app_paths,
            LaunchOptions(demo=demo, lab_tests=50),
            bridge=bridge,
            reporter=BugReporter(bridge, app_paths.log_file),
            on_started=on_started,
            opener=lambda url: False,
            secrets=session_only_secrets(),
        )
    )

    async def watch() -> None:
        while not task.done():
            question = shown_question()
            if question is not None and question not in asked:
                asked.append(question)
            await asyncio.sleep(0.01)

    asyncio.get_running_loop().create_task(watch())
    return task, seen, asked


async def question_of(task: asyncio.Task[int]) -> FirstRunDialog:
    await wait_until(lambda: shown_question() is not None or task.done())
    question = shown_question()
    assert question is not None, "the first start did not ask how to start"
    return question


async def test_practise_starts_the_demo_and_is_asked_only_once(app_paths: AppPaths) -> None:
    assert not app_paths.settings_file.exists()  # a new installation
    task, seen, _ = await start(app_paths)
    question = await question_of(task)
    assert unnamed_controls(question) == []
    assert seen == {}  # nothing starts before the answer
    question.practise_button.click()
    assert await asyncio.wait_for(task, 30) == 0
    assert seen["environment"] == "Demo"
    assert UserSettings.load(app_paths.settings_file).environment == "demo"

    task, seen, asked = await start(app_paths)  # the next start goes straight in
    assert await asyncio.wait_for(task, 30) == 0
    assert seen["environment"] == "Demo"
    assert asked == []


async def test_connect_asks_for_the_clinics_settings_and_uses_them_at_once(
    app_paths: AppPaths,
) -> None:
    task, seen, _ = await start(app_paths)
    question = await question_of(task)
    question.connect_button.click()
    settings = question.settings_dialog
    await wait_until(settings.isVisible)
    assert settings.environment.currentData() == "production"
    assert settings.administrator.expanded
    assert "Connected to" not in [
        label.text() for label in settings.findChildren(QLabel) if label.isVisible()
    ]
    ok = settings.buttons.button(QDialogButtonBox.StandardButton.Ok)

    ok.click()  # no client id yet: said, and nothing starts
    await wait_until(settings.error.isVisible)
    assert "client id" in settings.error.text().lower()
    assert not task.done()
    assert "environment" not in seen

    settings.client_id.setText("clinic-client")
    ok.click()
    assert await asyncio.wait_for(task, 30) == 0
    assert seen["environment"] == "Production"
    assert not seen["question shown with the desk"]
    saved = UserSettings.load(app_paths.settings_file)
    assert (saved.environment, saved.client_id) == ("production", "clinic-client")


async def test_cancel_goes_back_to_the_question_and_quit_saves_nothing(
    app_paths: AppPaths,
) -> None:
    task, seen, _ = await start(app_paths)
    question = await question_of(task)
    question.connect_button.click()
    dialog = question.settings_dialog
    await wait_until(dialog.isVisible)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).click()
    await wait_until(lambda: not shiboken6.isValid(dialog) or not dialog.isVisible())
    assert question.isVisible()  # back at the question
    question.quit_button.click()
    assert await asyncio.wait_for(task, 30) == 0
    assert seen == {}  # the app never started
    assert not app_paths.settings_file.exists()


async def test_a_clinics_managed_environment_or_demo_flag_skip_the_question(
    app_paths: AppPaths,
) -> None:
    task, seen, asked = await start(app_paths, demo=True)
    assert await asyncio.wait_for(task, 30) == 0
    assert (asked, seen["environment"]) == ([], "Demo")
    assert not app_paths.settings_file.exists()  # --demo answers nothing for later

    app_paths.managed_settings_file.parent.mkdir(parents=True, exist_ok=True)
    app_paths.managed_settings_file.write_text(
        json.dumps({"environment": "production", "client_id": "clinic-client"}), "utf-8"
    )
    task, seen, asked = await start(app_paths)
    assert await asyncio.wait_for(task, 30) == 0
    assert (asked, seen["environment"]) == ([], "Production")
