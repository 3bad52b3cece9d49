"""Unexpected exceptions are logged with their traceback and shown as a bug report."""

from __future__ import annotations

import asyncio
import logging
import sys

import pytest
import qasync
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from rupa_desk.paths import AppPaths
from rupa_desk.ui.bug_reports import BugReporter
from rupa_desk.ui.messages import BugReport, MessageBridge
from rupa_desk.ui.tasks import BackgroundTasks
from tests.fixtures.qt import wait_until


def collect(bridge: MessageBridge) -> list[BugReport]:
    reports: list[BugReport] = []
    bridge.bug_reported.connect(reports.append)
    bridge.attach()
    return reports


@pytest.mark.allow_error_logs
async def test_a_failed_background_task_is_logged_and_reported(
    app_paths: AppPaths, caplog: pytest.LogCaptureFixture
) -> None:
    bridge = MessageBridge()
    reports = collect(bridge)
    reporter = BugReporter(bridge, app_paths.log_file)
    tasks = BackgroundTasks(reporter.on_task_failed)

    async def sync_catalog() -> None:
        raise KeyError("lab_company")

    tasks.spawn(sync_catalog(), name="catalog-sync")
    await wait_until(lambda: reports)
    assert "KeyError" in reports[0].summary
    assert "catalog-sync" in reports[0].summary
    assert "sync_catalog" in reports[0].details  # the traceback
    assert reports[0].log_path == app_paths.log_file
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors
    assert errors[0].exc_info is not None


@pytest.mark.allow_error_logs
async def test_an_exception_in_an_async_slot_becomes_a_bug_report(
    qtbot: QtBot, app_paths: AppPaths
) -> None:
    bridge = MessageBridge()
    reports = collect(bridge)
    reporter = BugReporter(bridge, app_paths.log_file)

    class Presenter:
        async def open_patient(self) -> None:
            await asyncio.sleep(0)
            raise ZeroDivisionError("no patients")

    class Widget(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.presenter = Presenter()

        @qasync.asyncSlot()
        async def _on_button_clicked(self) -> None:
            await self.presenter.open_patient()

    button = QPushButton("Open")
    qtbot.addWidget(button)
    widget = Widget()
    button.clicked.connect(widget._on_button_clicked)
    previous = sys.excepthook
    reporter.install()
    try:
        assert sys.excepthook == reporter.excepthook
        button.click()
        await wait_until(lambda: reports)
    finally:
        reporter.uninstall()
    assert sys.excepthook is previous
    assert "ZeroDivisionError: no patients" in reports[0].summary
    assert "open_patient" in reports[0].details


@pytest.mark.allow_error_logs
async def test_the_loop_exception_handler_reports_exceptions(app_paths: AppPaths) -> None:
    bridge = MessageBridge()
    reports = collect(bridge)
    reporter = BugReporter(bridge, None)
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(reporter.loop_exception_handler)
    try:

        def callback() -> None:
            raise RuntimeError("in a callback")

        loop.call_soon(callback)
        await wait_until(lambda: reports)
    finally:
        loop.set_exception_handler(None)
    assert "RuntimeError: in a callback" in reports[0].summary


@pytest.mark.allow_error_logs
async def test_reports_made_before_the_window_are_queued(app_paths: AppPaths) -> None:
    bridge = MessageBridge()
    reporter = BugReporter(bridge, app_paths.log_file)
    try:
        raise OSError("disk gone")
    except OSError as exc:
        reporter.report(exc, where="start-up")
    assert len(bridge.queued()) == 1
    reports = collect(bridge)
    assert "OSError: disk gone" in reports[0].summary
