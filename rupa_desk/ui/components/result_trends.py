"""A patient's trends: each analyte measured more than once, as a small chart and a table.

The chart draws the values over time as a line with a point per measurement, over the
reference range as a shaded band; flagged points are drawn hollow, and the table beside it
says every value, date and flag in words (the chart is never the only place a value is).
"""

from __future__ import annotations

from typing import Final

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from rupa_desk.core.hl7_results import abnormal_flag
from rupa_desk.core.result_trends import Trend
from rupa_desk.ui.formatting import when
from rupa_desk.ui.widgets.keyed_table import read_only_table

MARGIN: Final = 8.0


class TrendChart(QWidget):
    """One trend as a line over its reference band (nothing drawn without a trend)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Trend chart")
        self.setMinimumSize(160, 90)
        self.trend: Trend | None = None

    def show_trend(self, trend: Trend | None) -> None:
        self.trend = trend
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(260, 120)

    def points(self) -> list[QPointF]:
        """Where each value is drawn, oldest first (for tests and the painting)."""
        trend = self.trend
        if trend is None:
            return []
        low, high = self._value_range(trend)
        area = self._area()
        times = [p.at.timestamp() for p in trend.points]
        first, last = min(times), max(times)
        span_t = (last - first) or 1.0
        return [
            QPointF(
                area.left() + area.width() * (t - first) / span_t,
                area.bottom() - area.height() * (float(p.value) - low) / (high - low),
            )
            for t, p in zip(times, trend.points, strict=True)
        ]

    def band(self) -> QRectF | None:
        """The reference range's band on the chart (None without a numeric range)."""
        trend = self.trend
        if trend is None or (trend.low is None and trend.high is None):
            return None
        low, high = self._value_range(trend)
        area = self._area()

        def y(value: float) -> float:
            return area.bottom() - area.height() * (value - low) / (high - low)

        top = y(float(trend.high)) if trend.high is not None else area.top()
        bottom = y(float(trend.low)) if trend.low is not None else area.bottom()
        return QRectF(area.left(), top, area.width(), bottom - top)

    def paintEvent(self, event: QPaintEvent) -> None:
        points = self.points()
        if not points:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        band = self.band()
        if band is not None:
            shade = QColor(palette.highlight().color())
            shade.setAlpha(40)
            painter.fillRect(band, shade)
        line = QPen(palette.text().color(), 1.5)
        painter.setPen(line)
        path = QPainterPath(points[0])
        for point in points[1:]:
            path.lineTo(point)
        painter.drawPath(path)
        assert self.trend is not None
        for point, value in zip(points, self.trend.points, strict=True):
            painter.setBrush(Qt.BrushStyle.NoBrush if value.flags else palette.text())
            painter.drawEllipse(point, 3.5, 3.5)
        painter.end()

    def _area(self) -> QRectF:
        return QRectF(self.rect()).adjusted(MARGIN, MARGIN, -MARGIN, -MARGIN)

    @staticmethod
    def _value_range(trend: Trend) -> tuple[float, float]:
        values = [float(p.value) for p in trend.points]
        values += [float(b) for b in (trend.low, trend.high) if b is not None]
        low, high = min(values), max(values)
        if high == low:
            low, high = low - 1.0, high + 1.0
        pad = (high - low) * 0.1
        return low - pad, high + pad


class TrendsView(QWidget):
    """The trends of one patient: the analytes, the chosen one's chart and values."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Trends")
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.analytes = QListWidget()
        self.analytes.setAccessibleName("Analytes measured more than once")
        self.chart = TrendChart()
        self.values = QTableWidget(0, 3)
        self.values.setAccessibleName("Values over time")
        self.values.setHorizontalHeaderLabels(["Date", "Value", "Flag"])
        read_only_table(self.values, stretch=1)
        row = QHBoxLayout()
        row.addWidget(self.analytes, 1)
        row.addWidget(self.chart, 2)
        row.addWidget(self.values, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addLayout(row, 1)
        self._trends: list[Trend] = []
        self.analytes.currentRowChanged.connect(self._on_analytes_current_row_changed)
        self.show_trends([])

    def show_trends(self, trends: list[Trend]) -> None:
        """Show these trends (the first one chosen)."""
        self._trends = list(trends)
        self.analytes.clear()
        has_any = bool(trends)
        for widget in (self.analytes, self.chart, self.values):
            widget.setVisible(has_any)
        if not has_any:
            self.heading.setText("Trends: no result measured more than once yet.")
            self._show(None)
            return
        count = len(trends)
        self.heading.setText(f"Trends: {count} result{'s' if count > 1 else ''} measured again")
        for trend in trends:
            units = f" ({trend.units})" if trend.units else ""
            self.analytes.addItem(f"{trend.analyte}{units}")
        self.analytes.setCurrentRow(0)

    def _show(self, trend: Trend | None) -> None:
        self.chart.show_trend(trend)
        points = trend.points if trend is not None else ()
        self.values.setRowCount(len(points))
        units = f" {trend.units}" if trend is not None and trend.units else ""
        for index, point in enumerate(points):
            flags = ", ".join(abnormal_flag(code).words for code in point.flags)
            for column, text in enumerate((when(point.at), point.shown + units, flags)):
                self.values.setItem(index, column, QTableWidgetItem(text))
        if trend is not None and (trend.low is not None or trend.high is not None):
            low = "" if trend.low is None else str(trend.low)
            high = "" if trend.high is None else str(trend.high)
            self.chart.setToolTip(f"Shaded: the lab's range {low}–{high}{units}")

    def _on_analytes_current_row_changed(self, row: int) -> None:
        self._show(self._trends[row] if 0 <= row < len(self._trends) else None)
