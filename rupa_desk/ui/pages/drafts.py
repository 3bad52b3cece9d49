"""The Draft orders pane: the list of drafts, and an editor for the one selected.

Every edit (patient, a test added or removed, each keystroke of either note) is saved at
once; sending, checking out and opening in the browser are the only things that need Rupa.
The two notes say who reads them: the note to the patient goes to Rupa, which shows it on
the patient's order; the internal note stays on this computer.

Keyboard: Delete (or "Remove test") removes the selected test from the draft; in the test
search, Up and Down move the highlight in the tests found and Enter adds the highlighted test,
then selects what was typed, so the next test is typed over it. The tests found are no Tab
stop: Tab goes on from the test search to the note to the patient. Saved panels whose name
matches are found there too, first, and Enter on one adds all its tests.

A draft that is checked out leaves the list (the editor goes on showing it while it is
selected); it is found from the order it became.

The list is a view of a `DraftsTableModel`: an edit updates the edited draft's row (read by
id), never reloads the whole list. A keystroke in the notes still costs more with a longer
list: placing the row and sizing the columns to their contents look at every listed draft
(`tests/bench/bench_drafts.py` prints the ratio).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QItemSelection, QObject, Qt, QTimer
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStyle,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from rupa_desk.core.drafts import DraftState
from rupa_desk.services.store import DraftListing, SearchHit, UnknownDraftError
from rupa_desk.ui.components.draft_chooser import DialogDraftChooser
from rupa_desk.ui.components.drafts_model import STATE, DraftsTableModel, estimate
from rupa_desk.ui.formatting import money, tests_count
from rupa_desk.ui.presenters.drafts import (
    SENT_AND_CHANGED,
    SHORT_STATES,
    DraftsPresenter,
    state_headline,
    state_tooltip,
)
from rupa_desk.ui.presenters.panels import PanelsPresenter
from rupa_desk.ui.theme import chip_colors
from rupa_desk.ui.widgets.chip_delegate import PADDING_X as CHIP_PADDING_X
from rupa_desk.ui.widgets.chip_delegate import ChipDelegate
from rupa_desk.ui.widgets.clipboard import copy_action
from rupa_desk.ui.widgets.delete_question import chose_delete, delete_question
from rupa_desk.ui.widgets.elided_text import ElidedLabel, WrappedLabel, show_cut_cells_whole
from rupa_desk.ui.widgets.keyed_table import ID_ROLE, read_only_table, select_key, selected_key
from rupa_desk.ui.widgets.search_box import SearchBox

LEFT_CATALOG = "No longer in the catalog"
#: The note Rupa shows the patient (the order's "notes to patient"): labelled for what it is.
PATIENT_NOTE_LABEL = "Note to the patient (shown on their order)"
#: The note that never leaves this computer.
INTERNAL_NOTE_LABEL = "Internal note (this computer only, never sent)"
#: The patient column's share of the list when the list is fitted to its columns.
PATIENT_COLUMN_WIDTH = 130
#: The most of the pane the list takes when fitted (the editor keeps the rest).
LIST_SHARE_AT_MOST = 0.6
#: The role that marks a saved panel among the tests found (its value: True).
PANEL_ROLE = int(Qt.ItemDataRole.UserRole) + 1
#: How far a key in the test search moves the highlight in the tests found.
_RESULT_STEPS = {
    int(Qt.Key.Key_Down): 1,
    int(Qt.Key.Key_Up): -1,
    int(Qt.Key.Key_PageDown): 5,
    int(Qt.Key.Key_PageUp): -5,
}
EMPTY_HINT = (
    "No drafts yet. Create one with “New draft”, or find tests in the Catalog pane and add "
    "them with Enter."
)


class DraftEditor(QWidget):
    """The selected draft: patient, tests, notes, state and what can be done with it."""

    def __init__(
        self,
        presenter: DraftsPresenter,
        panels: PanelsPresenter | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self._panels = panels
        self.draft_id: str | None = None
        self._hits: dict[str, SearchHit] = {}
        self._lines: tuple[object, ...] = ()
        self._editable = False
        #: "Check out" sends the draft first (it was never sent)
        self._send_first = False
        self.setAccessibleName("Draft")

        self.patient_label = ElidedLabel()
        self.patient_label.setAccessibleName("Patient of the draft")
        self.patient_search = SearchBox()
        self.patient_search.setPlaceholderText("Find a patient by name, email or birthday")
        self.patient_search.setAccessibleName("Find a patient")
        self.patient_results = QListWidget()
        self.patient_results.setAccessibleName("Patients found")
        self.patient_results.setMaximumHeight(90)
        show_cut_cells_whole(self.patient_results)
        self.patient_results.hide()  # shown while there are patients to pick

        self.state_label = ElidedLabel()  # one line: a longer state never moves the editor
        self.state_label.setAccessibleName("Draft state")
        # Why the last send failed, whole on as many lines as it takes (it says what to do).
        self.failure_label = WrappedLabel()
        self.failure_label.setAccessibleName("Why the send failed")
        self.failure_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.failure_label.hide()
        self.send_button = QPushButton("Send to Rupa")
        self.send_button.setAccessibleName("Send the draft to Rupa")
        self.checkout_button = QPushButton("Check out")
        self.checkout_button.setAccessibleName("Check out in Rupa Desk")
        self.browser_button = QPushButton("Open in browser")
        self.browser_button.setAccessibleName("Check out in the system browser")

        self.tests = QTableWidget(0, 4)
        self.tests.setHorizontalHeaderLabels(["Test", "Lab company", "Price", ""])
        self.tests.setAccessibleName("Tests on the draft (Delete removes the selected one)")
        read_only_table(self.tests, stretch=0)
        for column in (1, 2, 3):
            self.tests.horizontalHeader().setSectionResizeMode(
                column, QHeaderView.ResizeMode.ResizeToContents
            )
        # A failed send's reason takes its lines from the tests, down to about one row.
        self.tests.setMinimumHeight(
            self.tests.horizontalHeader().sizeHint().height()
            + self.tests.verticalHeader().defaultSectionSize()
        )
        self.total_label = QLabel()
        self.total_label.setAccessibleName("Estimated total")
        self.remove_button = QPushButton("Remove test")
        self.remove_button.setAccessibleName("Remove the selected test from the draft")
        self.remove_button.setToolTip("Remove the selected test from the draft (Delete)")
        self.remove_button.setEnabled(False)

        self.test_search = SearchBox()
        self.test_search.setPlaceholderText("Add a test: search the catalog")
        self.test_search.setAccessibleName("Search tests to add")
        self.test_results = QListWidget()
        self.test_results.setAccessibleName("Tests found")
        self.test_results.setMaximumHeight(120)
        # Picked from the search with Up, Down and Enter (or a click): Tab goes on to the note.
        self.test_results.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        show_cut_cells_whole(self.test_results)
        self.test_results.hide()  # shown while there are tests to pick

        self.notes = QPlainTextEdit()
        self.notes.setPlaceholderText(
            "Sent to Rupa with the order: the patient sees it (saved as you type)"
        )
        self.notes.setAccessibleName(PATIENT_NOTE_LABEL)
        self.notes.setMaximumHeight(110)
        self.internal_note = QPlainTextEdit()
        self.internal_note.setPlaceholderText(
            "For the front desk: stays on this computer, never sent (saved as you type)"
        )
        self.internal_note.setAccessibleName(INTERNAL_NOTE_LABEL)
        self.internal_note.setMaximumHeight(70)

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
        layout.addWidget(self.failure_label)  # under the buttons: Retry stays where it is
        layout.addWidget(self.tests, 1)
        below_tests = QHBoxLayout()
        below_tests.addWidget(self.total_label, 1)
        below_tests.addWidget(self.remove_button)
        layout.addLayout(below_tests)
        layout.addWidget(self.test_search)
        layout.addWidget(self.test_results)
        self.notes_label = QLabel(PATIENT_NOTE_LABEL)
        self.notes_label.setBuddy(self.notes)
        self.internal_note_label = QLabel(INTERNAL_NOTE_LABEL)
        self.internal_note_label.setBuddy(self.internal_note)
        layout.addWidget(self.notes_label)
        layout.addWidget(self.notes)
        layout.addWidget(self.internal_note_label)
        layout.addWidget(self.internal_note)

        self._delete_shortcut = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.tests)
        self._delete_shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
        self._delete_shortcut.activated.connect(self._on_delete_shortcut_activated)
        self.remove_button.clicked.connect(self._on_delete_shortcut_activated)
        self.tests.itemSelectionChanged.connect(self._on_tests_item_selection_changed)
        self.patient_search.search_requested.connect(self._on_patient_search_search_requested)
        self.patient_results.itemActivated.connect(self._on_patient_results_item_activated)
        self.patient_results.itemClicked.connect(self._on_patient_results_item_activated)
        self.test_search.search_requested.connect(self._on_test_search_search_requested)
        self.test_search.returnPressed.connect(self._on_test_search_return_pressed)
        self.test_search.installEventFilter(self)
        self.test_results.itemActivated.connect(self._on_test_results_item_activated)
        self.test_results.itemClicked.connect(self._on_test_results_item_activated)  # as patients
        self.notes.textChanged.connect(self._on_notes_text_changed)
        self.internal_note.textChanged.connect(self._on_internal_note_text_changed)
        self.send_button.clicked.connect(self._on_send_button_clicked)
        self.checkout_button.clicked.connect(self._on_checkout_button_clicked)
        self.browser_button.clicked.connect(self._on_browser_button_clicked)
        self.show_draft(None)

    def show_draft(self, draft_id: str | None) -> None:
        """Show a draft, read from the database (None: nothing selected)."""
        listing: DraftListing | None = None
        if draft_id is not None:
            try:
                listing = self._presenter.listing_of(draft_id)
            except UnknownDraftError:
                listing = None
        self.show_listing(listing)

    def show_listing(self, listing: DraftListing | None) -> None:
        """Show a draft as read (None: nothing selected). Another draft starts with empty
        searches: what was searched for the last one is not this one's next test."""
        draft_id = None if listing is None else listing.draft.id
        if draft_id != self.draft_id:
            for search, results in (
                (self.test_search, self.test_results),
                (self.patient_search, self.patient_results),
            ):
                search.reset()
                results.clear()
                results.hide()
            self._hits = {}
        self.draft_id = draft_id
        self.setEnabled(listing is not None)
        if listing is None:
            self.patient_label.setText("Select or create a draft.")
            self.state_label.setText("")
            self._show_failure(None)
            self.tests.setRowCount(0)
            self._lines = ()
            self.total_label.setText("")
            self._set_notes("")
            self._set_text(self.internal_note, "")
            self._editable = False
            self._enable_remove()
            return
        draft = listing.draft
        editable = draft.is_editable and draft.state is not DraftState.SENDING
        self.patient_label.setText(listing.patient_name or draft.patient_id or "No patient yet")
        self.state_label.setText(state_headline(draft))
        self.state_label.setToolTip(state_tooltip(draft))
        failed = draft.state in (DraftState.FAILED, DraftState.QUEUED)
        self._show_failure(draft.failure_reason if failed else None)
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
        # A draft never sent is sent first: one button from the draft to Rupa's page.
        send_first = draft.state is DraftState.LOCAL and draft.can_send
        self.checkout_button.setEnabled(draft.can_check_out or send_first)
        self.checkout_button.setText("Send and check out" if send_first else "Check out")
        self._send_first = send_first
        self.browser_button.setEnabled(draft.can_check_out)
        self._editable = editable
        if listing.lines != self._lines:
            self._show_lines(listing)
        self._enable_remove()
        self.total_label.setText(f"Estimated total: {estimate(listing)}")
        if self.notes.toPlainText() != draft.notes:
            self._set_notes(draft.notes)
        if self.internal_note.toPlainText() != draft.internal_note:
            self._set_text(self.internal_note, draft.internal_note)

    def _show_failure(self, reason: str | None) -> None:
        """Show why the last send failed (hidden when it did not)."""
        if self.failure_label.text() != (reason or ""):
            self.failure_label.setText(reason or "")
        self.failure_label.setVisible(bool(reason))

    def _show_lines(self, listing: DraftListing) -> None:
        self._lines = listing.lines
        self.tests.setRowCount(len(listing.lines))
        for row, line in enumerate(listing.lines):
            name = QTableWidgetItem(line.name or line.lab_test_id)
            name.setData(ID_ROLE, line.lab_test_id)
            self.tests.setItem(row, 0, name)
            self.tests.setItem(row, 1, QTableWidgetItem(line.lab_company or "—"))
            price = QTableWidgetItem(money(line.price))
            price.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.tests.setItem(row, 2, price)
            flag = QTableWidgetItem(LEFT_CATALOG if line.left_catalog else "")
            if line.left_catalog:
                flag.setToolTip("Rupa may refuse it: remove it or choose another test.")
            self.tests.setItem(row, 3, flag)

    def _set_notes(self, text: str) -> None:
        self._set_text(self.notes, text)

    @staticmethod
    def _set_text(editor: QPlainTextEdit, text: str) -> None:
        editor.blockSignals(True)
        try:
            editor.setPlainText(text)
        finally:
            editor.blockSignals(False)

    # -- slots ---------------------------------------------------------------------------------

    def _enable_remove(self) -> None:
        self.remove_button.setEnabled(self._editable and bool(self.tests.selectedItems()))

    def _on_tests_item_selection_changed(self) -> None:
        self._enable_remove()

    def _on_delete_shortcut_activated(self) -> None:
        row = self.tests.currentRow()
        item = self.tests.item(row, 0) if row >= 0 else None
        if self.draft_id is not None and item is not None and self._editable:
            self._presenter.remove_test(self.draft_id, str(item.data(ID_ROLE)))

    def _on_patient_search_search_requested(self, text: str) -> None:
        self.patient_results.clear()
        for patient in self._presenter.search_patients(text) if text.strip() else []:
            birthday = f" · {patient.birthday.isoformat()}" if patient.birthday else ""
            item = QListWidgetItem(f"{patient.full_name} · {patient.email}{birthday}")
            item.setData(ID_ROLE, patient.id)
            self.patient_results.addItem(item)
        self.patient_results.setVisible(self.patient_results.count() > 0)

    def _on_patient_results_item_activated(self, item: QListWidgetItem) -> None:
        if self.draft_id is not None:
            self._presenter.set_patient(self.draft_id, str(item.data(ID_ROLE)))
            self.patient_search.reset()
            self.patient_results.clear()
            self.patient_results.hide()

    def _on_test_search_search_requested(self, text: str) -> None:
        self.test_results.clear()
        self._hits = {hit.id: hit for hit in self._presenter.search_tests(text)}
        words = text.casefold().split()
        for panel in self._panels.panels() if self._panels is not None and words else []:
            if all(word in panel.name.casefold() for word in words):
                count = len(panel.tests)
                tests = tests_count(count)
                item = QListWidgetItem(f"Saved panel: {panel.name} · {tests}")
                item.setData(ID_ROLE, panel.id)
                item.setData(PANEL_ROLE, True)
                item.setToolTip("\n".join(test.name for test in panel.tests))
                self.test_results.addItem(item)
        for hit in self._hits.values():
            company = f" · {hit.lab_company_name}" if hit.lab_company_name else ""
            item = QListWidgetItem(f"{hit.name}{company} · {money(hit.price)}")
            item.setData(ID_ROLE, hit.id)
            self.test_results.addItem(item)
        if self.test_results.count():
            self.test_results.setCurrentRow(0)
        self.test_results.setVisible(self.test_results.count() > 0)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Up, Down, Page Up and Page Down in the test search move the highlight in the tests
        found (the one Enter adds), so the keys never leave the search."""
        if (
            watched is self.test_search
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in _RESULT_STEPS
            and self.test_results.count()
        ):
            step = _RESULT_STEPS[event.key()]
            row = self.test_results.currentRow() + step
            self.test_results.setCurrentRow(max(0, min(row, self.test_results.count() - 1)))
            return True
        return super().eventFilter(watched, event)

    def _on_test_search_return_pressed(self) -> None:
        item = self.test_results.currentItem()
        if item is not None:
            self._on_test_results_item_activated(item)
            self.test_search.selectAll()  # the next test is typed over this one

    def _on_test_results_item_activated(self, item: QListWidgetItem) -> None:
        if item.data(PANEL_ROLE) and self.draft_id is not None:
            self._add_panel(str(item.data(ID_ROLE)))
            return
        hit = self._hits.get(str(item.data(ID_ROLE)))
        if self.draft_id is not None and hit is not None:
            self._presenter.add_test(self.draft_id, hit)

    @asyncSlot()
    async def _add_panel(self, panel_id: str) -> None:
        if self._panels is not None:
            await self._panels.add_to_draft(panel_id)

    def _on_notes_text_changed(self) -> None:
        if self.draft_id is not None:
            self._presenter.set_notes(self.draft_id, self.notes.toPlainText())

    def _on_internal_note_text_changed(self) -> None:
        if self.draft_id is not None:
            self._presenter.set_internal_note(self.draft_id, self.internal_note.toPlainText())

    def _on_send_button_clicked(self) -> None:
        if self.draft_id is not None:
            self._send(self.draft_id)

    @asyncSlot()
    async def _send(self, draft_id: str) -> None:
        await self._presenter.send(draft_id)

    def _on_checkout_button_clicked(self) -> None:
        if self.draft_id is None:
            return
        if self._send_first:
            self._send_and_check_out(self.draft_id)
        else:
            self._presenter.check_out(self.draft_id)

    @asyncSlot()
    async def _send_and_check_out(self, draft_id: str) -> None:
        await self._presenter.send_and_check_out(draft_id)

    @asyncSlot()
    async def _on_browser_button_clicked(self) -> None:
        await self._presenter.open_in_browser(self.draft_id or "")


class DraftsPage(QWidget):
    """The Draft orders pane (a view of `DraftsPresenter`; `panels`, when given, are found
    in the draft's test search too).

    Attributes:
        confirm_box: the "Delete draft?" question while it is open (None otherwise).
    """

    def __init__(
        self,
        presenter: DraftsPresenter,
        panels: PanelsPresenter | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self.confirm_box: QMessageBox | None = None
        self.setAccessibleName("Draft orders")

        self.new_button = QPushButton("New draft")
        self.new_button.setProperty("primary", True)  # the main action here
        self.new_button.setAccessibleName("Create a new draft")
        self._show_new_for()
        self.delete_button = QPushButton("Delete draft")
        self.delete_button.setAccessibleName("Delete the selected draft")
        self.model = DraftsTableModel(self)
        self.drafts = QTableView()
        self.drafts.setAccessibleName("Drafts")
        self.drafts.setModel(self.model)
        read_only_table(self.drafts, stretch=0)
        self.drafts.setItemDelegateForColumn(STATE, ChipDelegate(chip_colors, self.drafts))
        self.copy_reference_action = copy_action(
            self.drafts,
            "Copy Rupa's reference",
            self.selected_reference,
            tooltip="Copy the draft's reference at Rupa, to paste into a message to Rupa's support",
        )
        header = self.drafts.horizontalHeader()
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.empty_hint = QLabel(EMPTY_HINT)
        self.empty_hint.setWordWrap(True)
        self.empty_hint.setAccessibleName("No drafts yet")
        self.hidden_note = QLabel()
        self.hidden_note.setWordWrap(True)
        self.hidden_note.setAccessibleName("Drafts that became orders")
        self.editor = DraftEditor(presenter, panels)
        # The pane's key (Ctrl+<n>) puts the keys in the shown draft's test search (its next
        # step, as after "New order"); Tab goes on to the note to the patient.
        self.setFocusProxy(self.editor.test_search)

        buttons = QHBoxLayout()
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.delete_button)
        buttons.addStretch(1)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(buttons)
        left_layout.addWidget(self.empty_hint)
        left_layout.addWidget(self.drafts, 1)
        left_layout.addWidget(self.hidden_note)
        self.splitter = QSplitter()
        self.splitter.addWidget(left)
        # At the smallest window (a failed send's reason on three lines) the editor may need
        # more height than the pane has: it scrolls instead of squeezing its fields.
        editor_area = QScrollArea()
        editor_area.setAccessibleName("The selected draft")
        editor_area.setFrameShape(QFrame.Shape.NoFrame)
        editor_area.setWidgetResizable(True)
        editor_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        editor_area.setWidget(self.editor)
        self.splitter.addWidget(editor_area)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([1, 1])
        self._user_sized = False  # until the user moves the handle, the list fits its columns
        layout = QVBoxLayout(self)
        layout.addWidget(self.splitter)

        self.new_button.clicked.connect(self._on_new_button_clicked)
        self.delete_button.clicked.connect(self._on_delete_button_clicked)
        self.drafts.selectionModel().selectionChanged.connect(self._on_drafts_selection_changed)
        presenter.drafts_changed.connect(self._on_presenter_drafts_changed)
        presenter.draft_changed.connect(self._on_presenter_draft_changed)
        presenter.current_changed.connect(self._on_presenter_current_changed)
        presenter.open_requested.connect(self._on_presenter_open_requested)
        self.chooser = DialogDraftChooser(self)
        presenter.set_chooser(self.chooser)
        self.splitter.splitterMoved.connect(self._on_splitter_splitter_moved)
        self.refresh()
        self._enable_copy()

    def refresh(self) -> None:
        """Show the drafts as they are in the database (rows changed by difference)."""
        self.model.set_rows(self._presenter.listing())
        self._show_hints()
        self._show_current()
        self._fit_list()

    def showEvent(self, event: QShowEvent) -> None:
        """Fit the list to its columns once the pane has its size; say whom "New draft"
        is for (the patient selected in Patients)."""
        super().showEvent(event)
        self._fit_list()
        self._show_new_for()

    def _show_new_for(self) -> None:
        patient = self._presenter.selected_patient
        self.new_button.setToolTip(
            "A new draft without a patient (select a patient in Patients first to order for them)"
            if patient is None
            else f"A new draft for {self._presenter.patient_name(patient)}, selected in Patients"
        )

    def _fit_list(self) -> None:
        """Give the list the width its columns need (at most `LIST_SHARE_AT_MOST` of the
        pane), unless the user sized it."""
        if self._user_sized or not self.isVisible():
            return
        header = self.drafts.horizontalHeader()
        columns = PATIENT_COLUMN_WIDTH + sum(
            max(self.drafts.sizeHintForColumn(c), header.sectionSizeHint(c))
            for c in range(1, header.count())
            if c != STATE
        )
        columns += max(self.drafts.sizeHintForColumn(STATE), self._widest_state())
        needed = (
            columns
            + 2 * self.drafts.frameWidth()
            + self.drafts.verticalScrollBar().sizeHint().width()
        )
        total = sum(self.splitter.sizes())
        left = min(needed, int(total * LIST_SHARE_AT_MOST))
        if total > 0 and self.splitter.sizes()[0] != left:
            self.splitter.setSizes([left, total - left])

    def _widest_state(self) -> int:
        """The width of the state column with its widest words, so that a draft changing
        state never moves the splitter."""
        metrics = self.drafts.fontMetrics()
        words = max(
            metrics.horizontalAdvance(w) for w in (*SHORT_STATES.values(), SENT_AND_CHANGED)
        )
        style = self.drafts.style()
        margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, self.drafts)
        return words + 2 * (margin + 1) + 2 * CHIP_PADDING_X + 8 + self.drafts.showGrid()

    def update_draft(self, draft_id: str) -> None:
        """Show one draft again (read by id): its row moves to its place in the list, most
        recently changed first."""
        try:
            listing = self._presenter.listing_of(draft_id)
        except UnknownDraftError:
            self.model.take(draft_id)
            self._show_hints()
            return
        if listing.draft.state is DraftState.CHECKED_OUT:
            # It is with its order now; the editor goes on showing it while it is current.
            selection = self.drafts.selectionModel()
            selection.blockSignals(True)
            try:
                self.model.take(draft_id)
            finally:
                selection.blockSignals(False)
        else:
            self.model.put(listing, at=self._place_of(listing))
        self._show_hints()
        self._fit_list()
        if draft_id == self.editor.draft_id:
            self.editor.show_listing(listing)
        self._keep_selection()

    def row_of(self, draft_id: str) -> int:
        """The list row of a draft (-1 when not listed)."""
        return self.model.row_of(draft_id)

    def cell(self, row: int, column: int) -> str:
        """The text of a cell of the list."""
        return str(self.model.index(row, column).data() or "")

    def _place_of(self, listing: DraftListing) -> int:
        """Where a draft belongs: after every other draft changed later (ties by id)."""
        draft = listing.draft
        place = 0
        for other in self.model.items():
            if other.draft.id == draft.id or other.draft.updated_at < draft.updated_at:
                continue
            # The tie-break key is built only for a tie (it was built for every row, at
            # every keystroke, a cost that grew with the list).
            if other.draft.updated_at > draft.updated_at or _descending(
                other.draft.id
            ) > _descending(draft.id):
                place += 1
        return place

    def _show_hints(self) -> None:
        self.empty_hint.setVisible(self.model.rowCount() == 0)
        hidden = self._presenter.hidden_count()
        self.hidden_note.setVisible(hidden > 0)
        became = "1 draft became an order" if hidden == 1 else f"{hidden} drafts became orders"
        self.hidden_note.setText(f"{became}: find each in Orders, and in its patient's details.")

    def _show_current(self) -> None:
        current = self._presenter.current
        self._keep_selection()
        self.delete_button.setEnabled(current is not None)
        self.editor.show_draft(current)

    def _keep_selection(self) -> None:
        current = self._presenter.current
        if selected_key(self.drafts) == current:
            return
        selection = self.drafts.selectionModel()
        selection.blockSignals(True)
        try:
            select_key(self.drafts, current)
        finally:
            selection.blockSignals(False)

    # -- slots ---------------------------------------------------------------------------------

    def _on_new_button_clicked(self) -> None:
        self._presenter.new_draft()

    def _on_delete_button_clicked(self) -> None:
        draft_id = self._presenter.current
        if draft_id is None or self.confirm_box is not None:
            return
        box = delete_question(self, "draft", self._presenter.deletion_warning(draft_id))
        box.setProperty("draft_id", draft_id)
        box.buttonClicked.connect(self._on_confirm_box_button_clicked)
        box.finished.connect(self._on_confirm_box_finished)
        self.confirm_box = box
        box.open()

    def _on_confirm_box_button_clicked(self, button: QAbstractButton) -> None:
        box = self.confirm_box
        if box is None:
            return
        if chose_delete(box, button):
            self._presenter.delete_draft(str(box.property("draft_id")))

    def _on_confirm_box_finished(self, result: int) -> None:
        if self.confirm_box is not None:
            self.confirm_box.deleteLater()
            self.confirm_box = None

    def selected_reference(self) -> str | None:
        """Rupa's reference of the selected draft: its order, else its order intent (None:
        not sent yet)."""
        row = self.model.row_of(selected_key(self.drafts) or "")
        if row < 0:
            return None
        draft = self.model.item(row).draft
        return draft.order_id or draft.intent_id

    def _enable_copy(self) -> None:
        self.copy_reference_action.setEnabled(self.selected_reference() is not None)

    def _on_drafts_selection_changed(
        self, selected: QItemSelection, deselected: QItemSelection
    ) -> None:
        self._presenter.set_current(selected_key(self.drafts))
        self._enable_copy()

    def _on_presenter_drafts_changed(self) -> None:
        self.refresh()
        self._enable_copy()

    def _on_presenter_draft_changed(self, draft_id: str) -> None:
        self.update_draft(draft_id)
        self._enable_copy()

    def _on_presenter_current_changed(self, draft_id: str) -> None:
        self._show_current()

    def _on_presenter_open_requested(self, draft_id: str) -> None:
        # Once the pane is forward (the window shows it on the same signal): the next step
        # is adding tests.
        QTimer.singleShot(0, self, self._focus_test_search)

    def _focus_test_search(self) -> None:
        if self.editor.test_search.isEnabled():
            self.editor.test_search.setFocus(Qt.FocusReason.OtherFocusReason)

    def _on_splitter_splitter_moved(self, position: int, index: int) -> None:
        self._user_sized = True


def _descending(text: str) -> tuple[int, ...]:
    """A key that sorts `text` in reverse (the list's tie-break is the id, ascending)."""
    return tuple(-ord(c) for c in text)
