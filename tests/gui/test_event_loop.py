"""The app's event loop (`AppEventLoop`) leaves nothing of itself registered in Qt once closed:
a callback still scheduled when it closes must not keep a Qt timer on an object that Python
may free later, on any thread (that crashed the process at the next event processing)."""

from __future__ import annotations

import asyncio
import gc
import threading

from PySide6.QtCore import QAbstractEventDispatcher
from PySide6.QtWidgets import QApplication

from rupa_desk.ui.event_loop import AppEventLoop


def test_a_closed_loop_has_no_qt_timers_left(qapp: QApplication) -> None:
    loop = AppEventLoop(qapp)
    fired: list[str] = []
    loop.call_later(3600, fired.append, "late")  # still scheduled when the loop closes
    loop.run_until_complete(asyncio.sleep(0.01))
    timer = loop._timer
    dispatcher = QAbstractEventDispatcher.instance()
    assert dispatcher is not None
    assert len(dispatcher.registeredTimers(timer)) == 1  # the check below can fail
    loop.close()
    assert dispatcher.registeredTimers(timer) == []

    # What used to crash: the loop freed on another thread, then events processed.
    del loop, timer
    collector = threading.Thread(target=gc.collect)
    collector.start()
    collector.join()
    qapp.processEvents()
    assert fired == []
