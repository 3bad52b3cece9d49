"""The one bridge for messages to the user (after qutebrowser's message bridge).

Any part of the UI says something to the user through a `MessageBridge` it was given:
`info`, `warning`, `error` for known situations (offline, validation, a finished sync), and
`bug` for unexpected exceptions (shown as a bug report dialog). A known error
(`rupa_desk.core.errors.KnownError`) becomes a message through `known_error` alone, so every
such message reads alike: what did not happen, then what happened and what to do next. Until
the main window has connected and called `attach`, messages are queued, so nothing said
during start-up is lost.

Message texts are for the user: they may name a patient, so the bridge never logs them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from rupa_desk.core.errors import KnownError


class Level(enum.Enum):
    """How important a message is."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class Message:
    """Something to tell the user.

    Attributes:
        level: info, warning or error.
        text: one or two sentences: what happened and, for errors, what to do next.
    """

    level: Level
    text: str


@dataclass(frozen=True)
class BugReport:
    """An unexpected exception, as shown in the bug report dialog.

    Attributes:
        summary: one line: the exception type and message, and where it happened.
        details: the full traceback.
        log_path: the log file that holds it too (None when no log file is configured).
    """

    summary: str
    details: str
    log_path: Path | None = None


class MessageBridge(QObject):
    """Carries messages and bug reports from anywhere in the UI to the main window.

    Messages sent before `attach` are queued and delivered, in order, by `attach`.

    Signals:
        message_shown(Message): a message for the user.
        bug_reported(BugReport): an unexpected exception to show as a bug report.
    """

    message_shown = Signal(object)
    bug_reported = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue: list[Message | BugReport] = []
        self._attached = False

    @property
    def attached(self) -> bool:
        """True once a receiver has called `attach`."""
        return self._attached

    def info(self, text: str) -> None:
        """Tell the user something worth knowing (a sync finished, a patient was created)."""
        self.show(Message(Level.INFO, text))

    def warning(self, text: str) -> None:
        """Tell the user about a problem that did not stop them (working offline)."""
        self.show(Message(Level.WARNING, text))

    def error(self, text: str) -> None:
        """Tell the user that something they asked for failed, and what to do next."""
        self.show(Message(Level.ERROR, text))

    def known_error(
        self, error: KnownError, *, not_done: str = "", level: Level = Level.ERROR
    ) -> None:
        """Tell the user about a known error, the one way every presenter does it.

        Args:
            error: the error; its `user_message` says what happened and what to do next.
            not_done: what the user asked for that did not happen, as a sentence ("The
                change was not saved."); put before the error's message.
            level: `Level.WARNING` when the user can carry on (working offline), else error.
        """
        text = f"{not_done} {error.user_message}" if not_done else error.user_message
        self.show(Message(level, text))

    def show(self, message: Message) -> None:
        """Deliver a message now, or queue it until a receiver attaches."""
        if self._attached:
            self.message_shown.emit(message)
        else:
            self._queue.append(message)

    def bug(self, report: BugReport) -> None:
        """Show an unexpected exception as a bug report (queued until a receiver attaches)."""
        if self._attached:
            self.bug_reported.emit(report)
        else:
            self._queue.append(report)

    def attach(self) -> None:
        """Start delivering: call after connecting to the signals; flushes the queue."""
        self._attached = True
        queued, self._queue = self._queue, []
        for item in queued:
            if isinstance(item, BugReport):
                self.bug_reported.emit(item)
            else:
                self.message_shown.emit(item)

    def detach(self) -> None:
        """Queue messages again (the window is closing)."""
        self._attached = False

    def queued(self) -> list[Message | BugReport]:
        """What is waiting for a receiver (what start-up would otherwise lose)."""
        return list(self._queue)
