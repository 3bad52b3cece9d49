"""Copying a value for the user: to the clipboard, with a brief "Copied" where it was copied.

For Rupa's full reference of an order or a draft, which the screen shows only in a tooltip:
the front desk pastes it into a message to Rupa's support. `copy_action` makes the "Copy"
of a view: in its context menu and on Ctrl+C (the platform's Copy key) while it has focus.

Generic: knows nothing of orders.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QToolTip, QWidget

#: How long "Copied" stays beside what was copied.
COPIED_SHOWN_MS: Final = 1500
COPIED: Final = "Copied"


def copy_text(text: str, near: QWidget) -> None:
    """Put `text` on the clipboard and say "Copied" briefly at the middle of `near`."""
    QGuiApplication.clipboard().setText(text)
    where = near.mapToGlobal(near.rect().center())
    QToolTip.showText(where, COPIED, near, QRect(), COPIED_SHOWN_MS)


def copy_action(
    view: QWidget,
    label: str,
    value: Callable[[], str | None],
    *,
    tooltip: str = "",
    near: QWidget | None = None,
) -> QAction:
    """A "Copy …" action on `view`: its context menu and Ctrl+C (while `view` has focus)
    copy what `value` returns at that moment (nothing when it returns None or ""), and say
    "Copied" on `near` (`view` itself by default; a button that shows the action).

    Returns:
        The action (disable it when there is nothing to copy; it is the view's to keep).
    """
    action = QAction(label, view)
    action.setShortcut(QKeySequence(QKeySequence.StandardKey.Copy))
    action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
    action.setToolTip(tooltip or label)

    def copy() -> None:
        text = value()
        if text:
            copy_text(text, near or view)

    action.triggered.connect(copy)
    view.addAction(action)
    view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
    return action
