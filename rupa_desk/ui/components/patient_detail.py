"""One patient: demographics, their drafts on this computer and their orders on Rupa.

While Rupa's answer is awaited, or when Rupa cannot be reached, the orders saved on this
computer (the Orders pane's) are shown instead, and the panel says that is what they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from rupa_desk.core.models import Address
from rupa_desk.ui.components.catalog_model import format_price
from rupa_desk.ui.components.result_trends import TrendsView
from rupa_desk.ui.formatting import tests_count
from rupa_desk.ui.presenters.patients import LOADING_ORDERS, PatientDetail
from rupa_desk.ui.widgets.elided_text import ElidedLabel, show_cut_cells_whole


class OrderSummary(Protocol):
    """What a line of the orders list needs (a Rupa `Order`, or an `OrderRow` saved here)."""

    @property
    def id(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def date_submitted(self) -> datetime | None: ...

    @property
    def total_price(self) -> Decimal | None: ...


def format_address(address: Address | None) -> str:
    """A postal address on up to three lines ("—" when none)."""
    if address is None or not any((address.street_1, address.city, address.zip)):
        return "—"
    lines = [address.street_1, address.street_2, f"{address.city}, {address.state} {address.zip}"]
    return "\n".join(line for line in lines if line.strip(" ,"))


def describe_order(order: OrderSummary) -> str:
    """ "2024-06-13 · In Progress · $123.00"."""
    when = order.date_submitted.date().isoformat() if order.date_submitted else "not submitted"
    total = format_price(order.total_price)
    return f"{when} · {order.status} · {total}"


class PatientDetailPanel(QWidget):
    """Shows a `PatientDetail`, with "New order" for the patient shown.

    Signals:
        new_order_requested(str): "New order" for this patient (her id).
        order_again_requested(str): "Order again" for the order selected in her orders (its
            id).
        draft_open_requested(str): one of her drafts was activated (Enter, double-click):
            open it (its id).
    """

    new_order_requested = Signal(str)
    order_again_requested = Signal(str)
    draft_open_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Patient details")
        self.empty = QLabel("Select a patient to see their details, drafts and orders.")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.name = ElidedLabel()
        self.name.setAccessibleName("Patient name")
        font = self.name.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.name.setFont(font)
        self.new_order_button = QPushButton("New order")
        self.new_order_button.setProperty("primary", True)
        self.new_order_button.setAccessibleName("New order for this patient")
        self.new_order_button.setToolTip("A new draft order for this patient (Ctrl+Enter)")
        self.new_order_button.clicked.connect(self._on_new_order_button_clicked)
        self.values: dict[str, QLabel] = {}
        form = QFormLayout()
        for key, label in (
            ("email", "Email"),
            ("birthday", "Birthday"),
            ("phone", "Phone"),
            ("gender", "Gender"),
            ("address", "Address"),
        ):
            # One long word (an email) would set the pane's minimum width: it is elided.
            value = ElidedLabel() if key == "email" else QLabel()
            value.setAccessibleName(label)
            value.setWordWrap(not isinstance(value, ElidedLabel))
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(label, value)
            self.values[key] = value
        self.drafts_label = QLabel()
        self.drafts_label.setWordWrap(True)
        self.drafts = QListWidget()
        self.drafts.setAccessibleName("Drafts of this patient")
        show_cut_cells_whole(self.drafts)
        self.drafts.setToolTip("Enter or double-click opens the draft in Draft orders")
        self.drafts.itemActivated.connect(self._on_drafts_item_activated)
        self.orders_label = QLabel()
        self.orders_label.setWordWrap(True)  # a long note never widens the pane
        self.orders = QListWidget()
        self.orders.setAccessibleName("Orders of this patient")
        show_cut_cells_whole(self.orders)
        self.again_button = QPushButton("Order again")
        self.again_button.setAccessibleName("Order the selected order's tests again")
        self.again_button.setToolTip("A new draft with the tests of the selected order")
        self.again_button.setEnabled(False)
        self.orders.itemSelectionChanged.connect(self._on_orders_item_selection_changed)
        self.again_button.clicked.connect(self._on_again_button_clicked)
        self.history_label = QLabel("Lab history")
        self.history = QListWidget()
        self.history.setAccessibleName("Lab history of this patient")
        show_cut_cells_whole(self.history)
        # it takes the room left over: never the room the details above need
        self.history.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
        self.history_label.setVisible(False)  # until a lab history is given
        self.history.setVisible(False)
        self._content = QWidget()
        content = QVBoxLayout(self._content)
        content.setContentsMargins(0, 0, 0, 0)
        heading = QHBoxLayout()
        heading.addWidget(self.name, 1)
        heading.addWidget(self.new_order_button)
        content.addLayout(heading)
        content.addLayout(form)
        content.addWidget(self.drafts_label)
        content.addWidget(self.drafts, 1)
        content.addWidget(self.orders_label)
        content.addWidget(self.orders, 2)
        again = QHBoxLayout()
        again.addStretch(1)
        again.addWidget(self.again_button)
        content.addLayout(again)
        self.trends = TrendsView()
        content.addWidget(self.trends, 2)
        content.addWidget(self.history_label)
        content.addWidget(self.history, 2)
        # Scrolls rather than squeezes: in a small window her details keep their height.
        self._scroll = QScrollArea()
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._scroll.setWidget(self._content)
        layout = QVBoxLayout(self)
        layout.addWidget(self.empty)
        layout.addWidget(self._scroll, 1)
        self._detail: PatientDetail | None = None
        self.show_detail(None)

    @property
    def detail(self) -> PatientDetail | None:
        """What is shown (None: nothing selected)."""
        return self._detail

    def show_detail(
        self, detail: PatientDetail | None, saved_orders: Sequence[OrderSummary] = ()
    ) -> None:
        """Show `detail`, or the "select a patient" hint for None.

        Args:
            detail: the patient, drafts and orders from Rupa.
            saved_orders: this patient's orders saved on this computer, shown while Rupa's
                are loading or could not be loaded.
        """
        self._detail = detail
        self.empty.setVisible(detail is None)
        self._scroll.setVisible(detail is not None)
        if detail is None:
            return
        patient = detail.patient
        self.name.setText(patient.full_name)
        self.values["email"].setText(patient.email)
        self.values["birthday"].setText(patient.birthday.isoformat() if patient.birthday else "—")
        self.values["phone"].setText(patient.phone or "—")
        self.values["gender"].setText((patient.gender or "—").capitalize())
        self.values["address"].setText(format_address(patient.address))
        self.name.setToolTip(f"Rupa's reference: {patient.id}")  # for a call to Rupa's support
        self.drafts.clear()
        for draft in detail.drafts:
            tests = tests_count(draft.test_count)
            item = QListWidgetItem(f"Draft of {draft.updated_at:%Y-%m-%d %H:%M} · {tests}")
            item.setData(Qt.ItemDataRole.UserRole, draft.id)
            self.drafts.addItem(item)
        self.drafts_label.setText(
            f"Drafts on this computer ({len(detail.drafts)})" if detail.drafts else "No drafts"
        )
        self.orders.clear()
        self.orders_label.setToolTip("")
        shown: Sequence[OrderSummary] = detail.orders
        if detail.orders_problem and saved_orders:
            shown = saved_orders
            count = len(saved_orders)
            if detail.orders_problem == LOADING_ORDERS:
                text = f"Orders saved on this computer ({count}); loading the latest from Rupa…"
            else:
                text = (
                    f"Orders saved on this computer ({count}); the latest could not be loaded "
                    "from Rupa, so they may be out of date."
                )
                self.orders_label.setToolTip(detail.orders_problem)
            self.orders_label.setText(text)
        elif detail.orders_problem:
            self.orders_label.setText(f"Orders: {detail.orders_problem}")
        else:
            self.orders_label.setText(
                f"Orders on Rupa ({len(detail.orders)})" if detail.orders else "No orders on Rupa"
            )
        for order in shown:
            item = QListWidgetItem(describe_order(order))
            item.setData(Qt.ItemDataRole.UserRole, order.id)
            self.orders.addItem(item)
        self._on_orders_item_selection_changed()

    def set_ordering(self, available: bool) -> None:
        """Offer "New order" and "Order again" (False: nothing here can start an order)."""
        self.new_order_button.setVisible(available)
        self.again_button.setVisible(available)

    def _on_drafts_item_activated(self, item: QListWidgetItem) -> None:
        self.draft_open_requested.emit(str(item.data(Qt.ItemDataRole.UserRole)))

    def _on_orders_item_selection_changed(self) -> None:
        self.again_button.setEnabled(bool(self.orders.selectedItems()))

    def _on_again_button_clicked(self) -> None:
        items = self.orders.selectedItems()
        if items:
            self.order_again_requested.emit(str(items[0].data(Qt.ItemDataRole.UserRole)))

    def _on_new_order_button_clicked(self) -> None:
        if self._detail is not None:
            self.new_order_requested.emit(self._detail.patient.id)

    def show_history(self, lines: Sequence[str]) -> None:
        """Show the patient's lab history on this computer (orders and results, newest
        first), one line per step."""
        self.history_label.setVisible(True)
        self.history.setVisible(True)
        self.history.clear()
        self.history.addItems(list(lines))
        self.history_label.setText(
            "Lab history on this computer" if lines else "No lab history on this computer yet"
        )
