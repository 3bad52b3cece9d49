"""The Orders pane's presenter: the cached orders, their details, and what the tracker reports.

The list reads the local database (instant, offline); opening an order shows what is saved at
once and then fetches it fresh. What the order tracker finds is gathered for a moment
(`UPDATE_DELAY_MS`) and handed to the pane as one update: a list refresh reports a hundred
orders at once, and the pane must not redraw a hundred times. Status changes update the rows,
show a desktop notification (a summary when many changed at once) and are kept in the order's
history; new result PDFs are downloaded by the tracker and can be shown in the app.

Notifications name the order, never the patient: the operating system keeps them in its
notification history, beyond sign-out.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from PySide6.QtCore import QObject, QTimer, Signal

from rupa_desk.core.drafts import Draft
from rupa_desk.core.file_names import patient_file_label
from rupa_desk.core.results_summary import OrderedTestSummary
from rupa_desk.core.status import in_lifecycle_order
from rupa_desk.services.errors import NetworkError, RupaError
from rupa_desk.services.order_tracking import (
    ConnectionChanged,
    OrderArrived,
    OrderTracker,
    PatientNamesCached,
    ResultsDownloaded,
    StatusChanged,
    StructuredResultsArrived,
    TrackingEvent,
    TrackingStopped,
)
from rupa_desk.services.store import (
    Drafts,
    OrderDetail,
    OrderFilters,
    OrderRow,
    Orders,
    PatientCache,
    UnknownDraftError,
    UnknownOrderError,
    UnknownPatientError,
)
from rupa_desk.services.store.lab_results import LabResults, OrderedTestResults, SavedResults
from rupa_desk.ui.components.notifier import DesktopNotifier
from rupa_desk.ui.formatting import when
from rupa_desk.ui.messages import Level, MessageBridge
from rupa_desk.ui.tasks import LatestTask, Superseded

log = logging.getLogger(__name__)

#: How long tracker events are gathered before the pane is updated once for all of them.
UPDATE_DELAY_MS: Final = 100
#: More changes than this in one update and one summary notification is shown instead.
MAX_SEPARATE_NOTIFICATIONS: Final = 3


class OrdersPresenter(QObject):
    """Orders for the pane.

    Args:
        orders: the orders in the database.
        tracker: keeps them fresh (and fetches one on demand).
        notifier: desktop notifications.
        bridge: messages to the user.
        practitioner_id: the signed-in practitioner ("my orders").
        patients: the patients cache, for the names saved files are named after (without
            it, files take the name the list shows).
        drafts: the drafts on this computer: an order shows the draft it was made from (its
            notes; checked-out drafts are no longer in the drafts list).
        lab_results: the structured results (without it, none are shown).

    Signals:
        orders_changed(object): rows to show again: a frozenset of the ids of orders that
            changed, or None when the list itself may have changed (new orders, names).
        detail_changed(object): the `OrderDetail` of the order shown (None: nothing shown).
        result_ready(str): a downloaded result PDF of the order shown (its path).
        closing(): the account closes: what shows its patients (result windows) must go.
        values_arrived(): structured result values were saved (the inbox reads them).
        results_downloaded(str): a result PDF of this order (id) was downloaded, whichever
            order is shown (automatic filing to Epic files it).
    """

    orders_changed = Signal(object)
    detail_changed = Signal(object)
    result_ready = Signal(str)
    closing = Signal()
    values_arrived = Signal()
    results_downloaded = Signal(str)

    def __init__(
        self,
        orders: Orders,
        tracker: OrderTracker,
        notifier: DesktopNotifier,
        bridge: MessageBridge,
        *,
        practitioner_id: str,
        patients: PatientCache | None = None,
        drafts: Drafts | None = None,
        lab_results: LabResults | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._lab_results = lab_results
        self._orders = orders
        self._drafts = drafts
        self._patients = patients
        self._tracker = tracker
        self._notifier = notifier
        self._bridge = bridge
        self.practitioner_id = practitioner_id
        self._current: str | None = None
        self._opening = LatestTask("open-order")
        self._changed_ids: set[str] = set()
        self._list_changed = False
        self._status_changes: dict[str, tuple[str, str]] = {}
        self._new_results: list[str] = []
        self._new_values: list[SavedResults] = []
        self._update_timer = QTimer(self)
        self._update_timer.setSingleShot(True)
        self._update_timer.setInterval(UPDATE_DELAY_MS)
        self._update_timer.timeout.connect(self._on_update_timer_timeout)

    # -- reading -------------------------------------------------------------------------------

    def listing(self, filters: OrderFilters, ids: Iterable[str] | None = None) -> list[OrderRow]:
        """The orders matching `filters`, newest first (only those among `ids` if given)."""
        return self._orders.listing(filters, ids=ids)

    def statuses(self) -> list[str]:
        """The statuses of the saved orders in lifecycle order (Pending Payment first)."""
        return in_lifecycle_order(self._orders.statuses())

    def draft_of(self, order_id: str) -> Draft | None:
        """The draft made on this computer that became the order (None: made elsewhere)."""
        if self._drafts is None:
            return None
        try:
            return self._drafts.find_by_order(order_id)
        except UnknownDraftError:
            return None

    def patients(self) -> list[tuple[str, str]]:
        return self._orders.patients()

    @property
    def current(self) -> str | None:
        """The order shown in the detail panel."""
        return self._current

    def detail(self, order_id: str) -> OrderDetail | None:
        """The order's detail as saved (None when it is not on this computer)."""
        try:
            return self._orders.detail(order_id)
        except UnknownOrderError:
            return None

    def test_results(self, ordered_test_id: str) -> OrderedTestResults | None:
        """An ordered test's result values as saved (None: none came yet)."""
        return None if self._lab_results is None else self._lab_results.results(ordered_test_id)

    def order_results(self, detail: OrderDetail) -> list[OrderedTestSummary]:
        """Every ordered test's values, for the order's results summary."""
        summaries = []
        for test in detail.ordered_tests:
            values = self.test_results(test.id)
            name = test.name or "Lab test"
            if values is None:
                summaries.append(OrderedTestSummary(name, "No result values yet.", ()))
            else:
                summaries.append(OrderedTestSummary(name, values.summary, values.rows))
        return summaries

    def _order_words(self, order_id: str) -> str:
        """An order as a notification names it: by when it was submitted, never by its id
        nor its patient (notifications stay on screen and in the system's history)."""
        try:
            submitted = self._orders.row(order_id).date_submitted
        except UnknownOrderError:
            submitted = None
        return "An order" if submitted is None else f"The order submitted {when(submitted)}"

    def patient_file_label(self, row: OrderRow) -> str:
        """The order's patient as file names say them: "Lovelace Ada" (family name first);
        the name the list shows when the patient is not cached ("" when unknown)."""
        if self._patients is not None and row.patient_id:
            try:
                patient = self._patients.get(row.patient_id)
            except UnknownPatientError:
                pass
            else:
                return patient_file_label(patient.first_name, patient.last_name)
        return row.patient_name or ""

    @property
    def update_pending(self) -> bool:
        """True while tracker events wait to be shown (for tests and benchmarks)."""
        return self._update_timer.isActive()

    # -- the user ------------------------------------------------------------------------------

    async def open_order(self, order_id: str | None) -> None:
        """Show an order: what is saved at once, then fresh from Rupa."""
        self._current = order_id
        if order_id is None:
            self._opening.cancel()
            self.detail_changed.emit(None)
            return
        self.detail_changed.emit(self.detail(order_id))
        try:
            await self._opening.run(self._tracker.refresh_order(order_id))
        except Superseded:
            return
        except RupaError as exc:
            self._bridge.known_error(
                exc, not_done="Showing the order as last saved.", level=Level.WARNING
            )
            return
        self._changed_ids.add(order_id)
        self.show_updates()

    async def refresh_all(self) -> None:
        """Read the whole order list from Rupa now (orders placed elsewhere appear)."""
        try:
            await self._tracker.refresh_list()
        except RupaError as exc:
            self._bridge.known_error(
                exc, not_done="The orders could not be refreshed.", level=Level.WARNING
            )
        self._list_changed = True
        self.show_updates()

    async def download_results(self, order_id: str) -> list[Path]:
        """Download the order's results that are missing or out of date."""
        try:
            saved = await self._tracker.download_results(order_id)
        except RupaError as exc:
            self._bridge.known_error(exc, not_done="The results could not be downloaded.")
            return []
        if not saved:
            self._bridge.info("The results on this computer are up to date.")
        return saved

    async def requisition(self, order_id: str, ordered_test_id: str) -> Path | None:
        """An ordered test's requisition, fetched fresh from Rupa; the copy saved earlier
        when Rupa cannot be reached (said so); None when there is none to show (said so)."""
        try:
            return await self._tracker.download_requisition(order_id, ordered_test_id)
        except NetworkError as exc:
            saved = self._tracker.saved_requisition(order_id, ordered_test_id)
            if saved is None:
                self._bridge.known_error(exc, not_done="The requisition could not be fetched.")
                return None
            self._bridge.info("Rupa could not be reached: this is the requisition saved earlier.")
            return saved
        except RupaError as exc:
            self._bridge.known_error(exc, not_done="The requisition could not be fetched.")
            return None

    def warn(self, text: str) -> None:
        """Tell the user about a problem of the pane (a result PDF that cannot be shown)."""
        self._bridge.warning(text)

    def order_linked(self, order_id: str) -> None:
        """A checkout became an order (it may be new in the list)."""
        self._list_changed = True
        self._changed_ids.add(order_id)
        self._schedule_update()

    def close(self) -> None:
        """Stop, and have the pane close what shows the account's patients."""
        self._opening.cancel()
        self._update_timer.stop()
        self.closing.emit()

    # -- what the tracker reports --------------------------------------------------------------

    def on_tracking_event(self, event: TrackingEvent) -> None:
        """Gather an event of the tracker; the pane is updated once for a burst of them."""
        if isinstance(event, StatusChanged):
            first = self._status_changes.get(event.order_id, (event.previous, event.status))
            self._status_changes[event.order_id] = (first[0], event.status)
            self._changed_ids.add(event.order_id)
        elif isinstance(event, ResultsDownloaded):
            self._new_results.append(event.order_id)
            self._changed_ids.add(event.order_id)
            if event.order_id == self._current:
                self.result_ready.emit(str(event.path))
            self.results_downloaded.emit(event.order_id)
        elif isinstance(event, StructuredResultsArrived):
            self._changed_ids.add(event.saved.order_id)
            if event.saved.changed or event.saved.error:
                self._new_values.append(event.saved)
        elif isinstance(event, OrderArrived | PatientNamesCached):
            self._list_changed = True
        elif isinstance(event, TrackingStopped):
            self._bridge.known_error(
                event.error, not_done="Orders are no longer updated.", level=Level.WARNING
            )
            return
        elif isinstance(event, ConnectionChanged):
            return  # shown in the status bar (the workspace forwards it to Connectivity)
        self._schedule_update()

    def show_updates(self) -> None:
        """Show what was gathered now: notify, update the rows and the detail shown."""
        self._update_timer.stop()
        changed, whole = frozenset(self._changed_ids), self._list_changed
        statuses, results = self._status_changes, self._new_results
        self._changed_ids, self._list_changed = set(), False
        self._status_changes, self._new_results = {}, []
        self._notify(statuses, results)
        if self._new_values:
            self._notify_values(self._new_values)
            self._new_values = []
            self.values_arrived.emit()
        if not whole and not changed:
            return
        self.orders_changed.emit(None if whole else changed)
        if self._current is not None and (whole or self._current in changed):
            self.detail_changed.emit(self.detail(self._current))

    def _schedule_update(self) -> None:
        if not self._update_timer.isActive():
            self._update_timer.start()

    def _on_update_timer_timeout(self) -> None:
        self.show_updates()

    def _notify_values(self, arrived: list[SavedResults]) -> None:
        """Say which orders got result values and how many are flagged: the order by its
        date and a count, never the patient nor a value."""
        by_order: dict[str, list[SavedResults]] = {}
        for saved in arrived:
            by_order.setdefault(saved.order_id, []).append(saved)
        for order_id, saved_list in list(by_order.items())[:MAX_SEPARATE_NOTIFICATIONS]:
            words = self._order_words(order_id)
            abnormal = sum(s.abnormal for s in saved_list)
            corrected = sum(s.corrected for s in saved_list)
            unreadable = any(s.error for s in saved_list)
            text = f"{words}: result values came in"
            text += f", {abnormal} flagged by the lab" if abnormal else ", none flagged"
            if corrected:
                text += f"; {corrected} corrected"
            if unreadable:
                text += "; some could not be read (see the PDF)"
            self._notifier.notify("Result values", text + ".")
        if len(by_order) > MAX_SEPARATE_NOTIFICATIONS:
            more = len(by_order) - MAX_SEPARATE_NOTIFICATIONS
            self._notifier.notify("Result values", f"Result values for {more} more orders.")

    def _notify(self, statuses: dict[str, tuple[str, str]], results: list[str]) -> None:
        changed = {k: v for k, v in statuses.items() if v[0] != v[1]}
        if len(changed) > MAX_SEPARATE_NOTIFICATIONS:
            self._notifier.notify(
                "Order statuses changed", f"{len(changed)} orders changed status: see Orders."
            )
        else:
            for order_id, (previous, status) in changed.items():
                self._notifier.notify(
                    "Order status changed", f"{self._order_words(order_id)}: {previous} → {status}"
                )
        ready = list(dict.fromkeys(results))
        if len(ready) > MAX_SEPARATE_NOTIFICATIONS:
            self._notifier.notify("Results ready", f"New results for {len(ready)} orders.")
        else:
            for order_id in ready:
                words = self._order_words(order_id)
                self._notifier.notify(
                    "Results ready", f"New results for {words[0].lower()}{words[1:]}."
                )
