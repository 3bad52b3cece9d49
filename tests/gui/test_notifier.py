"""Desktop notifications: the system tray when there is one, the message bar otherwise."""

from __future__ import annotations

import asyncio

from PySide6.QtWidgets import QSystemTrayIcon

from rupa_desk.settings import production
from rupa_desk.ui.components.notifier import DesktopNotifier
from rupa_desk.ui.messages import Level, Message, MessageBridge
from tests.fixtures.desk import MakeDesk, signed_in_desk
from tests.fixtures.qt import wait_for_signal, wait_until


async def test_without_a_tray_the_notification_goes_to_the_message_bar() -> None:
    bridge = MessageBridge()
    shown: list[Message] = []
    bridge.message_shown.connect(shown.append)
    bridge.attach()
    notifier = DesktopNotifier(bridge)  # asks for the tray; offscreen there is none
    try:
        assert notifier.uses_tray == QSystemTrayIcon.isSystemTrayAvailable()
        assert not notifier.uses_tray
        emitted = asyncio.ensure_future(wait_for_signal(notifier.notified))
        await asyncio.sleep(0)
        notifier.notify("Order status changed", "Ada Lovelace: Paid → In Progress")
        assert await emitted == ("Order status changed", "Ada Lovelace: Paid → In Progress")
        assert shown == [
            Message(Level.INFO, "Order status changed: Ada Lovelace: Paid → In Progress")
        ]
    finally:
        notifier.close()


async def test_clicking_the_tray_or_a_notification_brings_the_window_up(
    make_desk: MakeDesk,
) -> None:
    environment = production("desk-client")
    desk = await signed_in_desk(make_desk, environment, download=True)
    workspace = desk.workspace
    assert workspace is not None
    desk.window.showMinimized()
    await wait_until(desk.window.isMinimized)
    workspace.orders.notifier.activated.emit()  # what the tray icon and its messages emit
    await wait_until(lambda: not desk.window.isMinimized() and desk.window.isVisible())
