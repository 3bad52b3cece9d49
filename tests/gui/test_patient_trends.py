"""Trends on the patient detail: analytes measured in more than one order, as a chart over
the reference band and a table of every value with its date and flag in words."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pytestqt.qtbot import QtBot

from rupa_desk.core.models import Order, OrderedTest
from rupa_desk.core.result_trends import trends
from rupa_desk.paths import AppPaths
from rupa_desk.sandbox.results_hl7 import HL7Facts, render_oru
from rupa_desk.services.store import Store
from rupa_desk.ui.components.result_trends import TrendsView
from rupa_desk.ui.formatting import when

PATIENT = "pat_Trend001"
FIRST = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def save_order(store: Store, index: int, markers: tuple[str, ...], patient: str = PATIENT) -> None:
    order_id, test_id = f"ord_Trend{index:03d}", f"ordts_Trend{index:03d}"
    collected = FIRST + timedelta(days=60 * index)
    store.orders.save(
        Order(
            id=order_id,
            status="Complete",
            patient_id=patient,
            date_submitted=collected,
            ordered_tests=(OrderedTest(id=test_id, lab_test_id="labts_0000001"),),
        )
    )
    facts = HL7Facts(
        ordered_test_id=test_id,
        order_id=order_id,
        test_name="Metabolic Panel",
        lab_name="Acme Labs",
        biomarkers=markers,
        patient_id=patient,
        patient_first_name="Ada",
        patient_last_name="Lovelace",
        patient_birthday=None,
        collected=collected,
        reported=collected,
        final=True,
        corrected=False,
    )
    store.lab_results.save(order_id, test_id, collected, render_oru(facts))


@pytest.fixture
def store(app_paths: AppPaths) -> Iterator[Store]:
    with Store.open(app_paths.data_dir / "trends-test.sqlite3") as opened:
        yield opened


def test_an_analyte_of_three_orders_is_a_trend_shown_as_chart_and_table(
    qtbot: QtBot, store: Store
) -> None:
    for index in range(3):
        save_order(store, index, ("Glucose", "TSH") if index < 2 else ("Glucose",))
    save_order(store, 9, ("Glucose",), patient="pat_Other001")  # another patient's
    found = trends(store.lab_results.patient_reports(PATIENT))
    assert [(t.analyte, len(t.points)) for t in found] == [("Glucose", 3), ("TSH", 2)]
    glucose = found[0]
    assert glucose.loinc == "2345-7"
    assert (glucose.low, glucose.high) == (Decimal(70), Decimal(99))
    assert [p.at for p in glucose.points] == [FIRST + timedelta(days=60 * i) for i in range(3)]

    view = TrendsView()
    qtbot.addWidget(view)
    view.resize(900, 260)
    view.show()
    view.show_trends(found)
    assert view.heading.text() == "Trends: 2 results measured again"
    assert [view.analytes.item(i).text() for i in range(2)] == ["Glucose (mg/dL)", "TSH (uIU/mL)"]
    rows = [
        tuple(view.values.item(r, c).text() for c in range(3))
        for r in range(view.values.rowCount())
    ]
    assert [r[:2] for r in rows] == [(when(p.at), f"{p.shown} mg/dL") for p in glucose.points]
    points = view.chart.points()
    assert len(points) == 3
    assert [p.x() for p in points] == sorted(p.x() for p in points)  # oldest left
    by_value = sorted(zip(glucose.points, points, strict=True), key=lambda pair: pair[0].value)
    assert [pair[1].y() for pair in by_value] == sorted((p.y() for p in points), reverse=True)
    band = view.chart.band()
    assert band is not None
    assert view.chart.rect().contains(band.toRect().center())

    view.analytes.setCurrentRow(1)
    assert view.values.rowCount() == 2
    assert view.values.item(0, 1).text().endswith(" uIU/mL")


def test_no_trend_says_so(qtbot: QtBot, store: Store) -> None:
    save_order(store, 0, ("Glucose",))
    view = TrendsView()
    qtbot.addWidget(view)
    view.show_trends(trends(store.lab_results.patient_reports(PATIENT)))
    assert view.heading.text() == "Trends: no result measured more than once yet."
    assert view.chart.points() == []
