"""The status bar: environment, who is signed in, online, catalog age, sync, token storage."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QFrame, QLabel, QProgressBar, QStatusBar, QWidget


def describe_catalog_age(synced_at: datetime | None, *, now: datetime | None = None) -> str:
    """The "catalog as of …" text of the status bar.

    Args:
        synced_at: when the last complete catalog sync finished (None: never).
        now: the current time (for tests); local time when omitted.

    Returns:
        "no catalog yet", "catalog as of 14:05" (today) or "catalog as of 3 Jun 14:05".
    """
    if synced_at is None:
        return "no catalog yet"
    local = synced_at.astimezone() if synced_at.tzinfo else synced_at
    current = now or datetime.now(local.tzinfo)
    if local.date() == current.date():
        return f"catalog as of {local:%H:%M}"
    if local.year == current.year:
        return f"catalog as of {local.day} {local:%b %H:%M}"
    return f"catalog as of {local.day} {local:%b %Y %H:%M}"


class StatusBar(QStatusBar):
    """Permanent fields on the right; temporary messages (info) on the left.

    Fields: environment, signed-in practitioner, online/offline, Epic (only when Epic is set
    up), catalog age, a sync progress
    bar (only while syncing) and where the session's tokens are kept, each after a separator
    line. The catalog age and the progress bar belong to the signed-in account: they are
    hidden when nobody is signed in (`account_closed`).

    In a narrow window a temporary message does not disappear behind the fields: while it is
    shown, the fields that can wait (catalog age, token storage) step aside if it needs room.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Status bar")
        self._environment = self._field("Environment")
        self._practitioner = self._field("Signed-in practitioner")
        self._connection = self._field("Connection")
        self._epic = self._field("Epic")
        self._catalog = self._field("Catalog")
        self._progress = QProgressBar()
        self._progress.setAccessibleName("Catalog sync progress")
        self._progress.setMaximumWidth(160)
        self._progress.setTextVisible(True)
        self._progress.hide()
        self._token_storage = self._field("Token storage")
        self._separators: dict[QWidget, QFrame] = {}
        for widget in (
            self._environment,
            self._practitioner,
            self._connection,
            self._epic,
            self._catalog,
            self._progress,
            self._token_storage,
        ):
            separator = QFrame()
            separator.setFrameShape(QFrame.Shape.VLine)
            separator.setFrameShadow(QFrame.Shadow.Sunken)
            self._separators[widget] = separator
            self.addPermanentWidget(separator)
            self.addPermanentWidget(widget)
        self._separators[self._environment].hide()  # nothing before the first field
        self._wanted: dict[QWidget, bool] = dict.fromkeys(self._separators, True)
        self._wanted[self._progress] = False
        self._show_field(self._epic, False)  # until Epic is set up
        self._making_way = False
        self.messageChanged.connect(self._on_message_changed)
        self.set_practitioner(None)
        self.set_online(True)
        self.account_closed()

    def _field(self, name: str) -> QLabel:
        label = QLabel()
        label.setAccessibleName(name)
        label.setContentsMargins(4, 0, 4, 0)
        return label

    def _show_field(self, widget: QWidget, visible: bool) -> None:
        self._wanted[widget] = visible
        shown = visible and not (self._making_way and widget in self._can_wait())
        widget.setVisible(shown)
        self._separators[widget].setVisible(shown and widget is not self._environment)

    def _can_wait(self) -> tuple[QWidget, ...]:
        return (self._catalog, self._token_storage)

    def _on_message_changed(self, text: str) -> None:
        making_way = bool(text) and self._room_for_messages() < self._width_of(text)
        if making_way != self._making_way:
            self._making_way = making_way
            for widget in self._can_wait():
                self._show_field(widget, self._wanted[widget])

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._on_message_changed(self.currentMessage())  # measure again at the new width

    def _width_of(self, text: str) -> int:
        return self.fontMetrics().horizontalAdvance(text) + 16

    def _room_for_messages(self) -> int:
        """The width left of the permanent fields when all of them that are wanted show."""
        layout = self.layout()
        spacing = max(layout.spacing(), 0) if layout is not None else 0
        taken = 0
        for field, separator in self._separators.items():
            if self._wanted[field]:
                taken += field.sizeHint().width() + spacing
                if field is not self._environment:
                    taken += separator.sizeHint().width() + spacing
        return self.width() - taken - 24  # the size grip and the margins

    # The texts, for tests and screen readers.
    def texts(self) -> dict[str, str]:
        """Every shown field's text by accessible name (the progress bar: its format)."""
        texts = {
            label.accessibleName(): label.text()
            for label in (
                self._environment,
                self._practitioner,
                self._connection,
                self._epic,
                self._catalog,
                self._token_storage,
            )
            if not label.isHidden()
        }
        if not self._progress.isHidden():
            texts[self._progress.accessibleName()] = self._progress.text()
        return texts

    def set_environment(self, label: str) -> None:
        """Production, Rupa sandbox or Demo."""
        self._environment.setText(label)
        self._environment.setToolTip(f"Rupa environment: {label}")

    def set_practitioner(self, name: str | None) -> None:
        """The signed-in practitioner's name, or None when signed out."""
        self._practitioner.setText(name if name else "Not signed in")

    def set_online(self, online: bool) -> None:
        """Whether the last request to Rupa got through."""
        self._connection.setText("Online" if online else "Offline")
        self._connection.setToolTip(
            "Rupa answered the last request."
            if online
            else "Rupa could not be reached; the catalog, patients and drafts work offline."
        )

    def set_epic_status(self, text: str) -> None:
        """The Epic connection in words ("Epic: connected until 14:05"); shown once set."""
        self._epic.setText(text)
        self._epic.setToolTip("Rupa Desk's connection to Epic (Find in Epic)")
        self._show_field(self._epic, True)

    def set_catalog_synced_at(self, synced_at: datetime | None) -> None:
        """When the signed-in account's last complete catalog sync finished."""
        self._catalog.setText(describe_catalog_age(synced_at))
        self._show_field(self._catalog, True)

    def set_sync_progress(self, done: int, total: int) -> None:
        """Show the sync progress bar at `done` of `total` (total 0: not known yet)."""
        self._progress.setMaximum(max(total, 0))
        self._progress.setValue(min(done, total) if total > 0 else 0)
        if total > 0:
            self._progress.setFormat(f"Syncing {done:,}/{total:,}")
        else:  # a busy bar
            self._progress.setFormat(f"Syncing… {done:,} tests" if done else "Syncing…")
        self._show_field(self._progress, True)

    def finish_sync(self) -> None:
        """Hide the progress bar."""
        self._show_field(self._progress, False)

    def account_closed(self) -> None:
        """Nobody is signed in: no catalog age, no sync progress."""
        self._catalog.clear()
        self._show_field(self._catalog, False)
        self.finish_sync()

    def set_token_storage(self, mode: str) -> None:
        """Where the session is kept: "OS keychain" or "this session only"."""
        self._token_storage.setText(f"Session: {mode}")
        self._token_storage.setToolTip(
            "You stay signed in after a restart."
            if mode == "OS keychain"
            else "No keychain is available here: you will sign in again after a restart."
        )
