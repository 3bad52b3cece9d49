"""The Panels pane: saved panels (Rupa's "custom bundles") to add to a draft in one action.

The list of panels on the left (Enter on one adds it to the draft); on the right the chosen
panel's name (edited in place) and its tests as saved, with "Add panel to draft", "Remove
test" and "Delete panel…" (asked first). "Save current draft as panel" makes a panel of the
draft open in Draft orders; "Export…" and "Import…" share the panels with the clinic's other
computers as a file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Final

from PySide6.QtCore import QStandardPaths, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from rupa_desk.core.panels import Panel
from rupa_desk.ui.components.catalog_model import format_price
from rupa_desk.ui.formatting import tests_count
from rupa_desk.ui.presenters.panels import EXPORT_FILE_NAME, PanelsPresenter
from rupa_desk.ui.widgets.delete_question import chose_delete, delete_question
from rupa_desk.ui.widgets.keyed_table import read_only_table

#: Asks which file to write (parent, suggested name) or read (parent); "" when cancelled.
ChooseExportPath = Callable[[QWidget, str], str]
ChooseImportPath = Callable[[QWidget], str]

_FILTER: Final = "Rupa Desk panels (*.json)"
TEST_COLUMNS: Final = ("Lab company", "Test", "Price when saved")
_ID_ROLE: Final = int(Qt.ItemDataRole.UserRole)


def _documents() -> str:
    return QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)


def choose_export_path(parent: QWidget, suggested: str) -> str:
    """The system's Save dialog for a panels file (in Documents by default)."""
    start = str(Path(_documents()) / suggested) if _documents() else suggested
    path, _ = QFileDialog.getSaveFileName(parent, "Export panels", start, _FILTER)
    return path


def choose_import_path(parent: QWidget) -> str:
    """The system's Open dialog for a panels file."""
    path, _ = QFileDialog.getOpenFileName(parent, "Import panels", _documents(), _FILTER)
    return path


