"""Unexpected exceptions: logged with their traceback and shown as a bug report, never lost.

`BugReporter` is where every unexpected exception ends up: `sys.excepthook` (exceptions in Qt
slots and virtual methods), the asyncio loop's exception handler (callbacks, tasks nobody
awaited), failed background tasks (`rupa_desk.ui.tasks.BackgroundTasks`) and failed async slots
(qasync's `asyncSlot` hands those to `sys.excepthook`). Known, environmental errors never get
here: the presenters turn them into messages with a next step.
"""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from rupa_desk.ui.messages import BugReport, MessageBridge

if TYPE_CHECKING:  # asyncio is imported after the window's first paint
    import asyncio

log = logging.getLogger(__name__)


class BugReporter:
    """Logs unexpected exceptions and shows them to the user as bug reports.

    Args:
        bridge: where bug reports go (the main window shows them).
        log_path: the log file, named in the dialog so the user can send it (None: no file;
            the app sets it to None when the file cannot be written).
    """

    def __init__(self, bridge: MessageBridge, log_path: Path | None) -> None:
        self._bridge = bridge
        self.log_path = log_path
        self._previous_hook: Any = None

    def report(self, exc: BaseException, *, where: str) -> BugReport:
        """Log `exc` with its traceback and show it as a bug report.

        Args:
            exc: the unexpected exception.
            where: what was running (a task name, "a Qt slot").

        Returns:
            The report that was shown.
        """
        log.error("Unexpected error in %s", where, exc_info=(type(exc), exc, exc.__traceback__))
        details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        report = BugReport(
            summary=f"{type(exc).__name__}: {exc} (in {where})",
            details=details,
            log_path=self.log_path,
        )
        self._bridge.bug(report)
        return report

    def on_task_failed(self, name: str, exc: BaseException) -> None:
        """`BackgroundTasks` failure handler: a background task raised."""
        self.report(exc, where=f"background task {name!r}")

    def excepthook(
        self,
        exc_type: type[BaseException],
        exc: BaseException,
        tb: TracebackType | None,
    ) -> None:
        """`sys.excepthook`: exceptions in Qt slots, virtual methods and async slots."""
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        if exc.__traceback__ is None and tb is not None:
            exc = exc.with_traceback(tb)
        self.report(exc, where="the user interface")

    def loop_exception_handler(
        self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]
    ) -> None:
        """The asyncio loop's exception handler (set with `loop.set_exception_handler`)."""
        exc = context.get("exception")
        if isinstance(exc, BaseException):
            self.report(exc, where=str(context.get("message") or "the event loop"))
        else:
            log.warning("Event loop: %s", context.get("message", "unknown problem"))

    def install(self) -> None:
        """Become `sys.excepthook` (the previous hook is restored by `uninstall`)."""
        self._previous_hook = sys.excepthook
        sys.excepthook = self.excepthook

    def uninstall(self) -> None:
        """Restore the hook that was there before `install`."""
        if self._previous_hook is not None:
            sys.excepthook = self._previous_hook
            self._previous_hook = None
