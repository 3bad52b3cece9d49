"""The main window: panes, shortcuts, title, remembered state, messages and bug reports."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtWidgets import QLabel, QWidget
from pytestqt.qtbot import QtBot

from rupa_desk.paths import AppPaths
from rupa_desk.ui.components.status_bar import StatusBar
from rupa_desk.ui.main_window import MainWindow
from rupa_desk.ui.messages import BugReport, MessageBridge
from rupa_desk.ui.window_state import WindowState
from tests.fixtures.qt import unnamed_controls, wait_until


def make_window(qtbot: QtBot, paths: AppPaths, bridge: MessageBridge | None = None) -> MainWindow:
    window = MainWindow(
        sign_in_page=QLabel("sign in"),
        status_bar=StatusBar(),
        bridge=bridge or MessageBridge(),
        window_state=WindowState(paths.config_dir),
    )
    window.install_panes({key: QLabel(key) for key in window.pane_keys})
    qtbot.addWidget(window)
    return window


async def test_title_names_the_pane_and_the_sidebar_switches_panes(
    qtbot: QtBot, app_paths: AppPaths
) -> None:
    window = make_window(qtbot, app_paths)
    window.show()
    assert window.windowTitle() == "Rupa Desk — Sign in"
    window.show_workspace()
    assert window.windowTitle() == "Rupa Desk — Patients"
    window.show_pane("drafts")
    assert window.windowTitle() == "Rupa Desk — Draft orders"
    assert window.current_pane() == "drafts"
    drafts = window.pane("drafts")
    assert isinstance(drafts, QLabel)
    assert drafts.text() == "drafts"


async def test_ctrl_number_shortcuts_show_the_panes(qtbot: QtBot, app_paths: AppPaths) -> None:
    window = make_window(qtbot, app_paths)
    window.show()
    window.show_workspace()
    window.activateWindow()
    await wait_until(window.isActiveWindow)
    keys = list(window.pane_keys)
    assert keys[:4] == ["patients", "catalog", "drafts", "orders"]
    assert "reports" in keys
    for number, key in enumerate(keys, start=1):  # Ctrl+1 … in sidebar order
        qtbot.keyClick(window, Qt.Key(Qt.Key.Key_0 + number), Qt.KeyboardModifier.ControlModifier)
        assert window.current_pane() == key
        if key == "orders":
            assert window.windowTitle() == "Rupa Desk — Orders"


async def test_the_file_menu_opens_settings_and_sign_out_and_quits(
    qtbot: QtBot, app_paths: AppPaths
) -> None:
    window = make_window(qtbot, app_paths)
    window.show()
    window.show_workspace()
    file_menu = next(
        a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "File"
    )
    actions = {a.text().replace("&", ""): a for a in file_menu.actions() if a.text()}
    assert set(actions) >= {"Settings…", "Sign out…", "Quit"}
    with qtbot.waitSignal(window.settings_requested, timeout=2000):
        actions["Settings…"].trigger()
    with qtbot.waitSignal(window.sign_out_requested, timeout=2000):
        actions["Sign out…"].trigger()
    with qtbot.waitSignal(window.closed, timeout=2000):
        actions["Quit"].trigger()
    assert not window.isVisible()


async def test_panes_are_out_of_reach_until_signed_in(qtbot: QtBot, app_paths: AppPaths) -> None:
    window = make_window(qtbot, app_paths)
    window.show()
    window.activateWindow()
    await wait_until(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert window.windowTitle() == "Rupa Desk — Sign in"
    assert not window.signed_in


async def test_geometry_and_last_pane_are_remembered(qtbot: QtBot, app_paths: AppPaths) -> None:
    first = make_window(qtbot, app_paths)
    first.show()
    first.show_workspace()
    first.resize(780, 520)  # the offscreen screen is 800x600
    first.move(10, 20)
    first.show_pane("orders")
    first.close()
    state_file = app_paths.config_dir / "window.ini"
    assert state_file.exists()

    second = make_window(qtbot, app_paths)
    second.show()
    second.show_workspace()
    assert second.current_pane() == "orders"
    assert second.size().width() == 780
    assert second.size().height() == 520


async def test_window_state_stays_in_the_config_folder(app_paths: AppPaths, tmp_path: Path) -> None:
    state = WindowState(app_paths.config_dir)
    assert state.path.parent == app_paths.config_dir
    assert state.last_pane("catalog") == "catalog"


async def test_window_state_file_and_folder_are_the_users_only(tmp_path: Path) -> None:
    before = os.umask(0o022)  # the usual umask: new files readable by everyone
    try:
        config_dir = tmp_path / "config" / "RupaDesk"
        state = WindowState(config_dir)
        state.save(geometry=QByteArray(b"g"), window_state=QByteArray(b"s"), last_pane="orders")
    finally:
        os.umask(before)
    assert stat.S_IMODE(state.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(config_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "config").stat().st_mode) == 0o700
    assert WindowState(config_dir).last_pane("catalog") == "orders"


async def test_messages_sent_before_the_window_exists_are_shown(
    qtbot: QtBot, app_paths: AppPaths
) -> None:
    bridge = MessageBridge()
    bridge.warning("Rupa could not be reached; working offline.")
    bridge.info("Catalog synced.")
    window = make_window(qtbot, app_paths, bridge)
    window.show()
    assert window.banner.text == ""
    window.attach_messages()
    assert window.banner.level == "warning"
    assert "working offline" in window.banner.text
    assert window.statusBar().currentMessage() == "Catalog synced."
    bridge.error("Could not create the patient: the email is not valid.")
    assert window.banner.level == "error"


async def test_bug_reports_open_one_dialog_with_every_traceback(
    qtbot: QtBot, app_paths: AppPaths
) -> None:
    bridge = MessageBridge()
    window = make_window(qtbot, app_paths, bridge)
    window.attach_messages()
    log_file = app_paths.log_file
    bridge.bug(BugReport("ValueError: one", "Traceback ... ValueError: one", log_file))
    bridge.bug(BugReport("KeyError: two", "Traceback ... KeyError: two", log_file))
    dialog = window.bug_dialog
    assert dialog is not None
    assert dialog.isVisible()
    assert len(dialog.reports) == 2
    assert "ValueError: one" in dialog.details_text()
    assert "KeyError: two" in dialog.details_text()
    labels = [w.text() for w in dialog.findChildren(QLabel)]
    assert any(str(log_file) in text for text in labels)


async def test_every_control_has_an_accessible_name(qtbot: QtBot, app_paths: AppPaths) -> None:
    window = make_window(qtbot, app_paths)
    window.show()
    window.show_workspace()
    assert unnamed_controls(window) == []


async def test_panes_are_replaced_on_sign_out(qtbot: QtBot, app_paths: AppPaths) -> None:
    window = make_window(qtbot, app_paths)
    window.show()
    window.show_workspace()
    window.show_pane("catalog")
    catalog = window.pane("catalog")
    assert isinstance(catalog, QLabel)
    window.remove_panes()
    window.show_sign_in()
    assert not isinstance(window.pane("catalog"), QLabel)
    assert window.current_pane() == "catalog"
    await wait_until(lambda: not shiboken_alive(catalog))


def shiboken_alive(widget: QWidget) -> bool:
    import shiboken6

    return bool(shiboken6.isValid(widget))
