"""The Orders pane (built by the draft-orders issue; until then it says what it will hold)."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from rupa_desk.ui.widgets.placeholder import PlaceholderPane


class OrdersPage(PlaceholderPane):
    """Orders: every submitted Rupa order, its status and its results."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(
            "Orders",
            "Your submitted Rupa orders will be here, newest first, with the patient, date, "
            "status and total. Rupa Desk will keep their status up to date, tell you when it "
            "changes and show the result PDFs when the lab sends them.",
            parent,
        )
