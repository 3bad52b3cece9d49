"""The message banner: one message at a time, the most severe first, none lost, none piled up."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from rupa_desk.ui.widgets.message_banner import MAX_WAITING, MessageBanner


def make_banner(qtbot: QtBot) -> MessageBanner:
    banner = MessageBanner()
    qtbot.addWidget(banner)
    banner.resize(700, 60)
    banner.show()
    return banner


async def test_a_later_warning_does_not_hide_an_earlier_error(qtbot: QtBot) -> None:
    banner = make_banner(qtbot)
    banner.show_message("error", "The saved settings cannot be used.")
    banner.show_message("warning", "No system keychain is available.")
    assert (banner.level, banner.text) == ("error", "The saved settings cannot be used.")
    assert banner.waiting == 2
    assert banner._count.text() == "1 of 2"
    assert banner._next.isVisible()
    banner.show_message("error", "The saved settings cannot be used.")  # again: not twice
    assert banner.waiting == 2
    banner.dismiss()  # the next one comes up
    assert (banner.level, banner.text) == ("warning", "No system keychain is available.")
    assert not banner._next.isVisible()
    banner.dismiss()
    assert banner.text == ""
    assert banner.isHidden()


async def test_one_message_is_shown_at_a_time_and_next_goes_through_them(qtbot: QtBot) -> None:
    banner = make_banner(qtbot)
    for number in range(3):
        banner.show_message("warning", f"message {number}")
    assert banner.text == "message 0"  # oldest first among equals; one line, not three
    assert "\n" not in banner._label.text()
    qtbot.mouseClick(banner._next, Qt.MouseButton.LeftButton)
    assert (banner.text, banner._count.text()) == ("message 1", "2 of 3")
    qtbot.mouseClick(banner._close, Qt.MouseButton.LeftButton)  # dismisses the one shown
    assert banner.text == "message 2"
    assert banner.waiting == 2
    banner.show_message("error", "The disk is full.")  # an error comes first
    assert banner.text == "The disk is full."


async def test_clear_forgets_every_message_and_the_queue_is_bounded(qtbot: QtBot) -> None:
    banner = make_banner(qtbot)
    for number in range(MAX_WAITING + 5):
        banner.show_message("warning", f"message {number}")
    assert banner.waiting == MAX_WAITING
    banner.clear()
    assert (banner.text, banner.waiting) == ("", 0)
    assert banner.isHidden()
