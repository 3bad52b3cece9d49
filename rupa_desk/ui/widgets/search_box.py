"""A search field that reports what to search for as the user types, debounced.

The first keystroke after a pause is reported at once (so a single key shows results within
the same frame); keystrokes that follow quickly, like a paste or key repeat, are folded into one
report when the typing settles. Each report carries the whole text, so the receiver can cancel
the search it is running and start the new one.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QLineEdit, QWidget

DEFAULT_SETTLE_MS = 120


class SearchBox(QLineEdit):
    """A line edit with a clear button that emits `search_requested` (debounced).

    Args:
        settle_ms: how long typing must pause before a trailing report; keystrokes closer
            together than this are folded.

    Signals:
        search_requested(str): search for this text now (empty: show everything).
    """

    search_requested = Signal(str)

    def __init__(
        self, parent: QWidget | None = None, *, settle_ms: int = DEFAULT_SETTLE_MS
    ) -> None:
        super().__init__(parent)
        self.setClearButtonEnabled(True)
        self._settle_ms = settle_ms
        self._last_report = 0.0
        self._pending: str | None = None
        self._reported: str | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(settle_ms)
        self._timer.timeout.connect(self._on_timer_timeout)
        self.textEdited.connect(self._on_self_text_edited)
        self.returnPressed.connect(self._on_self_return_pressed)

    @property
    def settle_ms(self) -> int:
        """The debounce interval in milliseconds."""
        return self._settle_ms

    def _on_self_text_edited(self, text: str) -> None:
        now = time.monotonic()
        if not self._timer.isActive() and (now - self._last_report) * 1000 >= self._settle_ms:
            self._report(text)
        else:
            self._pending = text
        self._timer.start()

    def _on_timer_timeout(self) -> None:
        if self._pending is not None:
            text, self._pending = self._pending, None
            self._report(text)

    def _on_self_return_pressed(self) -> None:
        self.flush()

    def reset(self) -> None:
        """Clear the box and forget what was searched, so that typing the same text again
        searches again (after the results were used and cleared)."""
        self._timer.stop()
        self._pending = None
        self._reported = None
        self.clear()

    def flush(self) -> None:
        """Report a pending text now (e.g. on Enter) instead of waiting for the pause."""
        self._timer.stop()
        if self._pending is not None:
            text, self._pending = self._pending, None
            self._report(text)

    def _report(self, text: str) -> None:
        self._last_report = time.monotonic()
        if text == self._reported:
            return
        self._reported = text
        self.search_requested.emit(text)
