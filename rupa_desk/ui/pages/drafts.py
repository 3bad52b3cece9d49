"""The Draft orders pane: the list of drafts, and an editor for the one selected.

Every edit (patient, a test added or removed, each keystroke of the notes) is saved at once;
sending, checking out and opening in the browser are the only things that need Rupa.

Keyboard: Delete removes the selected test from the draft; Enter in the test search adds
the highlighted test.
"""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from rupa_desk.core.drafts import DraftState
from rupa_desk.services.store import DraftListing, SearchHit, UnknownDraftError
from rupa_desk.ui.presenters.drafts import DraftsPresenter, describe_state
from rupa_desk.ui.widgets.search_box import SearchBox

ID_ROLE = Qt.ItemDataRole.UserRole
LEFT_CATALOG = "No longer in the catalog"


def money(amount: Decimal | None) -> str:
    return "—" if amount is None else f"${amount:,.2f}"


def estimate(listing: DraftListing) -> str:
    text = money(listing.estimated_total)
    if listing.unpriced and listing.estimated_total is not None:
        text += f" + {listing.unpriced} without price"
    return text


class DraftEditor(QWidget):
    """The selected draft: patient, tests, notes, state and what can be done with it."""

    def __init__(self, presenter: DraftsPresenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self.draft_id: str | None = None
        self._hits: dict[str, SearchHit] = {}
        self.setAccessibleName("Draft")

        self.patient_label = QLabel()
        self.patient_label.setAccessibleName("Patient of the draft")
        self.patient_search = SearchBox()
        self.patient_search.setPlaceholderText("Find a patient by name, email or birthday")
        self.patient_search.setAccessibleName("Find a patient")
        self.patient_results = QListWidget()
        self.patient_results.setAccessibleName("Patients found")
        self.patient_results.setMaximumHeight(90)

        self.state_label = QLabel()
        self.state_label.setWordWrap(True)
        self.state_label.setAccessibleName("Draft state")
        self.send_button = QPushButton("Send to Rupa")
        self.send_button.setAccessibleName("Send the draft to Rupa")
        self.checkout_button = QPushButton("Check out")
        self.checkout_button.setAccessibleName("Check out in Rupa Desk")
        self.browser_button = QPushButton("Open in browser")
        self.browser_button.setAccessibleName("Check out in the system browser")

        self.tests = QTableWidget(0, 3)
        self.tests.setHorizontalHeaderLabels(["Test", "Price", ""])
        self.tests.setAccessibleName("Tests on the draft (Delete removes the selected one)")
        self.tests.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tests.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tests.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tests.verticalHeader().hide()
        self.tests.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.total_label = QLabel()
        self.total_label.setAccessibleName("Estimated total")

        self.test_search = SearchBox()
        self.test_search.setPlaceholderText("Add a test: search the catalog")
        self.test_search.setAccessibleName("Search tests to add")
        self.test_results = QListWidget()
        self.test_results.setAccessibleName("Tests found")
        self.test_results.setMaximumHeight(120)

        self.notes = QPlainTextEdit()
        self.notes.setPlaceholderText("Notes for this order (saved as you type)")
        self.notes.setAccessibleName("Notes")
        self.notes.setMaximumHeight(110)

        actions = QHBoxLayout()
        actions.addWidget(self.send_button)
        actions.addWidget(self.checkout_button)
        actions.addWidget(self.browser_button)
        actions.addStretch(1)
        form = QFormLayout()
        form.addRow("Patient", self.patient_label)
        form.addRow("", self.patient_search)
        form.addRow("", self.patient_results)
        form.addRow("State", self.state_label)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(actions)
        layout.addWidget(self.tests, 1)
        layout.addWidget(self.total_label)
        layout.addWidget(self.test_search)
        layout.addWidget(self.test_results)
        layout.addWidget(QLabel("Notes"))
        layout.addWidget(self.notes)

        self._delete_shortcut = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.tests)
        self._delete_shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
        self._delete_shortcut.activated.connect(self._on_delete_shortcut_activated)
        self.patient_search.search_requested.connect(self._on_patient_search_search_requested)
        self.patient_results.itemActivated.connect(self._on_patient_results_item_activated)
        self.patient_results.itemClicked.connect(self._on_patient_results_item_activated)
        self.test_search.search_requested.connect(self._on_test_search_search_requested)
        self.test_search.returnPressed.connect(self._on_test_search_return_pressed)
        self.test_results.itemActivated.connect(self._on_test_results_item_activated)
        self.notes.textChanged.connect(self._on_notes_text_changed)
        self.send_button.clicked.connect(self._on_send_button_clicked)
        self.checkout_button.clicked.connect(self._on_checkout_button_clicked)
        self.browser_button.clicked.connect(self._on_browser_button_clicked)
        self.show_draft(None)

    def show_draft(self, draft_id: str | None) -> None:
        """Show a draft (None: nothing selected)."""
        listing: DraftListing | None = None
        if draft_id is not None:
            try:
                listing = self._presenter.listing_of(draft_id)
            except UnknownDraftError:
                draft_id = None
        self.draft_id = draft_id
        self.setEnabled(listing is not None)
        if listing is None:
            self.patient_label.setText("Select or create a draft.")
            self.state_label.setText("")
            self.tests.setRowCount(0)
            self.total_label.setText("")
            self._set_notes("")
            return
        draft = listing.draft
        editable = draft.is_editable and draft.state is not DraftState.SENDING
        self.patient_label.setText(listing.patient_name or draft.patient_id or "No patient yet")
        self.state_label.setText(describe_state(draft))
        for widget in (
            self.patient_search,
            self.patient_results,
            self.test_search,
            self.test_results,
            self.notes,
        ):
            widget.setEnabled(editable or (widget is self.notes and draft.is_editable))
        self.send_button.setEnabled(draft.can_send and draft.state is not DraftState.SENDING)
        self.send_button.setText(
            "Retry"
            if draft.state in (DraftState.FAILED, DraftState.QUEUED)
            else "Send update"
            if draft.needs_update
            else "Send to Rupa"
        )
        self.checkout_button.setEnabled(draft.can_check_out)
        self.browser_button.setEnabled(draft.can_check_out)
        self.tests.setRowCount(len(listing.lines))
        for row, line in enumerate(listing.lines):
            name = QTableWidgetItem(line.name or line.lab_test_id)
            name.setData(ID_ROLE, line.lab_test_id)
            self.tests.setItem(row, 0, name)
            self.tests.setItem(row, 1, QTableWidgetItem(money(line.price)))
            flag = QTableWidgetItem(LEFT_CATALOG if line.left_catalog else "")
            if line.left_catalog:
                flag.setToolTip("Rupa may refuse it: remove it or choose another test.")
            self.tests.setItem(row, 2, flag)
        self.total_label.setText(f"Estimated total: {estimate(listing)}")
        if self.notes.toPlainText() != draft.notes:
            self._set_notes(draft.notes)

    def _set_notes(self, text: str) -> None:
        self.notes.blockSignals(True)
        try:
            self.notes.setPlainText(text)
        finally:
            self.notes.blockSignals(False)

    # -- slots ---------------------------------------------------------------------------------

    def _on_delete_shortcut_activated(self) -> None:
        row = self.tests.currentRow()
        item = self.tests.item(row, 0) if row >= 0 else None
        if self.draft_id is not None and item is not None:
            self._presenter.remove_test(self.draft_id, str(item.data(ID_ROLE)))

    def _on_patient_search_search_requested(self, text: str) -> None:
        self.patient_results.clear()
        for patient in self._presenter.search_patients(text) if text.strip() else []:
            birthday = f" · {patient.birthday.isoformat()}" if patient.birthday else ""
            item = QListWidgetItem(f"{patient.full_name} · {patient.email}{birthday}")
            item.setData(ID_ROLE, patient.id)
            self.patient_results.addItem(item)

    def _on_patient_results_item_activated(self, item: QListWidgetItem) -> None:
        if self.draft_id is not None:
            self._presenter.set_patient(self.draft_id, str(item.data(ID_ROLE)))
            self.patient_search.clear()
            self.patient_results.clear()

    def _on_test_search_search_requested(self, text: str) -> None:
        self.test_results.clear()
        self._hits = {hit.id: hit for hit in self._presenter.search_tests(text)}
        for hit in self._hits.values():
            company = f" · {hit.lab_company_name}" if hit.lab_company_name else ""
            item = QListWidgetItem(f"{hit.name}{company} · {money(hit.price)}")
            item.setData(ID_ROLE, hit.id)
            self.test_results.addItem(item)
        if self.test_results.count():
            self.test_results.setCurrentRow(0)

    def _on_test_search_return_pressed(self) -> None:
        item = self.test_results.currentItem()
        if item is not None:
            self._on_test_results_item_activated(item)

    def _on_test_results_item_activated(self, item: QListWidgetItem) -> None:
        hit = self._hits.get(str(item.data(ID_ROLE)))
        if self.draft_id is not None and hit is not None:
            self._presenter.add_test(self.draft_id, hit)

    def _on_notes_text_changed(self) -> None:
        if self.draft_id is not None:
            self._presenter.set_notes(self.draft_id, self.notes.toPlainText())

    @asyncSlot()
    async def _on_send_button_clicked(self) -> None:
        await self._presenter.send(self.draft_id or "")

    def _on_checkout_button_clicked(self) -> None:
        if self.draft_id is not None:
            self._presenter.check_out(self.draft_id)

    @asyncSlot()
    async def _on_browser_button_clicked(self) -> None:
        await self._presenter.open_in_browser(self.draft_id or "")


