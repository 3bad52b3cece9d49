"""The Patients pane: the cached patients (searchable offline), a patient's detail, new patient.

The new-patient form is saved as it is typed; opening it restores one that was not sent.
Patient first: "New order" on every row, in the detail, in the row's context menu and as
Ctrl+Enter opens a draft for that patient in the Draft orders pane; "Order again" on one of
her orders opens a draft with its tests.

Keyboard: Ctrl+F focuses the search; Ctrl+N (the window's New patient) opens the form with
its one-line "Name and email" focused; Ctrl+Enter starts an order for the selected patient,
and in the form creates the patient and starts her order (also when the duplicate check
ends with an existing patient chosen instead).

With Epic set up, "Find in Epic" searches Epic's chart; "Use for Rupa" fills the new-patient
form from the patient found, and the Rupa patient it becomes (created, or an existing one
chosen in the duplicate check) is linked to her Epic record. "New order" in Find in Epic and
on Today in Epic's rows starts her order: at once when she is linked, else once the form
made her a Rupa patient.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Final, Protocol

from PySide6.QtCore import QItemSelection, QModelIndex, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from rupa_desk.core.fhir import EhrPatient, patient_form
from rupa_desk.core.hl7_results import ResultsReport
from rupa_desk.core.models import Patient
from rupa_desk.core.result_trends import trends
from rupa_desk.core.validation import PatientForm
from rupa_desk.services.store import OrderFilters, OrderRow, PossibleDuplicate
from rupa_desk.ui.components.duplicate_patient_dialog import DuplicatePatientDialog
from rupa_desk.ui.components.epic_schedule import EpicScheduleDialog
from rupa_desk.ui.components.find_in_epic import FindInEpicDialog
from rupa_desk.ui.components.new_patient_form import NewPatientForm
from rupa_desk.ui.components.patient_detail import PatientDetailPanel
from rupa_desk.ui.components.patient_list_model import (
    NEW_ORDER_COLUMN,
    PATIENT_ROLE,
    PatientListModel,
)
from rupa_desk.ui.presenters.epic import EpicPresenter
from rupa_desk.ui.presenters.patients import FormProblems, PatientDetail, PatientsPresenter
from rupa_desk.ui.widgets.button_delegate import ButtonDelegate
from rupa_desk.ui.widgets.keyed_table import read_only_table
from rupa_desk.ui.widgets.search_box import SearchBox

#: The width the new-patient form asks for beside the list (at most half the pane).
FORM_WIDTH: Final = 420


class SavedOrders(Protocol):
    """The orders saved on this computer (`rupa_desk.services.store.Orders`)."""

    def listing(self, filters: OrderFilters = ...) -> list[OrderRow]: ...


class PatientOrdering(Protocol):
    """Starting an order for a patient (`rupa_desk.ui.presenters.drafts.DraftsPresenter`)."""

    def new_order(self, patient_id: str) -> bool:
        """Open a draft for the patient in the Draft orders pane."""

    async def order_again(self, order_id: str) -> bool:
        """A new draft with a past order's patient and tests, in the Draft orders pane."""

    def open_draft(self, draft_id: str) -> None:
        """Show one of her drafts in the Draft orders pane."""


class PatientResults(Protocol):
    """The result values saved on this computer (`rupa_desk.services.store.LabResults`)."""

    def patient_reports(self, patient_id: str) -> list[tuple[datetime, ResultsReport]]: ...


