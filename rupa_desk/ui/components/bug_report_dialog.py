"""The dialog that shows an unexpected exception: what happened, the traceback, the log file."""

from __future__ import annotations

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from rupa_desk.ui.messages import BugReport


class BugReportDialog(QDialog):
    """Shows one or more bug reports; a later report is appended to an open dialog.

    Not modal: the app stays usable, and the dialog never blocks the event loop.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Rupa Desk — something went wrong")
        self.setAccessibleName("Bug report")
        self.resize(640, 420)
        self._reports: list[BugReport] = []

        self._intro = QLabel(
            "Rupa Desk ran into a problem it did not expect. This is a bug in Rupa Desk, not "
            "something you did. Your drafts are saved. Please send the details below (or the "
            "log file) to your support contact."
        )
        self._intro.setWordWrap(True)
        self._summary = QLabel()
        self._summary.setWordWrap(True)
        self._summary.setAccessibleName("What went wrong")
        self._details = QPlainTextEdit()
        self._details.setReadOnly(True)
        self._details.setAccessibleName("Error details")
        self._log_label = QLabel()
        self._log_label.setWordWrap(True)
        self._log_label.setAccessibleName("Log file")

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self._copy_button = QPushButton("Copy details")
        self._copy_button.setAccessibleName("Copy details")
        self._open_log_button = QPushButton("Open log folder")
        self._open_log_button.setAccessibleName("Open log folder")
        buttons.addButton(self._copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self._open_log_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.close)
        self._copy_button.clicked.connect(self._on_copy_button_clicked)
        self._open_log_button.clicked.connect(self._on_open_log_button_clicked)

        layout = QVBoxLayout(self)
        layout.addWidget(self._intro)
        layout.addWidget(self._summary)
        layout.addWidget(self._details, 1)
        layout.addWidget(self._log_label)
        layout.addWidget(buttons)

    @property
    def reports(self) -> list[BugReport]:
        """Every report shown in this dialog."""
        return list(self._reports)

    def details_text(self) -> str:
        """The text of the details box (every traceback)."""
        return self._details.toPlainText()

    def add_report(self, report: BugReport) -> None:
        """Show `report` (below any earlier ones)."""
        self._reports.append(report)
        count = len(self._reports)
        self._summary.setText(
            report.summary if count == 1 else f"{count} problems; the latest: {report.summary}"
        )
        if self._details.toPlainText():
            self._details.appendPlainText("\n" + "-" * 60 + "\n")
        self._details.appendPlainText(report.details)
        if report.log_path is not None:
            self._log_label.setText(f"The log file has the details too: {report.log_path}")
        self._open_log_button.setEnabled(report.log_path is not None)

    def _on_copy_button_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self._details.toPlainText())

    def _on_open_log_button_clicked(self) -> None:
        if self._reports and self._reports[-1].log_path is not None:
            folder = self._reports[-1].log_path.parent
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