class DraftsPage(QWidget):
    """The Draft orders pane (a view of `DraftsPresenter`)."""

    def __init__(self, presenter: DraftsPresenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self.setAccessibleName("Draft orders")

        self.new_button = QPushButton("New draft")
        self.new_button.setAccessibleName("Create a new draft")
        self.delete_button = QPushButton("Delete draft")
        self.delete_button.setAccessibleName("Delete the selected draft")
        self.drafts = QTableWidget(0, 4)
        self.drafts.setAccessibleName("Drafts")
        self.drafts.setHorizontalHeaderLabels(["Patient", "Tests", "Estimated total", "State"])
        self.drafts.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.drafts.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.drafts.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.drafts.verticalHeader().hide()
        self.drafts.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.editor = DraftEditor(presenter)

        buttons = QHBoxLayout()
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.delete_button)
        buttons.addStretch(1)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(buttons)
        left_layout.addWidget(self.drafts, 1)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(self.editor)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

        self.new_button.clicked.connect(self._on_new_button_clicked)
        self.delete_button.clicked.connect(self._on_delete_button_clicked)
        self.drafts.itemSelectionChanged.connect(self._on_drafts_item_selection_changed)
        presenter.drafts_changed.connect(self._on_presenter_drafts_changed)
        presenter.current_changed.connect(self._on_presenter_current_changed)
        self.refresh()

    def refresh(self) -> None:
        """Show the drafts as they are in the database."""
        listings = self._presenter.listing()
        current = self._presenter.current
        self.drafts.blockSignals(True)
        try:
            self.drafts.setRowCount(len(listings))
            for row, listing in enumerate(listings):
                draft = listing.draft
                patient = QTableWidgetItem(listing.patient_name or draft.patient_id or "No patient")
                patient.setData(ID_ROLE, draft.id)
                tests = [line.name or line.lab_test_id for line in listing.lines]
                flagged = sum(line.left_catalog for line in listing.lines)
                tests_item = QTableWidgetItem(
                    f"{len(tests)}" + (f" ({flagged} left the catalog)" if flagged else "")
                )
                tests_item.setToolTip("\n".join(tests))
                self.drafts.setItem(row, 0, patient)
                self.drafts.setItem(row, 1, tests_item)
                self.drafts.setItem(row, 2, QTableWidgetItem(estimate(listing)))
                self.drafts.setItem(row, 3, QTableWidgetItem(describe_state(draft)))
                if draft.id == current:
                    self.drafts.selectRow(row)
        finally:
            self.drafts.blockSignals(False)
        self.delete_button.setEnabled(current is not None)
        self.editor.show_draft(current)

    def row_of(self, draft_id: str) -> int:
        """The list row of a draft (-1 when not listed)."""
        for row in range(self.drafts.rowCount()):
            item = self.drafts.item(row, 0)
            if item is not None and item.data(ID_ROLE) == draft_id:
                return row
        return -1

    # -- slots ---------------------------------------------------------------------------------

    def _on_new_button_clicked(self) -> None:
        self._presenter.new_draft()

    def _on_delete_button_clicked(self) -> None:
        if self._presenter.current is not None:
            self._presenter.delete_draft(self._presenter.current)

    def _on_drafts_item_selection_changed(self) -> None:
        rows = self.drafts.selectionModel().selectedRows()
        item = self.drafts.item(rows[0].row(), 0) if rows else None
        self._presenter.set_current(None if item is None else str(item.data(ID_ROLE)))

    def _on_presenter_drafts_changed(self) -> None:
        self.refresh()

    def _on_presenter_current_changed(self, draft_id: str) -> None:
        self.refresh()
