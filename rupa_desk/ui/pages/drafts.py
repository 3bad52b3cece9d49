"""The Draft orders pane (built by the draft-orders issue; until then it says what it will hold)."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from rupa_desk.ui.widgets.placeholder import PlaceholderPane


class DraftsPage(PlaceholderPane):
    """Draft orders: a patient, lab tests and notes, saved locally and sent to Rupa."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(
            "Draft orders",
            "Your draft orders will be here: a patient, the lab tests you added from the "
            "catalog and your notes, saved on this computer as you type (also offline), "
            "with each draft's estimated total and whether it has been sent to Rupa. From here "
            "you will send a draft to Rupa and complete the checkout.",
            parent,
        )
