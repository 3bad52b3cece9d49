"""The ways a file leaves the app: another application, the save dialog, the print dialog.

Each is a plain callable, so that tests (and sandboxed installs) pass their own: a test
"prints" by setting the printer to write a PDF file. `WaysOut` carries the three together
through the panes that forward them. QtPrintSupport is loaded only when something prints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QStandardPaths, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QDialog, QFileDialog, QWidget

if TYPE_CHECKING:
    from PySide6.QtPrintSupport import QPrinter

#: Opens a URL outside the app; returns False when nothing could open it.
OpenExternally = Callable[[QUrl], bool]
#: Asks where to save (parent, suggested file name); returns the chosen path, "" when cancelled.
ChooseSavePath = Callable[[QWidget, str], str]
#: Asks how to print (parent, the printer to set up, how many pages there are, for the page
#: range); returns False when cancelled.
ChoosePrinter = Callable[[QWidget, "QPrinter", int], bool]


def open_externally(url: QUrl) -> bool:
    """Open `url` with the application the system chooses."""
    return QDesktopServices.openUrl(url)


def choose_save_path(parent: QWidget, suggested: str) -> str:
    """The system's Save dialog, for a PDF (or a CSV file when `suggested` ends in .csv); a
    bare file name starts in the Documents folder (not wherever the app was started from)."""
    if not Path(suggested).is_absolute():
        documents = QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.DocumentsLocation
        )
        if documents:
            suggested = str(Path(documents) / suggested)
    kind = "CSV files (*.csv)" if suggested.lower().endswith(".csv") else "PDF files (*.pdf)"
    path, _ = QFileDialog.getSaveFileName(parent, "Save as", suggested, kind)
    return path


def save_csv(path: Path, text: str, what: str) -> str | None:
    """Write `text` to `path` as UTF-8 with a byte order mark (spreadsheet programs then
    read names correctly); None when saved, else what to tell the user ("`what` could not be
    saved there …")."""
    try:
        path.write_text(text, encoding="utf-8-sig", newline="")
    except OSError as exc:
        return (
            f"{what} could not be saved there ({exc.strerror or exc}). "
            "Choose another folder and try again."
        )
    return None


def choose_printer(parent: QWidget, printer: QPrinter, pages: int) -> bool:
    """The system's Print dialog: printer, copies and the pages to print."""
    from PySide6.QtPrintSupport import QAbstractPrintDialog, QPrintDialog

    dialog = QPrintDialog(printer, parent)
    dialog.setMinMax(1, max(1, pages))
    dialog.setOption(QAbstractPrintDialog.PrintDialogOption.PrintPageRange, True)
    dialog.setOption(QAbstractPrintDialog.PrintDialogOption.PrintCurrentPage, True)
    try:
        return dialog.exec() == QDialog.DialogCode.Accepted
    finally:
        dialog.deleteLater()


@dataclass(frozen=True, slots=True)
class WaysOut:
    """The three ways out, as one value to pass along (the system's by default)."""

    open_externally: OpenExternally = open_externally
    choose_save_path: ChooseSavePath = choose_save_path
    choose_printer: ChoosePrinter = choose_printer
