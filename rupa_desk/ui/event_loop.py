"""The asyncio event loop of the app: qasync's, made safe for QtWebEngine.

qasync stops each `run_until_complete` with `QApplication.exit()`, which (Qt 6) emits
`aboutToQuit` every time. `asyncio.run`/`asyncio.Runner` run several of those (the main
coroutine, then shutting down async generators and the executor), and every async test runs a
few. QtWebEngine tears itself down on the first `aboutToQuit` and crashes the process on the
next one, so once a checkout view has been shown, the second `exit()` is a segfault.

`AppEventLoop` stops the Qt loop without emitting `aboutToQuit`; QtWebEngine then cleans up
when the QApplication is destroyed, as it does anyway. Nothing in Rupa Desk listens to
`aboutToQuit`: shutdown work runs in the main coroutine's `finally`.

Second, qasync's `run_until_complete` ends with one more `processEvents()` after the loop has
stopped, without a running asyncio loop: a task step that Qt delivers then (an HTTP answer
arriving at that moment) fails with "no running event loop". `AppEventLoop` runs that last
round with itself as the running loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

import qasync
from PySide6.QtCore import QCoreApplication, QEventLoop

T = TypeVar("T")


class AppEventLoop(qasync.QEventLoop):
    """A `qasync.QEventLoop` whose `stop()` does not emit `aboutToQuit`, and whose
    `run_until_complete` never runs a task step without a running loop."""

    def run_until_complete(self, future: Awaitable[T]) -> T:
        """Run until `future` is done (qasync's, see the module docstring)."""
        if self.is_running():
            raise RuntimeError("Event loop already running")
        task: asyncio.Future[Any] = asyncio.ensure_future(future, loop=self)

        def stop(_: object) -> None:
            self.stop()

        task.add_done_callback(stop)
        try:
            self.run_forever()
        finally:
            task.remove_done_callback(stop)
        app = QCoreApplication.instance()
        if app is not None:  # the last round of events, as qasync does, but inside the loop
            asyncio.events._set_running_loop(self)
            try:
                app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents)
            finally:
                asyncio.events._set_running_loop(None)
        if not task.done():
            raise RuntimeError("Event loop stopped before Future completed.")
        result: T = task.result()
        return result

    def stop(self) -> None:
        """Stop the running Qt event loop quietly (see the module docstring)."""
        app = QCoreApplication.instance()
        if app is None:
            super().stop()
            return
        was_blocked = app.blockSignals(True)
        try:
            super().stop()
        finally:
            app.blockSignals(was_blocked)
