"""The asyncio event loop of the app: qasync's, made safe for QtWebEngine.

qasync stops each `run_until_complete` with `QApplication.exit()`, which (Qt 6) emits
`aboutToQuit` every time. `asyncio.run`/`asyncio.Runner` run several of those (the main
coroutine, then shutting down async generators and the executor), and every async test runs a
few. QtWebEngine tears itself down on the first `aboutToQuit` and crashes the process on the
next one, so once a checkout view has been shown, the second `exit()` is a segfault.

`AppEventLoop` stops the Qt loop without emitting `aboutToQuit`; QtWebEngine then cleans up
when the QApplication is destroyed, as it does anyway. Nothing in Rupa Desk listens to
`aboutToQuit`: shutdown work runs in the main coroutine's `finally`.
"""

from __future__ import annotations

import qasync
from PySide6.QtCore import QCoreApplication


class AppEventLoop(qasync.QEventLoop):
    """A `qasync.QEventLoop` whose `stop()` does not emit `aboutToQuit`."""

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
