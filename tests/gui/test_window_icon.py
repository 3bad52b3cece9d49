"""The main window shows the app's icon (loaded after the first paint, like the shortcuts)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from rupa_desk.paths import AppPaths
from rupa_desk.ui.main_window import MainWindow
from rupa_desk.ui.messages import MessageBridge
from rupa_desk.ui.window_state import WindowState
from tests.fixtures.qt import wait_until


async def test_the_window_has_the_app_icon_once_painted(qtbot: QtBot, app_paths: AppPaths) -> None:
    window = MainWindow(
        sign_in_page=QLabel("sign in"),
        bridge=MessageBridge(),
        window_state=WindowState(app_paths.config_dir),
    )
    qtbot.addWidget(window)
    window.show()
    await wait_until(lambda: window.painted)
    await wait_until(lambda: not window.windowIcon().isNull())
    picture = window.windowIcon().pixmap(32, 32).toImage()
    assert not picture.isNull()
    colours = {picture.pixel(x, y) for x in range(32) for y in range(32)}
    assert len(colours) > 3  # a drawing, not a blank square
