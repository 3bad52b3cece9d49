"""The look: Fusion with a light or dark palette that follows the OS, status chips with words
and colours, sidebar icons and counts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import QApplication, QTableView
from pytestqt.qtbot import QtBot

from rupa_desk.paths import AppPaths
from rupa_desk.ui.main_window import MainWindow
from rupa_desk.ui.messages import MessageBridge
from rupa_desk.ui.theme import (
    APPEARANCE_PROPERTY,
    Tone,
    apply_theme,
    chip_colors,
    is_dark,
    order_status_tone,
    set_appearance,
    tone_colors,
)
from rupa_desk.ui.widgets.chip_delegate import ChipDelegate
from rupa_desk.ui.widgets.keyed_table import KeyedTableModel
from rupa_desk.ui.widgets.message_banner import MessageBanner
from rupa_desk.ui.window_state import WindowState
from tests.fixtures.qt import wait_until


@pytest.fixture
def themed(qapp: QApplication) -> Iterator[QApplication]:
    style, palette, sheet = qapp.style().objectName(), qapp.palette(), qapp.styleSheet()
    apply_theme(qapp)
    yield qapp
    qapp.setProperty(APPEARANCE_PROPERTY, None)  # no theme: later windows keep Qt's look
    qapp.styleHints().colorSchemeChanged.disconnect()
    qapp.setStyleSheet(sheet)
    if style:
        qapp.setStyle(style)
    qapp.setPalette(palette)


def test_fusion_follows_the_os_between_light_and_dark(themed: QApplication) -> None:
    assert 'primary="true"' in themed.styleSheet()
    themed.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    assert is_dark(themed.palette())
    themed.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Light)
    assert not is_dark(themed.palette())
    text = themed.palette().color(QPalette.ColorRole.WindowText)
    window = themed.palette().color(QPalette.ColorRole.Window)
    assert abs(text.lightness() - window.lightness()) > 120  # readable in both


def test_a_chosen_appearance_wins_over_the_os_and_system_follows_it_again(
    themed: QApplication,
) -> None:
    set_appearance(themed, "dark")
    assert is_dark(themed.palette())
    themed.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Light)
    assert is_dark(themed.palette())  # the user chose dark
    set_appearance(themed, "light")
    assert not is_dark(themed.palette())
    themed.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    assert not is_dark(themed.palette())
    set_appearance(themed, "system")
    themed.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    assert is_dark(themed.palette())  # the OS again
    themed.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Light)
    assert not is_dark(themed.palette())


async def test_the_window_recolours_its_icons_and_remembers_the_appearance_for_the_next_start(
    qtbot: QtBot, themed: QApplication, app_paths: AppPaths
) -> None:
    window = MainWindow(bridge=MessageBridge(), window_state=WindowState(app_paths.config_dir))
    qtbot.addWidget(window)
    window.show()
    window.show_workspace()
    await wait_until(lambda: window._icons_loaded)
    light_icon = window._sidebar.item(0).icon().pixmap(24, 24).toImage()
    assert WindowState(app_paths.config_dir).appearance("system") == "system"
    window.set_appearance("dark")
    assert is_dark(themed.palette())
    assert is_dark(window._sidebar.palette())  # styled by the stylesheet: restyled too
    table = QTableView(window)
    assert is_dark(table.palette())

    def icon_now() -> QImage:
        return window._sidebar.item(0).icon().pixmap(24, 24).toImage()

    await wait_until(lambda: icon_now() != light_icon)  # drawn in the dark palette's colours
    # read before the next start's first paint (the settings are read after it)
    assert WindowState(app_paths.config_dir).appearance("system") == "dark"
    window.set_appearance("system")
    assert WindowState(app_paths.config_dir).appearance("system") == "system"


async def test_a_message_reads_in_its_tone_in_light_and_dark(
    qtbot: QtBot, themed: QApplication
) -> None:
    banner = MessageBanner()
    qtbot.addWidget(banner)
    banner.resize(600, 40)
    banner.show_message("warning", "The printer did not answer. Check that it is on.")
    for appearance, dark in (("dark", True), ("light", False), ("dark", True)):
        set_appearance(themed, appearance)
        background, text = tone_colors(Tone.WARNING, dark=dark)
        await wait_until(lambda background=background: background.name() in banner.styleSheet())
        assert f"color: {text.name()}" in banner.styleSheet()  # the words, not the palette's
        image = banner.grab().toImage()
        assert image.pixelColor(4, image.height() // 2) == background


def test_every_tone_is_readable_in_light_and_dark() -> None:
    for tone in Tone:
        for dark in (False, True):
            background, text = tone_colors(tone, dark=dark)
            assert abs(background.lightness() - text.lightness()) > 100, (tone, dark)


def test_order_statuses_get_tones_and_unknown_ones_are_neutral() -> None:
    assert order_status_tone("Pending Payment") is Tone.WARNING
    assert order_status_tone(" complete ") is Tone.SUCCESS
    assert order_status_tone("On Hold (new at Rupa)") is Tone.NEUTRAL


class Statuses(KeyedTableModel[str]):
    COLUMNS = ("Status",)

    def key(self, item: str) -> str:
        return item

    def display(self, item: str, column: int) -> str:
        return item

    def chip(self, item: str, column: int) -> Tone:
        return order_status_tone(item)


def test_a_chip_is_painted_in_its_tone_with_its_words(qtbot: QtBot) -> None:
    model = Statuses()
    model.set_rows(["Pending Payment", "Complete"])
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.setItemDelegateForColumn(0, ChipDelegate(chip_colors, view))
    view.resize(300, 200)
    view.show()
    qtbot.waitExposed(view)
    image = view.viewport().grab().toImage()
    for row, tone in ((0, Tone.WARNING), (1, Tone.SUCCESS)):
        rect = view.visualRect(model.index(row, 0, QModelIndex()))
        background, _ = tone_colors(tone, dark=is_dark(view.palette()))
        inside = image.pixelColor(rect.left() + 10, rect.center().y())
        assert inside == QColor(background), (row, inside.name())
    assert model.index(0, 0).data() == "Pending Payment"  # the words stay the text


async def test_the_sidebar_gets_icons_and_counts(qtbot: QtBot, app_paths: AppPaths) -> None:
    window = MainWindow(bridge=MessageBridge(), window_state=WindowState(app_paths.config_dir))
    qtbot.addWidget(window)
    window.show()
    window.show_workspace()
    await wait_until(lambda: window._icons_loaded)
    sidebar = window._sidebar
    assert all(not sidebar.item(i).icon().isNull() for i in range(sidebar.count()))
    window.set_pane_count("drafts", 3, "3 draft(s) not ordered yet")
    assert window.pane_title("drafts") == "Draft orders (3)"
    assert "3 draft(s) not ordered yet" in sidebar.item(2).toolTip()
    window.set_pane_count("drafts", 0)
    assert window.pane_title("drafts") == "Draft orders"
