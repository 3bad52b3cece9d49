""" "Add to which draft?": the question the catalog's "Add to draft" asks when it is not clear.

A `DraftChooser` (see `rupa_desk.ui.presenters.drafts`) that shows a small dialog: the open
drafts by patient, a new draft for the selected patient, a new draft without one. Enter adds
to the highlighted choice; Escape adds nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from rupa_desk.ui.presenters.drafts import DraftChoice
from rupa_desk.ui.widgets.elided_text import show_cut_cells_whole


class DraftChoiceDialog(QDialog):
    """The choices as a list; "Add to this draft" takes the highlighted one."""

    def __init__(
        self, question: str, choices: Sequence[DraftChoice], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add to which draft?")
        self.setAccessibleName("Add to which draft?")
        self._choices = list(choices)
        self.question = QLabel(question)
        self.question.setWordWrap(True)
        self.question.setAccessibleName("Question")
        self.choices = QListWidget()
        self.choices.setAccessibleName("Drafts to choose from")
        show_cut_cells_whole(self.choices)
        for index, choice in enumerate(self._choices):
            item = QListWidgetItem(choice.label)
            item.setData(Qt.ItemDataRole.UserRole, index)
            self.choices.addItem(item)
        self.choices.setCurrentRow(0)
        self.buttons = QDialogButtonBox()
        self.add_button = self.buttons.addButton(
            "Add to this draft", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.add_button.setAccessibleName("Add the test to the chosen draft")
        self.add_button.setDefault(True)
        cancel = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAccessibleName("Add nothing")
        layout = QVBoxLayout(self)
        layout.addWidget(self.question)
        layout.addWidget(self.choices)
        layout.addWidget(self.buttons)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.choices.itemActivated.connect(self._on_choices_item_activated)

    def chosen(self) -> DraftChoice | None:
        """The highlighted choice (None: none)."""
        item = self.choices.currentItem()
        return None if item is None else self._choices[int(item.data(Qt.ItemDataRole.UserRole))]

    def choose(self, label: str) -> None:
        """Highlight the choice that reads `label` and accept it (as a click would)."""
        [item] = self.choices.findItems(label, Qt.MatchFlag.MatchExactly)
        self.choices.setCurrentItem(item)
        self.add_button.click()

    def _on_choices_item_activated(self, item: QListWidgetItem) -> None:
        self.accept()


class DialogDraftChooser:
    """Asks with a `DraftChoiceDialog` over `parent`'s window.

    Attributes:
        dialog: the dialog while it is open (None otherwise).
    """

    def __init__(self, parent: QWidget) -> None:
        self._parent = parent
        self.dialog: DraftChoiceDialog | None = None

    async def choose(self, question: str, choices: Sequence[DraftChoice]) -> DraftChoice | None:
        """Show the dialog and wait for the answer (None: cancelled, or already asking)."""
        if self.dialog is not None:
            self.dialog.raise_()
            return None
        dialog = DraftChoiceDialog(question, choices, self._parent.window())
        answer: asyncio.Future[DraftChoice | None] = asyncio.get_running_loop().create_future()

        def finished(result: int) -> None:
            if not answer.done():
                accepted = result == QDialog.DialogCode.Accepted
                answer.set_result(dialog.chosen() if accepted else None)

        def destroyed() -> None:  # its window went away (sign-out) without an answer
            if not answer.done():
                answer.set_result(None)

        dialog.finished.connect(finished)
        dialog.destroyed.connect(destroyed)
        self.dialog = dialog
        dialog.open()
        try:
            return await answer
        finally:
            self.dialog = None
            dialog.deleteLater()
