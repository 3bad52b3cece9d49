"""The asyncio event loop of the app: qasync's, made safe for the checkout's web engine.

qasync stops each `run_until_complete` with `QApplication.exit()`, which (Qt 6) emits
`aboutToQuit` every time. `asyncio.run`/`asyncio.Runner` run several of those (the main
coroutine, then shutting down async generators and the executor), and every async test runs a
few. The web engine behind `ui/web` (Chromium) tears itself down on the first `aboutToQuit`
and crashes the process on the next one, so once a checkout view has been shown, the second
`exit()` is a segfault.

`AppEventLoop` stops the Qt loop without emitting `aboutToQuit`; the web engine then cleans up
when the QApplication is destroyed, as it does anyway. Nothing in Rupa Desk listens to
`aboutToQuit`: shutdown work runs in the main coroutine's `finally`.

Second, qasync runs asyncio callbacks from Qt timer events, and Qt also delivers those when
the asyncio loop is not running: in the last `processEvents()` that qasync's
`run_until_complete` does after the loop has stopped, or when anything else processes events
between two runs (pytest-qt does, between a test and its teardown). A task step run then fails
with "no running event loop" (e.g. inside httpx). `AppEventLoop` runs such callbacks with
itself as the running loop.

Third, qasync's `close()` leaves the Qt timers of callbacks still scheduled (a `call_later`
nobody cancelled) registered on its timer object, and that object is freed whenever Python's
garbage collector gets to the loop, which may be on any thread (an HTTP server's, a worker's).
Qt cannot unregister a timer from another thread, so the timer stayed registered on a freed
object and the next event processing crashed the process. `AppEventLoop.close()` kills those
timers on the loop's own thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

import qasync
from PySide6.QtCore import QCoreApplication, QEventLoop

T = TypeVar("T")


class _LoopTimer(qasync._SimpleTimer):  # qasync's callback timer
    """qasync's callback timer, with its loop set as the running loop while it runs one."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._loop = loop

    def kill_all(self) -> None:
        """Unregister every timer still scheduled; their callbacks are dropped."""
        callbacks: dict[int, Any] = self._SimpleTimer__callbacks  # qasync's own bookkeeping
        for timer_id in list(callbacks):
            self.killTimer(timer_id)
        callbacks.clear()

    def timerEvent(self, event: Any) -> None:
        if asyncio.events._get_running_loop() is not None or self._loop.is_closed():
            super().timerEvent(event)
            return
        asyncio.events._set_running_loop(self._loop)
        try:
            super().timerEvent(event)
        finally:
            asyncio.events._set_running_loop(None)


class AppEventLoop(qasync.QEventLoop):
    """A `qasync.QEventLoop` whose `stop()` does not emit `aboutToQuit`, and which never runs
    an asyncio callback without a running loop (see the module docstring)."""

    def __init__(self, app: QCoreApplication | None = None) -> None:
        super().__init__(app)
        original: Any = self._timer  # qasync's own, still without callbacks
        original.stop()
        self._timer: Any = _LoopTimer(self)

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

    def close(self) -> None:
        """Close the loop and unregister its Qt timers now (see the module docstring)."""
        super().close()
        self._timer.kill_all()
