"""The status bar: separated fields, and nothing of an account once it is closed."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from PySide6.QtWidgets import QFrame, QLabel, QMainWindow, QProgressBar, QWidget
from pytestqt.qtbot import QtBot

from rupa_desk.ui.components.status_bar import StatusBar
from tests.fixtures.qt import wait_until


def shown_in_a_window(qtbot: QtBot, bar: StatusBar) -> QMainWindow:
    window = QMainWindow()
    window.setCentralWidget(QWidget())
    window.setStatusBar(bar)
    window.resize(1180, 200)
    qtbot.addWidget(window)
    window.show()
    return window


def signed_in(bar: StatusBar) -> None:
    bar.set_environment("Demo")
    bar.set_practitioner("Dr. Morgan Demo")
    bar.set_online(True)
    bar.set_catalog_synced_at(datetime(2024, 6, 13, 9, 0, tzinfo=UTC))
    bar.set_token_storage("this session only")


async def test_each_field_is_set_apart_by_a_separator_line(qtbot: QtBot) -> None:
    bar = StatusBar()
    signed_in(bar)
    bar.set_sync_progress(10, 100)
    window = shown_in_a_window(qtbot, bar)
    assert window.isVisible()
    fields: list[QWidget] = sorted(
        (w for w in bar.findChildren(QWidget) if w.accessibleName() and w.isVisible()),
        key=lambda w: w.x(),
    )
    assert len(fields) == 6  # environment, practitioner, connection, catalog, progress, tokens
    lines = [
        w
        for w in bar.findChildren(QFrame)
        if not isinstance(w, QLabel) and w.frameShape() == QFrame.Shape.VLine and w.isVisible()
    ]
    for before, after in itertools.pairwise(fields):
        gap = (before.geometry().right(), after.geometry().left())
        assert [line for line in lines if gap[0] <= line.geometry().center().x() <= gap[1]], (
            f"no separator between {before.accessibleName()} and {after.accessibleName()}"
        )
        assert gap[1] - gap[0] >= 6


async def test_closing_the_account_hides_its_catalog_age_and_sync_progress(
    qtbot: QtBot,
) -> None:
    bar = StatusBar()
    signed_in(bar)
    bar.set_sync_progress(0, 0)
    window = shown_in_a_window(qtbot, bar)
    assert window.isVisible()
    assert "Catalog" in bar.texts()
    assert "Catalog sync progress" in bar.texts()

    bar.account_closed()

    assert "Catalog" not in bar.texts()
    assert "Catalog sync progress" not in bar.texts()
    visible = [w for w in bar.findChildren(QLabel) if w.isVisible() and w.text()]
    assert not [w for w in visible if "catalog" in w.text().casefold()]
    bar.set_catalog_synced_at(None)  # the next account opens
    assert bar.texts()["Catalog"] == "no catalog yet"


LONG_MESSAGE = "The draft was sent to Rupa. Check it out when you are ready."


def message_room(bar: StatusBar) -> int:
    """Where the first visible permanent field starts: the message is drawn left of it."""
    fields = [w for w in bar.findChildren(QWidget) if w.accessibleName() and w.isVisible()]
    return min(w.geometry().left() for w in fields)


async def test_in_a_narrow_window_a_message_gets_room_and_the_fields_come_back(
    qtbot: QtBot,
) -> None:
    bar = StatusBar()
    signed_in(bar)
    window = shown_in_a_window(qtbot, bar)
    window.resize(780, 200)
    await wait_until(lambda: window.width() == 780)
    needed = bar.fontMetrics().horizontalAdvance(LONG_MESSAGE)
    assert message_room(bar) < needed  # without making way it would be cut

    bar.showMessage(LONG_MESSAGE, 8000)
    await wait_until(lambda: message_room(bar) >= needed)
    texts = bar.texts()
    assert texts["Environment"] == "Demo"
    assert texts["Signed-in practitioner"] == "Dr. Morgan Demo"
    assert texts["Connection"] == "Online"

    bar.clearMessage()
    await wait_until(lambda: "Catalog" in bar.texts() and "Token storage" in bar.texts())


async def test_in_a_wide_window_every_field_stays_while_a_message_shows(qtbot: QtBot) -> None:
    bar = StatusBar()
    signed_in(bar)
    window = shown_in_a_window(qtbot, bar)
    assert window.width() == 1180
    bar.showMessage(LONG_MESSAGE, 8000)
    assert {"Catalog", "Token storage"} <= set(bar.texts())


async def test_a_message_keeps_its_room_when_the_window_narrows(qtbot: QtBot) -> None:
    bar = StatusBar()
    signed_in(bar)
    window = shown_in_a_window(qtbot, bar)
    bar.showMessage(LONG_MESSAGE, 8000)
    assert {"Catalog", "Token storage"} <= set(bar.texts())
    window.resize(780, 200)
    needed = bar.fontMetrics().horizontalAdvance(LONG_MESSAGE)
    await wait_until(lambda: window.width() == 780 and message_room(bar) >= needed)
    window.resize(1180, 200)
    await wait_until(lambda: {"Catalog", "Token storage"} <= set(bar.texts()))


async def test_sync_progress_with_a_known_and_an_unknown_total(qtbot: QtBot) -> None:
    bar = StatusBar()
    signed_in(bar)
    window = shown_in_a_window(qtbot, bar)
    assert window.isVisible()
    [progress] = bar.findChildren(QProgressBar)
    bar.set_sync_progress(250, 1000)
    assert (progress.value(), progress.maximum()) == (250, 1000)
    assert progress.text() == "Syncing 250/1,000"
    bar.set_sync_progress(1234, 0)  # the server sent no count: busy, never "full"
    assert progress.maximum() == 0
    assert progress.format() == "Syncing… 1,234 tests"
    bar.set_sync_progress(0, 0)
    assert progress.format() == "Syncing…"
