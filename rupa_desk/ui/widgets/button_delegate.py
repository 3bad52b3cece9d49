"""Draws a table cell as a push button with the cell's text (e.g. "New order" on each row),
and says when it is clicked: an action on every row without a widget per row."""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractItemModel,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QMouseEvent, QPainter
from PySide6.QtWidgets import (
    QApplication,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionButton,
    QStyleOptionViewItem,
    QWidget,
)

Index = QModelIndex | QPersistentModelIndex

MARGIN = 2
PADDING_X = 10


class ButtonDelegate(QStyledItemDelegate):
    """The cell is a button reading its text; a left click on it emits `clicked`. A cell
    without text shows no button (a row the action does not apply to).

    Signals:
        clicked(QModelIndex): the button of this cell was clicked.
    """

    clicked = Signal(QModelIndex)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        self.initStyleOption(option, index)
        text = option.text
        option.text = ""
        widget = option.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, widget)
        if not text:
            return
        button = QStyleOptionButton()
        button.rect = option.rect.adjusted(MARGIN, MARGIN, -MARGIN, -MARGIN)
        button.text = text
        button.state = QStyle.StateFlag.State_Enabled | QStyle.StateFlag.State_Raised
        button.palette = option.palette
        button.fontMetrics = option.fontMetrics
        style.drawControl(QStyle.ControlElement.CE_PushButton, button, painter, widget)

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        size = super().sizeHint(option, index)
        text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        width = option.fontMetrics.horizontalAdvance(text) + 2 * (PADDING_X + MARGIN)
        return QSize(max(size.width(), width), size.height() + 2 * MARGIN)

    @staticmethod
    def width_for(text: str, widget: QWidget) -> int:
        """The width of a cell whose button reads `text` in `widget`'s font (a column of
        such buttons can be given it once rather than be measured row by row)."""
        # the button's padding and margins, and room for the cell's own frame and grid line
        return widget.fontMetrics().horizontalAdvance(text) + 2 * (PADDING_X + 2 * MARGIN) + 2

    def editorEvent(
        self,
        event: QEvent,
        model: QAbstractItemModel,
        option: QStyleOptionViewItem,
        index: Index,
    ) -> bool:
        if (
            event.type() == QEvent.Type.MouseButtonRelease
            and isinstance(event, QMouseEvent)
            and event.button() == Qt.MouseButton.LeftButton
            and option.rect.contains(event.position().toPoint())
            and index.data(Qt.ItemDataRole.DisplayRole)
        ):
            model_index = index.model().index(index.row(), index.column())
            self.clicked.emit(model_index)
            return True
        return super().editorEvent(event, model, option, index)
