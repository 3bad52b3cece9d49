"""A PDF viewer (QtPdf) with "Open with system viewer" and "Save as…".

Generic: it shows a PDF file and knows nothing of orders. The two ways out of the app are
injectable so that tests (and sandboxed installs) can replace them.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

#: Opens a URL outside the app; returns False when nothing could open it.
OpenExternally = Callable[[QUrl], bool]
#: Asks where to save (parent, suggested path); returns the chosen path, or "" when cancelled.
ChooseSavePath = Callable[[QWidget, str], str]


class PdfNotReadable(Exception):
    """The file is missing or is not a PDF that can be shown."""


def _choose_save_path(parent: QWidget, suggested: str) -> str:
    path, _ = QFileDialog.getSaveFileName(parent, "Save as", suggested, "PDF files (*.pdf)")
    return path


class PdfViewer(QWidget):
    """Shows one PDF, page by page in a scrolling view.

    Signals:
        saved(str): the PDF was saved under this path.
        action_failed(str): a message for the user when saving or opening outside failed.
    """

    saved = Signal(str)
    action_failed = Signal(str)

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        open_externally: OpenExternally = QDesktopServices.openUrl,
        choose_save_path: ChooseSavePath = _choose_save_path,
    ) -> None:
        """Build an empty viewer; `load()` shows a file."""
        super().__init__(parent)
        self._open_externally = open_externally
        self._choose_save_path = choose_save_path
        self._path: Path | None = None

        self.document = QPdfDocument(self)
        self.view = QPdfView(self)
        self.view.setDocument(self.document)
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        self.view.setAccessibleName("PDF pages")

        self._title = QLabel(self)
        self._page_label = QLabel(self)
        self._open_button = QPushButton("Open with system viewer", self)
        self._open_button.setAccessibleName("Open the PDF with the system viewer")
        self._save_button = QPushButton("Save as…", self)
        self._save_button.setAccessibleName("Save the PDF as a file")
        bar = QHBoxLayout()
        bar.addWidget(self._title, 1)
        bar.addWidget(self._page_label)
        bar.addWidget(self._open_button)
        bar.addWidget(self._save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)

        self._open_button.clicked.connect(self._on_open_button_clicked)
        self._save_button.clicked.connect(self._on_save_button_clicked)
        self.view.pageNavigator().currentPageChanged.connect(
            self._on_navigator_current_page_changed
        )
        self._show_state()

    @property
    def path(self) -> Path | None:
        """The file shown, if any."""
        return self._path

    @property
    def page_count(self) -> int:
        return self.document.pageCount()

    @property
    def page_text(self) -> str:
        """ "Page n of m" as shown."""
        return self._page_label.text()

    def load(self, path: Path, *, title: str = "") -> None:
        """Show a PDF file.

        Raises:
            PdfNotReadable: the file is missing or not a readable PDF (the viewer is empty).
        """
        error = self.document.load(str(path))
        if error != QPdfDocument.Error.None_:
            self.clear()
            raise PdfNotReadable(_describe(error, path))
        self._path = path
        self._title.setText(title or path.name)
        self._show_state()

    def clear(self) -> None:
        """Show nothing."""
        self.document.close()
        self._path = None
        self._title.setText("")
        self._show_state()

    # -- slots ---------------------------------------------------------------------------------

    def _on_open_button_clicked(self) -> None:
        if self._path is None:
            return
        if not self._open_externally(QUrl.fromLocalFile(str(self._path))):
            self.action_failed.emit(
                "No application could open the PDF. Use Save as… and open the file yourself."
            )

    def _on_save_button_clicked(self) -> None:
        if self._path is None:
            return
        target = self._choose_save_path(self, self._path.name)
        if not target:
            return
        try:
            shutil.copyfile(self._path, target)
        except OSError as exc:
            self.action_failed.emit(f"The PDF could not be saved to {target}: {exc.strerror}.")
            return
        self.saved.emit(target)

    def _on_navigator_current_page_changed(self, page: int) -> None:
        self._show_state()

    def _show_state(self) -> None:
        loaded = self._path is not None
        self._open_button.setEnabled(loaded)
        self._save_button.setEnabled(loaded)
        if loaded and self.page_count:
            current = self.view.pageNavigator().currentPage() + 1
            self._page_label.setText(f"Page {current} of {self.page_count}")
        else:
            self._page_label.setText("")


def _describe(error: QPdfDocument.Error, path: Path) -> str:
    if error == QPdfDocument.Error.FileNotFound:
        return f"The PDF {path.name} is not there any more; download it again."
    if error in (
        QPdfDocument.Error.IncorrectPassword,
        QPdfDocument.Error.UnsupportedSecurityScheme,
    ):
        return f"The PDF {path.name} is protected; open it with the system viewer."
    return f"The file {path.name} is not a PDF that can be shown; download it again."
