"""A search field that reports what to search for as the user types, debounced.

The first keystroke after a pause is reported at once (so a single key shows results within
the same frame); keystrokes that follow quickly, like a paste or key repeat, are folded into one
report when the typing settles. Each report carries the whole text, so the receiver can cancel
the search it is running and start the new one.

A box `paced_by_search` waits for no pause: it reports a key at once when no search runs, and
folds the keys typed while one runs into one report when the receiver says it has finished
(`search_finished`), the newest text winning. Results then follow the last key after one
search, not after a fixed delay, and a slow search folds more keys than a quick one.

A box that `pick_only_match_in(view)` picks on Enter: once the results of the text typed are
shown (the receiver says so with `search_finished`), a single result is selected in the view
and the focus moves there, so Enter after a name that matches one patient is that patient.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtWidgets import QAbstractItemView, QLineEdit, QWidget

DEFAULT_SETTLE_MS = 120


class SearchBox(QLineEdit):
    """A line edit with a clear button that emits `search_requested` (debounced).

    Args:
        settle_ms: how long typing must pause before a trailing report; keystrokes closer
            together than this are folded (not used when `paced_by_search`).
        paced_by_search: report at once unless a search runs, and fold the keys typed
            meanwhile into one report on `search_finished`, which the receiver must then call
            when each search ends, however it ends.

    Signals:
        search_requested(str): search for this text now (empty: show everything).
        picked(): Enter picked the only result (see `pick_only_match_in`).
    """

    search_requested = Signal(str)
    picked = Signal()

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        settle_ms: int = DEFAULT_SETTLE_MS,
        paced_by_search: bool = False,
    ) -> None:
        super().__init__(parent)
        self.setClearButtonEnabled(True)
        self._settle_ms = 0 if paced_by_search else settle_ms
        self._paced_by_search = paced_by_search
        self._searching = False
        self._last_report = 0.0
        self._pending: str | None = None
        self._reported: str | None = None
        self._pick_view: QAbstractItemView | None = None
        self._pick_armed = False
        self._outstanding = 0  # searches reported and not finished (with a pick view)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(settle_ms)
        self._timer.timeout.connect(self._on_timer_timeout)
        self.textEdited.connect(self._on_self_text_edited)
        self.returnPressed.connect(self._on_self_return_pressed)

    def setPlaceholderText(self, text: str) -> None:
        """Set the hint shown while the box is empty; it is the tooltip too (unless the box
        has another), so a hint cut in a narrow window can still be read whole."""
        if not self.toolTip() or self.toolTip() == self.placeholderText():
            self.setToolTip(text)
        super().setPlaceholderText(text)

    @property
    def settle_ms(self) -> int:
        """The debounce interval in milliseconds."""
        return self._settle_ms

    def _on_self_text_edited(self, text: str) -> None:
        if self._paced_by_search:
            if self._searching:
                self._pending = text  # the newest text wins
            else:
                self._report(text)
            return
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
        self._pick()

    def _on_self_return_pressed(self) -> None:
        self.flush()
        if self._pick_view is not None:
            self._pick_armed = True
            self._pick()

    def pick_only_match_in(self, view: QAbstractItemView) -> None:
        """On Enter, select the only result of `view` and give it the focus, once the
        results of the text typed are shown. The receiver must then call `search_finished`
        when each search ends, however it ends (results shown, failed or superseded)."""
        self._pick_view = view

    def _pick(self) -> None:
        view = self._pick_view
        searching = self._outstanding or self._pending is not None or self._timer.isActive()
        if view is None or not self._pick_armed or searching:
            return  # the results of the text typed are not shown yet: when they are
        self._pick_armed = False
        model = view.model()
        if model is None or model.rowCount() != 1:
            return
        index = model.index(0, 0)
        view.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        view.setFocus(Qt.FocusReason.OtherFocusReason)
        self.picked.emit()

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

    def search_finished(self) -> None:
        """The search last reported has ended (shown, failed or superseded): report the text
        typed while it ran, if any (`paced_by_search`); pick the only result if Enter asked
        for it (`pick_only_match_in`)."""
        self._searching = False
        self._outstanding = max(self._outstanding - 1, 0)
        if self._paced_by_search and self._pending is not None:
            text, self._pending = self._pending, None
            self._report(text)
        self._pick()

    def _report(self, text: str) -> None:
        self._last_report = time.monotonic()
        if text == self._reported:
            return
        self._reported = text
        self._searching = self._paced_by_search  # before the signal: a receiver may finish
        if self._pick_view is not None:
            self._outstanding += 1
        self.search_requested.emit(text)
