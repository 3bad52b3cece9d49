"""Draws a table cell's text as a coloured chip (a rounded label), e.g. an order's status."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from rupa_desk.ui.widgets.keyed_table import CHIP_ROLE

#: Maps a cell's chip value (`CHIP_ROLE`) to its (background, text) colours; None: plain text.
ChipColors = Callable[[object], tuple[QColor, QColor] | None]

Index = QModelIndex | QPersistentModelIndex

PADDING_X = 8
PADDING_Y = 2
RADIUS = 8.0


class ChipDelegate(QStyledItemDelegate):
    """Paints the cell's text in a chip coloured by `colors(index.data(CHIP_ROLE))`.

    The words stay the cell's text (a chip is never colour alone), elided to the cell.
    """

    def __init__(self, colors: ChipColors, parent: object = None) -> None:
        super().__init__(parent)  # type: ignore[arg-type]
        self._colors = colors

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        chosen = self._colors(index.data(CHIP_ROLE))
        text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        if chosen is None or not text:
            super().paint(painter, option, index)
            return
        background, foreground = chosen
        self.initStyleOption(option, index)
        option.text = ""
        style = option.widget.style() if option.widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, option.widget)
        metrics = option.fontMetrics
        room = option.rect.adjusted(4, 3, -4, -3)
        shown = metrics.elidedText(text, Qt.TextElideMode.ElideRight, room.width() - 2 * PADDING_X)
        width = min(room.width(), metrics.horizontalAdvance(shown) + 2 * PADDING_X)
        chip = QRectF(room.x(), room.y(), width, room.height())
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(background)
        painter.drawRoundedRect(chip, RADIUS, RADIUS)
        painter.setPen(foreground)
        painter.drawText(chip, int(Qt.AlignmentFlag.AlignCenter), shown)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        size = super().sizeHint(option, index)
        return QSize(size.width() + 2 * PADDING_X + 8, max(size.height(), 0) + 2 * PADDING_Y)
