"""The order detail's "File to Epic": a button and where the order stands with Epic."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget
from qasync import asyncSlot

from rupa_desk.services.store import OrderDetail
from rupa_desk.ui.presenters.epic_filing import EpicFilingPresenter


class EpicFilingBar(QWidget):
    """Shown under an order's buttons when Epic is set up; hidden for orders without
    downloaded results."""

    def __init__(self, presenter: EpicFilingPresenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self._detail: OrderDetail | None = None
        self.setAccessibleName("Epic filing")
        self.file_button = QPushButton("File to Epic")
        self.file_button.setAccessibleName("File the results to the Epic chart")
        self.state = QLabel()
        self.state.setAccessibleName("Epic filing state")
        self.state.setWordWrap(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.state, 1)
        layout.addWidget(self.file_button)
        self.file_button.clicked.connect(self._on_file_button_clicked)
        presenter.filing_changed.connect(self._on_presenter_filing_changed)
        self.show_detail(None)

    def show_detail(self, detail: OrderDetail | None) -> None:
        self._detail = detail
        enabled, text = self._presenter.state(detail) if detail is not None else (False, "")
        self.file_button.setEnabled(enabled)
        self.state.setText(text)
        self.setVisible(bool(text))

    def _on_presenter_filing_changed(self, order_id: str) -> None:
        if self._detail is not None and self._detail.row.id == order_id:
            self.show_detail(self._detail)

    @asyncSlot()
    async def _on_file_button_clicked(self) -> None:
        if self._detail is not None:
            self.file_button.setEnabled(False)
            await self._presenter.file(self._detail)
            self.show_detail(self._detail)