class PanelsPage(QWidget):
    """The Panels pane (a view of `PanelsPresenter`).

    Args:
        presenter: runs the pane's requests.
        choose_export_path: asks where to export (tests answer it themselves).
        choose_import_path: asks which file to import.

    Attributes:
        confirm_box: the "Delete panel?" question while it is open (None otherwise).
        choose_export_path: as given (replaceable, e.g. by a test of the whole app).
        choose_import_path: as given.
    """

    def __init__(
        self,
        presenter: PanelsPresenter,
        *,
        choose_export_path: ChooseExportPath = choose_export_path,
        choose_import_path: ChooseImportPath = choose_import_path,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self.choose_export_path = choose_export_path
        self.choose_import_path = choose_import_path
        self.confirm_box: QMessageBox | None = None
        self.setAccessibleName("Panels")

        self.from_draft_button = QPushButton("Save current draft as panel")
        self.from_draft_button.setAccessibleName("Save the current draft as a panel")
        self.from_draft_button.setToolTip(
            "Make a panel of the tests on the draft open in Draft orders"
        )
        self.import_button = QPushButton("Import…")
        self.import_button.setAccessibleName("Import panels from a file")
        self.export_button = QPushButton("Export…")
        self.export_button.setAccessibleName("Export the panels to a file")
        self.export_button.setToolTip("Save every panel in a file for the clinic's other computers")

        self.list = QListWidget()
        self.list.setAccessibleName("Saved panels")
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setFocusProxy(self.list)  # the pane's key (Ctrl+<n>) leads here: Enter adds it

        self.name = QLineEdit()
        self.name.setAccessibleName("Panel name")
        self.name.setPlaceholderText("Name the panel, e.g. Thyroid basics")
        self.tests = QTableWidget(0, len(TEST_COLUMNS))
        self.tests.setAccessibleName("Tests of the panel")
        self.tests.setHorizontalHeaderLabels(TEST_COLUMNS)
        read_only_table(self.tests, stretch=1)
        self.tests.horizontalHeader().resizeSection(0, 170)
        self.add_to_draft_button = QPushButton("Add panel to draft")
        self.add_to_draft_button.setAccessibleName("Add every test of the panel to the draft")
        self.add_to_draft_button.setDefault(True)
        self.remove_test_button = QPushButton("Remove test")
        self.remove_test_button.setAccessibleName("Remove the selected test from the panel")
        self.delete_button = QPushButton("Delete panel…")
        self.delete_button.setAccessibleName("Delete the panel")

        editor = QWidget()
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_to_draft_button)
        buttons.addStretch(1)
        buttons.addWidget(self.remove_test_button)
        buttons.addWidget(self.delete_button)
        editor_layout = QVBoxLayout(editor)
        editor_layout.setContentsMargins(0, 0, 0, 0)
        name_label = QLabel("&Name")
        name_label.setBuddy(self.name)
        editor_layout.addWidget(name_label)
        editor_layout.addWidget(self.name)
        editor_layout.addWidget(self.tests, 1)
        editor_layout.addLayout(buttons)
        self.placeholder = QLabel(
            "<h3>No panel chosen</h3><p>Choose a panel on the left. To make one, open a draft "
            "in Draft orders and choose “Save current draft as panel”, add a test from the "
            "Catalog with “Add to panel”, or import your clinic's panels file.</p>"
        )
        self.placeholder.setAccessibleName("No panel chosen")
        self.placeholder.setWordWrap(True)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setMargin(24)
        self.right = QStackedWidget()
        self.right.addWidget(self.placeholder)
        self.right.addWidget(editor)
        self._editor = editor

        top = QHBoxLayout()
        top.addWidget(self.from_draft_button)
        top.addStretch(1)
        top.addWidget(self.import_button)
        top.addWidget(self.export_button)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.list)
        splitter.addWidget(self.right)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)

        self.from_draft_button.clicked.connect(self._on_from_draft_button_clicked)
        self.import_button.clicked.connect(self._on_import_button_clicked)
        self.export_button.clicked.connect(self._on_export_button_clicked)
        self.list.currentItemChanged.connect(self._on_list_current_item_changed)
        self.list.itemActivated.connect(self._on_list_item_activated)
        self.name.editingFinished.connect(self._on_name_editing_finished)
        self.add_to_draft_button.clicked.connect(self._on_add_to_draft_button_clicked)
        self.remove_test_button.clicked.connect(self._on_remove_test_button_clicked)
        self.delete_button.clicked.connect(self._on_delete_button_clicked)
        self.tests.itemSelectionChanged.connect(self._update_buttons)
        presenter.panels_changed.connect(self._on_presenter_panels_changed)
        presenter.current_changed.connect(self._on_presenter_current_changed)
        self.refresh()

    # -- showing -------------------------------------------------------------------------------

    def refresh(self) -> None:
        """List the panels again and show the current one."""
        panels = self._presenter.panels()
        self.list.blockSignals(True)
        try:
            self.list.clear()
            for panel in panels:
                count = len(panel.tests)
                tests = tests_count(count)
                item = QListWidgetItem(f"{panel.name} · {tests}", self.list)
                item.setData(_ID_ROLE, panel.id)
                item.setToolTip("\n".join(test.name for test in panel.tests))
            self._select(self._presenter.current)
        finally:
            self.list.blockSignals(False)
        self.export_button.setEnabled(bool(panels))
        self._show(self._presenter.current)

    def _select(self, panel_id: str | None) -> None:
        for row in range(self.list.count()):
            if self.list.item(row).data(_ID_ROLE) == panel_id:
                self.list.setCurrentRow(row)
                return
        self.list.setCurrentRow(-1)

    def _show(self, panel_id: str | None) -> None:
        panel = self._presenter.panel(panel_id) if panel_id else None
        if panel is None:
            self.right.setCurrentWidget(self.placeholder)
            self._update_buttons()
            return
        self.right.setCurrentWidget(self._editor)
        if not self.name.hasFocus() or self.name.text() != panel.name:
            self.name.setText(panel.name)
        self._fill_tests(panel)
        self._update_buttons()

    def _fill_tests(self, panel: Panel) -> None:
        self.tests.setRowCount(len(panel.tests))
        for row, test in enumerate(panel.tests):
            cells = (test.lab_company or "—", test.name, format_price(test.price))
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(_ID_ROLE, test.lab_test_id)
                if column == 2:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                self.tests.setItem(row, column, item)

    def _update_buttons(self) -> None:
        shown = self._presenter.current is not None and self.right.currentWidget() is self._editor
        for button in (self.add_to_draft_button, self.delete_button):
            button.setEnabled(shown)
        # A panel keeps one test at least: its last test is removed by deleting the panel.
        self.remove_test_button.setEnabled(
            shown and self.tests.rowCount() > 1 and bool(self.tests.selectedItems())
        )

    def selected_test_id(self) -> str | None:
        """The id of the test selected in the editor (None: none)."""
        items = self.tests.selectedItems()
        return str(items[0].data(_ID_ROLE)) if items else None

    # -- slots ---------------------------------------------------------------------------------

    def _on_from_draft_button_clicked(self) -> None:
        if self._presenter.save_current_draft() is not None:
            self.name.setFocus(Qt.FocusReason.OtherFocusReason)
            self.name.selectAll()  # type the panel's name at once

    def _on_list_current_item_changed(
        self, current: QListWidgetItem | None, previous: QListWidgetItem | None
    ) -> None:
        self._presenter.set_current(current.data(_ID_ROLE) if current is not None else None)

    @asyncSlot(QListWidgetItem)
    async def _on_list_item_activated(self, item: QListWidgetItem) -> None:
        """Enter (or a double click) on a panel adds it to the draft, like the button."""
        await self._presenter.add_to_draft(str(item.data(_ID_ROLE)))

    def _on_name_editing_finished(self) -> None:
        panel_id = self._presenter.current
        if panel_id is None:
            return
        if not self._presenter.rename(panel_id, self.name.text()):
            panel = self._presenter.panel(panel_id)
            if panel is not None:
                self.name.setText(panel.name)  # refused (told why): the saved name again

    @asyncSlot()
    async def _on_add_to_draft_button_clicked(self) -> None:
        panel_id = self._presenter.current
        if panel_id is not None:
            await self._presenter.add_to_draft(panel_id)

    def _on_remove_test_button_clicked(self) -> None:
        panel_id, test_id = self._presenter.current, self.selected_test_id()
        if panel_id is not None and test_id is not None:
            self._presenter.remove_test(panel_id, test_id)

    def _on_export_button_clicked(self) -> None:
        path = self.choose_export_path(self, EXPORT_FILE_NAME)
        if path:
            self._export(Path(path))

    def _on_import_button_clicked(self) -> None:
        path = self.choose_import_path(self)
        if path:
            self._import(Path(path))

    @asyncSlot(object)
    async def _export(self, path: Path) -> None:
        await self._presenter.export_to(path)

    @asyncSlot(object)
    async def _import(self, path: Path) -> None:
        await self._presenter.import_from(path)

    def _on_delete_button_clicked(self) -> None:
        panel_id = self._presenter.current
        if panel_id is None or self.confirm_box is not None:
            return
        box = delete_question(self, "panel", self._presenter.deletion_question(panel_id))
        box.setProperty("panel_id", panel_id)
        box.buttonClicked.connect(self._on_confirm_box_button_clicked)
        box.finished.connect(self._on_confirm_box_finished)
        self.confirm_box = box
        box.open()

    def _on_confirm_box_button_clicked(self, button: QAbstractButton) -> None:
        box = self.confirm_box
        if box is not None and chose_delete(box, button):
            self._presenter.delete(str(box.property("panel_id")))

    def _on_confirm_box_finished(self, result: int) -> None:
        if self.confirm_box is not None:
            self.confirm_box.deleteLater()
            self.confirm_box = None

    def _on_presenter_panels_changed(self) -> None:
        self.refresh()

    def _on_presenter_current_changed(self, panel_id: str) -> None:
        self.list.blockSignals(True)
        try:
            self._select(panel_id or None)
        finally:
            self.list.blockSignals(False)
        self._show(panel_id or None)
