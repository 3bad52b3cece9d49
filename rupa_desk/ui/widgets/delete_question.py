"""The question before deleting something kept only on this computer (a draft, a panel).

Keep it is the default and the Escape button, so a stray Enter or Escape deletes nothing.
"""

from __future__ import annotations

from PySide6.QtWidgets import QAbstractButton, QLabel, QMessageBox, QWidget


def delete_question(parent: QWidget, thing: str, question: str) -> QMessageBox:
    """A warning box asking whether to delete `thing` ("draft", "panel"); not shown yet.

    Args:
        parent: the page asking.
        thing: what is deleted, in words ("draft").
        question: what deleting it means, for the person.
    """
    box = QMessageBox(
        QMessageBox.Icon.Warning,
        f"Delete {thing}",
        question,
        QMessageBox.StandardButton.NoButton,
        parent,
    )
    box.setAccessibleName(f"Delete {thing}?")
    for label in box.findChildren(QLabel):  # the question's text (selectable)
        label.setAccessibleName(f"What deleting the {thing} means")
    delete = box.addButton(f"Delete {thing}", QMessageBox.ButtonRole.DestructiveRole)
    delete.setAccessibleName(f"Delete the {thing}")
    keep = box.addButton("Keep it", QMessageBox.ButtonRole.RejectRole)
    keep.setAccessibleName(f"Keep the {thing}")
    box.setDefaultButton(keep)
    box.setEscapeButton(keep)
    return box


def chose_delete(box: QMessageBox, button: QAbstractButton) -> bool:
    """True when `button` of a `delete_question` box is its Delete button."""
    return box.buttonRole(button) == QMessageBox.ButtonRole.DestructiveRole
