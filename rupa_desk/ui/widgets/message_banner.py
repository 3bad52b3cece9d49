"""A dismissable banner above the content that shows warnings and errors, one at a time.

A new message does not hide the ones before it (a keychain warning at start-up must not hide
a settings error a moment earlier), and they do not pile up either: the banner shows one
message, the most severe and then the oldest, with "1 of 3" and a "Next" button when more
are waiting. Dismissing a message shows the next; `clear` forgets them all (sign-out).
"""

from __future__ import annotations

from typing import Final

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

from rupa_desk.ui.theme import Tone, is_dark, tone_colors

#: Each level's colours are a chip tone's, in the light or dark set the palette asks for.
_TONES = {"info": Tone.INFO, "warning": Tone.WARNING, "error": Tone.DANGER}
_SEVERITY = {"info": 0, "warning": 1, "error": 2}
#: How many messages wait at most (the oldest of the least severe go first).
MAX_WAITING: Final = 20


class MessageBanner(QFrame):
    """One message at a time, its level's colours, a count of the rest, Next and Dismiss.

    Hidden when no message waits.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBanner")
        self.setAccessibleName("Message")
        self._messages: list[tuple[str, str]] = []
        self._shown = 0
        self._label = QLabel()
        self._label.setWordWrap(True)
        self._label.setAccessibleName("Message text")
        self._count = QLabel()
        self._count.setAccessibleName("Messages waiting")
        self._next = QToolButton()
        self._next.setText("Next ›")
        self._next.setAccessibleName("Next message")
        self._next.setToolTip("Show the next message")
        self._next.clicked.connect(self._on_next_clicked)
        self._close = QToolButton()
        self._close.setText("✕")
        self._close.setAccessibleName("Dismiss message")
        self._close.setToolTip("Dismiss this message")
        self._close.clicked.connect(self._on_close_clicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self._label, 1)
        layout.addWidget(self._count, 0)
        layout.addWidget(self._next, 0)
        layout.addWidget(self._close, 0)
        self.hide()

    @property
    def text(self) -> str:
        """The message shown (empty when hidden)."""
        return self._messages[self._shown][1] if self._messages else ""

    @property
    def level(self) -> str:
        """The level of the message shown: info, warning or error (empty when hidden)."""
        return self._messages[self._shown][0] if self._messages else ""

    @property
    def texts(self) -> list[str]:
        """Every message waiting, in the order they are shown."""
        return [text for _, text in self._messages]

    @property
    def waiting(self) -> int:
        """How many messages there are, the one shown included."""
        return len(self._messages)

    def show_message(self, level: str, text: str) -> None:
        """Queue `text` ("info", "warning" or "error"); show it if it is the most severe.

        The same text again is not queued twice.
        """
        if any(m[1] == text for m in self._messages):
            return
        self._messages.append((level, text))
        # Most severe first, then oldest first (a stable sort keeps the arrival order).
        self._messages.sort(key=lambda m: -_SEVERITY.get(m[0], 0))
        del self._messages[MAX_WAITING:]
        self._shown = 0
        self._render()

    def dismiss(self) -> None:
        """Forget the message shown and show the next one (or hide)."""
        if self._messages:
            del self._messages[self._shown]
        if self._shown >= len(self._messages):
            self._shown = 0
        self._render()

    def clear(self) -> None:
        """Forget every message and hide (sign-out: nothing of one account stays on screen)."""
        self._messages = []
        self._shown = 0
        self._render()

    def _render(self) -> None:
        if not self._messages:
            self._label.clear()
            self.hide()
            return
        from PySide6.QtCore import Qt  # not at import: the window paints before `Qt` loads

        self._label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        level, text = self._messages[self._shown]
        self.setStyleSheet(_style(level))
        self._label.setText(text)
        several = len(self._messages) > 1
        self._count.setText(f"{self._shown + 1} of {len(self._messages)}" if several else "")
        self._count.setVisible(several)
        self._next.setVisible(several)
        self.show()

    def changeEvent(self, event: QEvent) -> None:
        """Light or dark changed: the message's colours follow."""
        super().changeEvent(event)
        palette_changes = (QEvent.Type.ApplicationPaletteChange, QEvent.Type.PaletteChange)
        if event.type() in palette_changes and self._messages:
            style = _style(self.level)
            if style != self.styleSheet():  # setting it sends a palette change again
                self.setStyleSheet(style)

    def _on_next_clicked(self) -> None:
        if self._messages:
            self._shown = (self._shown + 1) % len(self._messages)
            self._render()

    def _on_close_clicked(self) -> None:
        self.dismiss()


def _style(level: str) -> str:
    """The banner's colours for a level: its tone's background, text and border."""
    background, text = tone_colors(_TONES.get(level, Tone.NEUTRAL), dark=is_dark())
    return (
        f"QFrame#messageBanner {{ background: {background.name()};"
        f" border: 1px solid {text.name()}; }}"
        f" QFrame#messageBanner QLabel {{ color: {text.name()}; }}"
    )
