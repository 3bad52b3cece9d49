"""The message banner: a later message does not hide an earlier one."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from rupa_desk.ui.widgets.message_banner import MAX_SHOWN, MessageBanner


async def test_a_later_warning_does_not_hide_an_earlier_error(qtbot: QtBot) -> None:
    banner = MessageBanner()
    qtbot.addWidget(banner)
    banner.show_message("error", "The saved settings cannot be used.")
    banner.show_message("warning", "No system keychain is available.")
    assert banner.level == "error"
    assert banner.text == "The saved settings cannot be used.\nNo system keychain is available."
    banner.show_message("error", "The saved settings cannot be used.")  # again: not twice
    assert banner.text.count("settings cannot be used") == 1
    banner.dismiss()
    assert banner.text == ""
    banner.show_message("warning", "Offline.")
    assert (banner.level, banner.text) == ("warning", "Offline.")


async def test_the_banner_lists_only_the_last_few(qtbot: QtBot) -> None:
    banner = MessageBanner()
    qtbot.addWidget(banner)
    for number in range(MAX_SHOWN + 2):
        banner.show_message("warning", f"message {number}")
    assert banner.text.splitlines() == [f"message {n}" for n in range(2, MAX_SHOWN + 2)]