class PatientsPage(QWidget):
    """The patients pane (a view of `PatientsPresenter`).

    Args:
        presenter: the patients presenter.
        saved_orders: the orders saved on this computer; the detail panel shows a patient's
            while Rupa's are loading or cannot be loaded (offline). Kept here until the
            presenter's detail offers them itself.
        ordering: starts orders ("New order"); None: the pane offers none.
        results: the result values saved on this computer (the detail shows the patient's
            trends).
        lab_history: a patient's lab history as lines (by patient id), shown in the detail;
            None for none.
        epic: Find in Epic, when Epic is set up (None: no Epic button).
    """

    def __init__(
        self,
        presenter: PatientsPresenter,
        parent: QWidget | None = None,
        *,
        saved_orders: SavedOrders | None = None,
        ordering: PatientOrdering | None = None,
        results: PatientResults | None = None,
        lab_history: Callable[[str], Sequence[str]] | None = None,
        epic: EpicPresenter | None = None,
    ) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self._saved_orders = saved_orders
        self._ordering = ordering
        self._results = results
        self._lab_history = lab_history
        self._epic = epic
        #: the Epic patient the form was filled from, linked once she is a Rupa patient
        self._from_epic: EhrPatient | None = None
        #: the form was sent with "Create and order": her order opens once she exists
        self._order_when_created = False
        #: start an order for her once the form filled from Epic made her a Rupa patient
        self._order_after_epic = False
        self.epic_dialog: FindInEpicDialog | None = None
        self.schedule_dialog: EpicScheduleDialog | None = None
        self.setAccessibleName("Patients")
        self.duplicate_dialog: DuplicatePatientDialog | None = None

        self.search_box = SearchBox()
        self.search_box.setPlaceholderText("Search by name, email or birthday (Ctrl+F)")
        self.search_box.setAccessibleName("Search patients")
        self.search_box.setMinimumWidth(160)  # usable in the smallest window
        self.new_button = QPushButton("New patient")
        self.new_button.setProperty("primary", True)  # the main action here
        self.new_button.setAccessibleName("New patient")
        self.new_button.setToolTip("Add a patient to Rupa (Ctrl+N)")
        self.refresh_button = QPushButton("Refresh from Rupa")
        self.refresh_button.setAccessibleName("Refresh patients from Rupa")
        self.model = PatientListModel(self)
        self.table = QTableView()
        self.table.setAccessibleName("Patients list")
        self.table.setModel(self.model)
        # The email is what tells two patients of the same name apart: it gets the room.
        read_only_table(self.table, stretch=1)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(NEW_ORDER_COLUMN, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setAlternatingRowColors(True)
        self.row_button = ButtonDelegate(self.table)
        self.table.setItemDelegateForColumn(NEW_ORDER_COLUMN, self.row_button)
        self.table.setColumnHidden(NEW_ORDER_COLUMN, ordering is None)
        self.new_order_action = QAction("New order", self.table)
        self.new_order_action.setShortcuts(
            [QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")]
        )
        # Where focus is in the list, its search or the detail: not in the new-patient form.
        self.new_order_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.new_order_action.setEnabled(ordering is not None)
        self.table.addAction(self.new_order_action)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.summary = QLabel()
        self.summary.setAccessibleName("Patients summary")
        self.detail = PatientDetailPanel()
        self.detail.set_ordering(ordering is not None)
        self.form = NewPatientForm()
        self.form.set_ordering(ordering is not None)
        self.right = QStackedWidget()
        self.right.addWidget(self.detail)
        self.right.addWidget(self.form)

        top = QHBoxLayout()
        top.addWidget(self.search_box, 1)
        top.addWidget(self.new_button)
        top.addWidget(self.refresh_button)
        self.epic_button = QPushButton("Find in Epic")
        self.epic_button.setAccessibleName("Find in Epic")
        self.epic_button.setToolTip("Find the patient in Epic and use her details for Rupa")
        self.epic_button.setVisible(epic is not None)
        top.addWidget(self.epic_button)
        self.schedule_button = QPushButton("Today in Epic")
        self.schedule_button.setAccessibleName("Today in Epic")
        self.schedule_button.setToolTip("Today's appointments in Epic")
        self.schedule_button.setVisible(epic is not None)
        top.addWidget(self.schedule_button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(top)
        left_layout.addWidget(self.table, 1)
        left_layout.addWidget(self.summary)
        left.addAction(self.new_order_action)
        self.detail.addAction(self.new_order_action)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        self.splitter = splitter
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

        for keys, slot in ((QKeySequence.StandardKey.Find, self._on_find_activated),):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(slot)

        self.search_box.search_requested.connect(self._on_search_box_search_requested)
        self.search_box.pick_only_match_in(self.table)
        self.new_button.clicked.connect(self._on_new_button_clicked)
        self.refresh_button.clicked.connect(self._on_refresh_button_clicked)
        self.epic_button.clicked.connect(self._on_epic_button_clicked)
        self.schedule_button.clicked.connect(self._on_schedule_button_clicked)
        self.table.selectionModel().selectionChanged.connect(self._hold_detail_new_order)
        self.table.selectionModel().selectionChanged.connect(self._on_table_selection_changed)
        self.row_button.clicked.connect(self._on_row_button_clicked)
        self.new_order_action.triggered.connect(self._on_new_order_action_triggered)
        self.detail.new_order_requested.connect(self._on_detail_new_order_requested)
        self.detail.order_again_requested.connect(self._on_detail_order_again_requested)
        self.detail.draft_open_requested.connect(self._on_detail_draft_open_requested)
        self.form.edited.connect(self._on_form_edited)
        self.form.submitted.connect(self._on_form_submitted)
        self.form.order_requested.connect(self._on_form_order_requested)
        self.form.cancelled.connect(self._on_form_cancelled)
        presenter.results_changed.connect(self._on_presenter_results_changed)
        presenter.detail_changed.connect(self._on_presenter_detail_changed)
        presenter.refresh_started.connect(self._on_presenter_refresh_started)
        presenter.refresh_finished.connect(self._on_presenter_refresh_finished)
        presenter.form_problems.connect(self._on_presenter_form_problems)
        presenter.duplicates_found.connect(self._on_presenter_duplicates_found)
        presenter.patient_created.connect(self._on_presenter_patient_created)
        presenter.patient_chosen.connect(self._on_presenter_patient_chosen)
        presenter.creating_changed.connect(self.form.set_busy)

    # -- navigation ----------------------------------------------------------------------------

    @property
    def showing_form(self) -> bool:
        """True while the new-patient form is shown."""
        return self.right.currentWidget() is self.form

    def select_patient(self, patient_id: str) -> None:
        """Select the patient in the list (when listed)."""
        row = self.model.row_of(patient_id)
        if row >= 0:
            self.table.selectRow(row)

    def _show_form(self) -> None:
        """The new-patient form on the right, with room for a name and an email: the list
        gives way, up to half the pane (in a small window the fields would show a dozen
        characters)."""
        self.right.setCurrentWidget(self.form)
        sizes = self.splitter.sizes()
        total = sum(sizes)
        wanted = min(FORM_WIDTH, total // 2)
        if len(sizes) == 2 and total > 0 and sizes[1] < wanted:
            self.splitter.setSizes([total - wanted, wanted])

    def _on_find_activated(self) -> None:
        self.search_box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_box.selectAll()

    def _on_new_button_clicked(self) -> None:
        self._show_form()
        if not self.form.form().is_empty():
            self.form.fields["first_name"].setFocus(Qt.FocusReason.OtherFocusReason)
            return
        restored = self._presenter.unsent_form()
        if restored is None:
            self.form.quick_entry.setFocus(Qt.FocusReason.OtherFocusReason)
            return
        self.form.fields["first_name"].setFocus(Qt.FocusReason.OtherFocusReason)
        self.form.fill(restored.form)
        self.form.show_notice(restored.notice)
        self.form.show_problems(restored.problems.fields, restored.problems.general)

    def new_order(self, patient_id: str | None) -> bool:
        """Start an order for the patient in the Draft orders pane (False: none started)."""
        if self._ordering is None or patient_id is None:
            return False
        return self._ordering.new_order(patient_id)

    def _on_row_button_clicked(self, index: QModelIndex) -> None:
        self.new_order(self.model.patient(index.row()).id)

    def _on_new_order_action_triggered(self) -> None:
        self.new_order(self.selected_patient_id())

    def _on_detail_new_order_requested(self, patient_id: str) -> None:
        self.new_order(patient_id)

    def _on_detail_draft_open_requested(self, draft_id: str) -> None:
        if self._ordering is not None:
            self._ordering.open_draft(draft_id)

    @asyncSlot(str)
    async def _on_detail_order_again_requested(self, order_id: str) -> None:
        if self._ordering is not None:
            await self._ordering.order_again(order_id)

    def _on_form_edited(self, form: PatientForm) -> None:
        self._presenter.form_edited(form)

    def _on_epic_button_clicked(self) -> None:
        if self._epic is None:
            return
        if self.epic_dialog is None:
            self.epic_dialog = FindInEpicDialog(self._epic, self)
            self.epic_dialog.use_for_rupa.connect(self._on_epic_dialog_use_for_rupa)
            self.epic_dialog.new_order.connect(self._on_epic_dialog_new_order)
            self.epic_dialog.new_order_for_epic.connect(self._on_epic_dialog_new_order_for_epic)
        self.epic_dialog.open()

    @asyncSlot()
    async def _on_schedule_button_clicked(self) -> None:
        if self._epic is None:
            return
        if self.schedule_dialog is None:
            self.schedule_dialog = EpicScheduleDialog(self._epic, self)
            self.schedule_dialog.use_for_rupa.connect(self._on_epic_dialog_use_for_rupa)
            self.schedule_dialog.open_in_rupa.connect(self._on_schedule_dialog_open_in_rupa)
            self.schedule_dialog.new_order.connect(self._on_epic_dialog_new_order)
            self.schedule_dialog.new_order_for_epic.connect(self._on_epic_dialog_new_order_for_epic)
        self.schedule_dialog.open()
        await self.schedule_dialog.load()

    def _on_schedule_dialog_open_in_rupa(self, patient_id: str) -> None:
        self.right.setCurrentWidget(self.detail)
        self.select_patient(patient_id)

    def _on_epic_dialog_new_order(self, patient_id: str) -> None:
        self.new_order(patient_id)

    def _on_epic_dialog_new_order_for_epic(self, patient: EhrPatient) -> None:
        self._on_epic_dialog_use_for_rupa(patient)
        self._order_after_epic = True

    def _on_epic_dialog_use_for_rupa(self, patient: EhrPatient) -> None:
        self._order_after_epic = False
        self._show_form()
        self.form.clear()
        form = patient_form(patient)
        self.form.fill(form)
        self._presenter.form_edited(form)  # saved as if typed
        self.form.show_notice(
            "Filled in from Epic. Check the details, add what is missing, then create the patient."
        )
        self._from_epic = patient

    def _on_form_cancelled(self) -> None:
        self._from_epic = None
        self._order_when_created = False
        self._order_after_epic = False
        self._presenter.discard_form()
        self.form.clear()
        self.right.setCurrentWidget(self.detail)

    # -- presenter calls -----------------------------------------------------------------------

    @asyncSlot(str)
    async def _on_search_box_search_requested(self, text: str) -> None:
        try:
            await self._presenter.search(text)
        finally:
            self.search_box.search_finished()  # Enter then picks the only match

    @asyncSlot()
    async def _on_refresh_button_clicked(self) -> None:
        await self._presenter.refresh()

    def _hold_detail_new_order(self) -> None:
        """The detail's "New order" waits for the patient selected: until her detail is in,
        it shows (and would order for) the patient selected before."""
        shown = self.detail.detail
        if shown is None or shown.patient.id != self.selected_patient_id():
            self.detail.new_order_button.setEnabled(False)

    @asyncSlot(QItemSelection, QItemSelection)
    async def _on_table_selection_changed(
        self, selected: QItemSelection, deselected: QItemSelection
    ) -> None:
        await self._presenter.show_detail(self.selected_patient_id())

    @asyncSlot(object)
    async def _on_form_submitted(self, form: PatientForm) -> None:
        self._order_when_created = False
        await self._presenter.create_patient(form)

    @asyncSlot(object)
    async def _on_form_order_requested(self, form: PatientForm) -> None:
        self._order_when_created = True
        await self._presenter.create_patient(form)

    @asyncSlot()
    async def _on_duplicate_dialog_create_anyway(self) -> None:
        await self._presenter.create_patient(self.form.form(), allow_duplicates=True)

    @asyncSlot(object)
    async def _on_duplicate_dialog_use_patient(self, patient: Patient) -> None:
        await self._presenter.use_existing(patient)

    def selected_patient_id(self) -> str | None:
        """The id of the selected patient (None: none)."""
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        patient = rows[0].data(PATIENT_ROLE)
        return patient.id if isinstance(patient, Patient) else None

    # -- presenter signals ---------------------------------------------------------------------

    def _on_presenter_results_changed(self, patients: list[Patient]) -> None:
        selected = self.selected_patient_id()
        self.model.set_patients(patients)
        if selected is not None:
            self.select_patient(selected)
        total = self._presenter.count()
        if total == 0:
            self.summary.setText("No patients on this computer yet: “Refresh from Rupa”.")
        elif self._presenter.search_text.strip():
            self.summary.setText(f"{len(patients):,} of {total:,} patients match")
        else:
            self.summary.setText(f"{total:,} patients")

    def _on_presenter_detail_changed(self, detail: PatientDetail | None) -> None:
        saved: list[OrderRow] = []
        if detail is not None and detail.orders_problem and self._saved_orders is not None:
            saved = self._saved_orders.listing(OrderFilters(patient_id=detail.patient.id))
        self.detail.show_detail(detail, saved)
        self.detail.new_order_button.setEnabled(detail is not None)
        if detail is not None and self._results is not None:
            self.detail.trends.show_trends(trends(self._results.patient_reports(detail.patient.id)))
        if detail is not None and self._lab_history is not None:
            self.detail.show_history(self._lab_history(detail.patient.id))

    def _on_presenter_refresh_started(self) -> None:
        self.refresh_button.setEnabled(False)
        self.refresh_button.setText("Refreshing…")

    def _on_presenter_refresh_finished(self, succeeded: bool) -> None:
        self.refresh_button.setEnabled(True)
        self.refresh_button.setText("Refresh from Rupa")

    def _on_presenter_form_problems(self, problems: FormProblems) -> None:
        self._show_form()
        self.form.show_problems(problems.fields, problems.general)

    def _on_presenter_duplicates_found(self, duplicates: list[PossibleDuplicate]) -> None:
        dialog = DuplicatePatientDialog(duplicates, self)
        dialog.use_patient.connect(self._on_duplicate_dialog_use_patient)
        dialog.create_anyway.connect(self._on_duplicate_dialog_create_anyway)
        dialog.finished.connect(dialog.deleteLater)
        self.duplicate_dialog = dialog
        dialog.open()

    def _on_presenter_patient_created(self, patient: Patient, created: bool) -> None:
        self._on_presenter_patient_chosen(patient)

    def _on_presenter_patient_chosen(self, patient: Patient) -> None:
        order = False
        if self._from_epic is not None and self._epic is not None:
            self._epic.link(patient.id, self._from_epic)
            self._from_epic = None
            order, self._order_after_epic = self._order_after_epic, False
        self.form.clear()
        self.right.setCurrentWidget(self.detail)
        self.select_patient(patient.id)
        order = order or self._order_when_created
        self._order_when_created = False
        if order:
            self.new_order(patient.id)
