"""The Orders pane's presenter: the cached orders, their details, and what the tracker reports.

The list reads the local database (instant, offline); opening an order shows what is saved at
once and then fetches it fresh. Status changes found by the order tracker update the list,
show a desktop notification and are kept in the order's history; new result PDFs are
downloaded by the tracker and can be shown in the app.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from rupa_desk.services.errors import RupaError
from rupa_desk.services.order_tracking import (
    ConnectionChanged,
    OrderArrived,
    OrderTracker,
    ResultsDownloaded,
    StatusChanged,
    TrackingEvent,
    TrackingStopped,
)
from rupa_desk.services.store import (
    OrderDetail,
    OrderFilters,
    OrderRow,
    Orders,
    UnknownOrderError,
)
from rupa_desk.ui.components.notifier import DesktopNotifier
from rupa_desk.ui.messages import MessageBridge
from rupa_desk.ui.tasks import LatestTask, Superseded

log = logging.getLogger(__name__)


class OrdersPresenter(QObject):
    """Orders for the pane.

    Args:
        orders: the orders in the database.
        tracker: keeps them fresh (and fetches one on demand).
        notifier: desktop notifications.
        bridge: messages to the user.
        practitioner_id: the signed-in practitioner ("my orders").

    Signals:
        orders_changed(): the list needs refreshing.
        detail_changed(object): the `OrderDetail` of the order shown (None: nothing shown).
        result_ready(str): a downloaded result PDF of the order shown (its path).
    """

    orders_changed = Signal()
    detail_changed = Signal(object)
    result_ready = Signal(str)

    def __init__(
        self,
        orders: Orders,
        tracker: OrderTracker,
        notifier: DesktopNotifier,
        bridge: MessageBridge,
        *,
        practitioner_id: str,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._orders = orders
        self._tracker = tracker
        self._notifier = notifier
        self._bridge = bridge
        self.practitioner_id = practitioner_id
        self._current: str | None = None
        self._opening = LatestTask("open-order")

    # -- reading -------------------------------------------------------------------------------

    def listing(self, filters: OrderFilters) -> list[OrderRow]:
        return self._orders.listing(filters)

    def statuses(self) -> list[str]:
        return self._orders.statuses()

    def patients(self) -> list[tuple[str, str]]:
        return self._orders.patients()

    @property
    def current(self) -> str | None:
        """The order shown in the detail panel."""
        return self._current

    def detail(self, order_id: str) -> OrderDetail | None:
        try:
            return self._orders.detail(order_id)
        except UnknownOrderError:
            return None

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
            self._bridge.warning(f"Showing the order as last saved. {exc.user_message}")
            return
        self.orders_changed.emit()
        if self._current == order_id:
            self.detail_changed.emit(self.detail(order_id))

    async def refresh_all(self) -> None:
        """Read the whole order list from Rupa now (orders placed elsewhere appear)."""
        try:
            await self._tracker.refresh_list()
        except RupaError as exc:
            self._bridge.warning(f"The orders could not be refreshed. {exc.user_message}")
        self.orders_changed.emit()

    async def download_results(self, order_id: str) -> list[Path]:
        """Download the order's results that are missing or out of date."""
        try:
            saved = await self._tracker.download_results(order_id)
        except RupaError as exc:
            self._bridge.error(f"The results could not be downloaded. {exc.user_message}")
            return []
        if not saved:
            self._bridge.info("The results on this computer are up to date.")
        return saved

    def close(self) -> None:
        self._opening.cancel()

    # -- what the tracker reports --------------------------------------------------------------

    def on_tracking_event(self, event: TrackingEvent) -> None:
        """Update the pane and notify (called by the tracker for each event)."""
        if isinstance(event, StatusChanged):
            self._notifier.notify(
                "Order status changed",
                f"{self._who(event.order_id)}: {event.previous} → {event.status}",
            )
            self._changed(event.order_id)
        elif isinstance(event, ResultsDownloaded):
            self._notifier.notify("Results ready", f"New results for {self._who(event.order_id)}.")
            self._changed(event.order_id)
            if event.order_id == self._current:
                self.result_ready.emit(str(event.path))
        elif isinstance(event, OrderArrived):
            self.orders_changed.emit()
        elif isinstance(event, TrackingStopped):
            self._bridge.warning(f"Orders are no longer updated. {event.error.user_message}")
        elif isinstance(event, ConnectionChanged):
            pass  # shown in the status bar (the workspace forwards it to Connectivity)

    def _changed(self, order_id: str) -> None:
        self.orders_changed.emit()
        if order_id == self._current:
            self.detail_changed.emit(self.detail(order_id))

    def _who(self, order_id: str) -> str:
        try:
            row = self._orders.row(order_id)
        except UnknownOrderError:
            return f"Order {order_id}"
        return f"{row.patient_name or 'A patient'} (order {order_id})"
