"""An item delegate that paints parts of a cell's text highlighted (search matches).

The model gives the spans to highlight under `HIGHLIGHT_ROLE` as a sequence of
`(start, end)` character offsets into the cell's display text; cells without spans are drawn
as usual. The text is drawn with a small `QTextLayout` per cell, which only runs for the
rows on screen.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QPainter,
    QPalette,
    QTextCharFormat,
    QTextLayout,
)
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem

#: The item data role under which a model gives the spans to highlight.
HIGHLIGHT_ROLE = int(Qt.ItemDataRole.UserRole) + 77

Span = tuple[int, int]


def clean_spans(spans: object, length: int) -> list[Span]:
    """Valid, sorted, merged spans inside a text of `length` characters."""
    if not isinstance(spans, Sequence):
        return []
    cleaned: list[Span] = []
    for span in spans:
        if not isinstance(span, Sequence) or len(span) != 2:
            continue
        start, end = int(span[0]), int(span[1])
        start, end = max(start, 0), min(end, length)
        if start < end:
            cleaned.append((start, end))
    cleaned.sort()
    merged: list[Span] = []
    for start, end in cleaned:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


class HighlightDelegate(QStyledItemDelegate):
    """Draws the matched parts of a cell's text bold on a soft highlight colour."""

    def __init__(self, parent: object | None = None) -> None:
        super().__init__(parent)  # type: ignore[arg-type]
        self._background = QColor(255, 224, 130)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        spans = clean_spans(index.data(HIGHLIGHT_ROLE), len(text))
        if not spans:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)

        rect = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, opt, widget)
        margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, widget) + 1
        rect = rect.adjusted(margin, 0, -margin, 0)
        font = opt.font
        layout = self.fitted_layout(text, spans, font, rect.width())
        line = layout.lineAt(0)

        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        palette = opt.palette
        painter.save()
        painter.setPen(palette.color(role))
        painter.setClipRect(rect)
        top = rect.top() + (rect.height() - line.height()) / 2
        layout.draw(painter, QPointF(rect.left(), top), [], QRectF(rect))
        painter.restore()

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        """The plain cell's size, wider by what the bold matches add (so a view can tell
        that a highlighted cell is cut)."""
        size = super().sizeHint(option, index)
        text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        spans = clean_spans(index.data(HIGHLIGHT_ROLE), len(text))
        if not spans:
            return size
        layout = self.fitted_layout(text, spans, option.font, 1 << 20)  # kept: owns the line
        bold = math.ceil(layout.lineAt(0).naturalTextWidth())
        extra = bold - QFontMetrics(option.font).horizontalAdvance(text)
        return QSize(size.width() + max(extra, 0), size.height())

    def fitted_layout(self, text: str, spans: list[Span], font: QFont, width: int) -> QTextLayout:
        """The text laid out on one line no wider than `width`, elided with "…" when it does
        not fit: bold matches are wider than the plain text, so it is elided until it fits."""
        metrics = QFontMetrics(font)
        room = width
        while True:
            elided = metrics.elidedText(text, Qt.TextElideMode.ElideRight, room)
            layout = QTextLayout(elided, font)
            layout.setFormats(self._formats(spans, len(elided)))
            layout.beginLayout()
            line = layout.createLine()
            line.setLineWidth(max(width, 1) * 4)
            layout.endLayout()
            excess = line.naturalTextWidth() - width
            if excess <= 0 or room <= 0:
                return layout
            room -= int(excess) + 1

    def _formats(self, spans: list[Span], length: int) -> list[QTextLayout.FormatRange]:
        """Bold on the highlight colour for each span inside the first `length` characters."""
        formats = []
        for start, end in spans:
            if start >= length:
                break
            fmt = QTextLayout.FormatRange()
            fmt.start = start
            fmt.length = min(end, length) - start
            char_format = QTextCharFormat()
            char_format.setFontWeight(700)
            char_format.setBackground(self._background)
            char_format.setForeground(QColor(20, 20, 20))
            fmt.format = char_format
            formats.append(fmt)
        return formats
