"""Result PDFs in their own large windows, one window per file.

Showing a file that has a window raises that window; a newer download of it is shown in it
when it arrives. Whoever opens them (the Orders pane) closes them all when the account closes,
so that no patient's result stays on screen after sign-out. Escape closes a window.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QCloseEvent, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import QVBoxLayout, QWidget

from rupa_desk.ui.widgets.file_dialogs import WaysOut
from rupa_desk.ui.widgets.pdf_viewer import PdfNotReadable, PdfViewer

#: The share of the screen's free area (without task bars) a result window takes.
SCREEN_SHARE: Final = 0.9


class ResultWindow(QWidget):
    """One result PDF in a top-level window (deleted when closed).

    Signals:
        closed(object): the window was closed (this `ResultWindow`).
    """

    closed = Signal(object)

    def __init__(self, ways_out: WaysOut) -> None:
        super().__init__(None)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setAccessibleName("Result")
        self.viewer = PdfViewer(
            self,
            open_externally=ways_out.open_externally,
            choose_save_path=ways_out.choose_save_path,
            choose_printer=ways_out.choose_printer,
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.viewer)
        escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        escape.activated.connect(self.close)

    @property
    def path(self) -> Path | None:
        return self.viewer.path

    def show_file(self, path: Path, *, title: str, save_name: str) -> None:
        """Show (or show again) a file, titled `title`.

        Raises:
            PdfNotReadable: the file cannot be shown.
        """
        self.viewer.load(path, title=title, save_name=save_name)
        self.setWindowTitle(f"{title} — Rupa Desk")

    def place(self, near: QWidget | None) -> None:
        """Take most of the screen `near` is on (the primary screen without it), centred."""
        screen = (near.screen() if near is not None else None) or QGuiApplication.primaryScreen()
        if screen is None:
            return
        area = screen.availableGeometry()
        self.resize(round(area.width() * SCREEN_SHARE), round(area.height() * SCREEN_SHARE))
        frame = self.frameGeometry()
        frame.moveCenter(area.center())
        self.move(frame.topLeft())

    def closeEvent(self, event: QCloseEvent) -> None:
        super().closeEvent(event)
        if event.isAccepted():
            self.closed.emit(self)


class ResultWindows(QObject):
    """The open result windows, one per file.

    Args:
        ways_out: the dialogs the windows' viewers use (the system's by default).

    Signals:
        action_failed(str): a message for the user (a file that cannot be shown, saved or
            printed).
    """

    action_failed = Signal(str)

    def __init__(self, ways_out: WaysOut | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ways_out = ways_out or WaysOut()
        self._windows: dict[Path, ResultWindow] = {}

    def show(
        self, path: Path, *, title: str, save_name: str = "", near: QWidget | None = None
    ) -> ResultWindow:
        """Show a file in its window (made, large, on first use; raised if already open).

        Raises:
            PdfNotReadable: the file cannot be shown (no window is left open for it).
        """
        window = self._windows.get(path)
        if window is None:
            window = ResultWindow(self._ways_out)
            try:
                window.show_file(path, title=title, save_name=save_name)
            except PdfNotReadable:
                window.deleteLater()
                raise
            window.viewer.action_failed.connect(self.action_failed)
            window.closed.connect(self._on_window_closed)
            self._windows[path] = window
            window.place(near)
            window.show()
            window.viewer.view.setFocus()  # PgUp/PgDn scroll at once
        elif window.isMinimized():
            window.showNormal()
        window.raise_()
        window.activateWindow()
        return window

    def window(self, path: Path) -> ResultWindow | None:
        """The open window of a file, if any."""
        return self._windows.get(path)

    @property
    def open_paths(self) -> list[Path]:
        return list(self._windows)

    def file_changed(self, path: Path) -> None:
        """A newer file was saved under `path`: its window (if open) shows it."""
        window = self._windows.get(path)
        if window is None:
            return
        try:
            window.viewer.reload()
        except PdfNotReadable as exc:
            self.action_failed.emit(str(exc))

    def close_all(self) -> None:
        """Close every window (sign-out: no result stays on screen)."""
        for window in list(self._windows.values()):
            window.close()
        self._windows.clear()

    def _on_window_closed(self, closed: object) -> None:
        for key, window in list(self._windows.items()):
            if window is closed:
                del self._windows[key]
