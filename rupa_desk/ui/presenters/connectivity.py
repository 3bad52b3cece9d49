"""Online or offline, as the last request to Rupa found it (shown in the status bar)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from rupa_desk.services.errors import NetworkError, RupaError


class Connectivity(QObject):
    """Whether Rupa answered the last request. Presenters report each outcome here.

    Signals:
        online_changed(bool): Rupa became reachable (True) or unreachable (False).
    """

    online_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._online = True

    @property
    def online(self) -> bool:
        """True when the last request got an answer."""
        return self._online

    def answered(self) -> None:
        """A request got an answer (any answer: even an error status means Rupa is there)."""
        self._set(True)

    def failed(self, error: BaseException) -> None:
        """A request failed: a network error means offline; an error answer means online."""
        if isinstance(error, NetworkError):
            self._set(False)
        elif isinstance(error, RupaError):
            self._set(True)

    def _set(self, online: bool) -> None:
        if online != self._online:
            self._online = online
            self.online_changed.emit(online)
