"""No text on screen is cut without a sign: at 1280×800 and at the smallest window, with long
test, lab and patient names, every visible label, button and search hint fits or ends with
"…" and shows its whole text in a tooltip, and every table cell that does not fit does too."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QWidget,
)

from rupa_desk.core.models import LabCompany, LabTest, Order, OrderedTest, Patient
from rupa_desk.desk import Desk
from rupa_desk.settings import Environment, production
from rupa_desk.ui.main_window import MINIMUM_SIZE
from rupa_desk.ui.pages.catalog import CatalogPage
from rupa_desk.ui.pages.drafts import DraftsPage
from rupa_desk.ui.pages.orders import OrdersPage
from rupa_desk.ui.pages.patients import PatientsPage
from rupa_desk.ui.widgets.elided_text import CutCellTooltips, ElidedLabel
from rupa_desk.ui.widgets.keyed_table import select_key
from tests.fixtures.catalog_data import iter_tests, load_catalog, synthetic_companies
from tests.fixtures.desk import MakeDesk, signed_in_desk
from tests.fixtures.qt import wait_until

LONG_COMPANY = LabCompany(
    "labco_long",
    "Precision Analytical Laboratories of North America",
    "Precision Analytical",
    raw={"id": "labco_long", "type": "lab_company"},
)
LONG_TESTS = (
    "Advanced Salivary Cortisol, 4-Point (Sanesco Health)",
    "Vitamin D, 25-OH (Dried Blood Spot) with Comprehensive Hormone Interpretation",
)
LONG_PATIENT = Patient(
    "pat_long0001",
    "Maximiliana Anastasia",
    "Alexandrova-Worthington-Fitzgerald",
    "maximiliana.alexandrova-worthington@example-clinic-patients.com",
)
LONG_ORDER_ID = "ord_long0001"
SIZES = [(1280, 800), MINIMUM_SIZE]
FAILURE_REASON = (
    "Rupa did not accept this. Email: Enter a valid email address. Check the patient's "
    "details in Patients, then press Retry."
)


@pytest.fixture
def environment() -> Environment:
    return production("desk-client")


def long_tests() -> list[LabTest]:
    return [
        LabTest(
            f"labts_long{n}",
            name,
            Decimal("1249.00"),
            LONG_COMPANY.id,
            sample_types=("Saliva",),
            biomarkers=("Cortisol (Awakening, Morning, Afternoon, Night)",),
            lab_company=LONG_COMPANY,
            raw={"id": f"labts_long{n}", "type": "lab_test"},
        )
        for n, name in enumerate(LONG_TESTS)
    ]


def long_order() -> Order:
    tests = long_tests()
    return Order(
        id=LONG_ORDER_ID,
        status="Pending Payment",
        patient_id=LONG_PATIENT.id,
        total_price=Decimal("2498.00"),
        date_submitted=datetime(2026, 12, 4, 9, 0, tzinfo=UTC),
        ordered_test_ids=tuple(f"ortst_long{n}" for n in range(len(tests))),
        ordered_tests=tuple(
            OrderedTest(f"ortst_long{n}", test.id, lab_test=test) for n, test in enumerate(tests)
        ),
        patient=LONG_PATIENT,
    )


async def desk_with_long_names(make_desk: MakeDesk, environment: Environment) -> Desk:
    desk = await signed_in_desk(make_desk, environment, download=True)
    workspace = desk.workspace
    assert workspace is not None
    store = workspace.store
    load_catalog(store, (*synthetic_companies(), LONG_COMPANY), [*long_tests(), *iter_tests(50)])
    store.patients.upsert([LONG_PATIENT])
    draft_id = store.drafts.create(patient_id=LONG_PATIENT.id)
    for test in long_tests():
        store.drafts.add_test(draft_id, test.id, name=test.name, price=test.price)
    await workspace.catalog.refresh()
    await workspace.patients.search("")

    window = desk.window
    drafts = window.pane("drafts")
    assert isinstance(drafts, DraftsPage)
    drafts.update_draft(draft_id)
    select_key(drafts.drafts, draft_id)
    await wait_until(lambda: drafts.editor.draft_id == draft_id)
    patients = window.pane("patients")
    assert isinstance(patients, PatientsPage)
    patients.select_patient(LONG_PATIENT.id)
    catalog = window.pane("catalog")
    assert isinstance(catalog, CatalogPage)
    catalog.table.selectRow(0)
    store.orders.save(long_order())
    orders = window.pane("orders")
    assert isinstance(orders, OrdersPage)
    orders.whole_clinic.setChecked(True)
    orders.refresh()
    await wait_until(lambda: orders.row_of(LONG_ORDER_ID) >= 0)
    orders.detail.show_detail(store.orders.detail(LONG_ORDER_ID))  # as read, no fetch
    assert orders.detail.tests.rowCount() == len(LONG_TESTS)
    return desk


def visible(widget: QWidget, pane: QWidget) -> bool:
    """On screen in the pane (a combo box's closed list is a window of its own: not)."""
    return (
        widget.window() is pane.window()
        and widget.isVisibleTo(pane)
        and widget.width() > 0
        and widget.height() > 0
    )


def label_problem(label: QLabel) -> str | None:
    """Why the label's text is cut without a sign (None: it is not)."""
    if isinstance(label, ElidedLabel):
        if label.is_cut() and not (
            label.shown_text().endswith("…") and label.text() in label.toolTip()
        ):
            return f"{label.text()!r} cut to {label.shown_text()!r} without its tooltip"
        width = label.fontMetrics().horizontalAdvance(label.shown_text())
        if width > label.contentsRect().width():
            return f"{label.shown_text()!r} is {width} px in {label.contentsRect().width()} px"
        return None
    if not label.text() or (label.pixmap() is not None and not label.pixmap().isNull()):
        return None
    if label.wordWrap():
        needed = label.heightForWidth(label.width())
        if needed > label.height():
            return f"{label.text()!r} needs {needed} px of height, has {label.height()} px"
        return None
    needed = label.minimumSizeHint().width()
    if needed > label.width():
        return f"{label.text()!r} needs {needed} px, has {label.width()} px"
    return None


def placeholder_problem(box: QLineEdit) -> str | None:
    text = box.placeholderText()
    if not text or box.text():
        return None
    margins = box.textMargins()
    room = box.width() - margins.left() - margins.right() - 12  # frame and Qt's side margins
    if box.fontMetrics().horizontalAdvance(text) <= room or text in box.toolTip():
        return None
    return f"hint {text!r} cut without its tooltip ({room} px)"


def columns(view: QAbstractItemView) -> int:
    return view.model().columnCount() if isinstance(view, QTableView) else 1


def cell_problems(view: QAbstractItemView) -> list[str]:
    cells = view.findChild(CutCellTooltips)
    if not isinstance(cells, CutCellTooltips):
        return [f"{view.accessibleName()}: no tooltips for cut cells"]
    problems = []
    if view.textElideMode() != Qt.TextElideMode.ElideRight:
        problems.append(f"{view.accessibleName()}: cells are not elided with …")
    model = view.model()
    for row in range(min(model.rowCount(QModelIndex()), 30)):
        for column in range(columns(view)):
            index = model.index(row, column, QModelIndex())
            if view.visualRect(index).isEmpty():
                continue
            text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
            if cells.is_cut(index) and text not in (cells.tooltip(index) or ""):
                problems.append(f"{view.accessibleName()}: cell {text!r} cut, no tooltip")
    return problems


def pane_problems(pane: QWidget) -> list[str]:
    problems = []
    for label in pane.findChildren(QLabel):
        if visible(label, pane) and (problem := label_problem(label)):
            problems.append(f"label {label.accessibleName() or ''}: {problem}")
    for button in pane.findChildren(QAbstractButton):
        if visible(button, pane) and button.text() and button.width() < button.sizeHint().width():
            problems.append(f"button {button.text()!r} cut ({button.width()} px)")
    for box in pane.findChildren(QLineEdit):
        if visible(box, pane) and (problem := placeholder_problem(box)):
            problems.append(f"{box.accessibleName()}: {problem}")
    for view in pane.findChildren(QAbstractItemView):
        if visible(view, pane) and not isinstance(view, QHeaderView):  # headers: short words
            problems += cell_problems(view)
    return problems


async def test_no_text_is_cut_without_a_sign_in_the_four_panes(
    make_desk: MakeDesk, environment: Environment
) -> None:
    desk = await desk_with_long_names(make_desk, environment)
    window = desk.window
    problems = []
    checked_cut_cells = 0
    for size in SIZES:
        window.resize(*size)
        await wait_until(lambda size=size: (window.width(), window.height()) == size)
        for key in ("patients", "catalog", "drafts", "orders"):
            window.show_pane(key)
            await asyncio.sleep(0.05)  # let the pane lay out
            pane = window.pane(key)
            problems += [f"{size} {key}: {p}" for p in pane_problems(pane)]
            for view in pane.findChildren(QAbstractItemView):
                cells = view.findChild(CutCellTooltips)
                if isinstance(cells, CutCellTooltips) and visible(view, pane):
                    model = view.model()
                    checked_cut_cells += sum(
                        cells.is_cut(model.index(r, c))
                        for r in range(min(model.rowCount(QModelIndex()), 30))
                        for c in range(columns(view))
                    )
    assert problems == [], "\n".join(problems)
    assert checked_cut_cells > 0  # the long names were cut somewhere, and had their tooltips

    drafts = window.pane("drafts")
    assert isinstance(drafts, DraftsPage)
    assert drafts.editor.patient_label.text() == LONG_PATIENT.full_name


async def test_a_failed_sends_reason_is_read_whole_at_every_size(
    make_desk: MakeDesk, environment: Environment
) -> None:
    desk = await desk_with_long_names(make_desk, environment)
    workspace = desk.workspace
    assert workspace is not None
    drafts_store = workspace.store.drafts
    draft_id = drafts_store.create(patient_id=LONG_PATIENT.id)
    test = long_tests()[0]
    drafts_store.add_test(draft_id, test.id, name=test.name, price=test.price)
    now = datetime.now(UTC)
    drafts_store.update(draft_id, lambda d: d.send_started(now))
    drafts_store.update(draft_id, lambda d: d.send_failed(now, FAILURE_REASON))
    window = desk.window
    drafts = window.pane("drafts")
    assert isinstance(drafts, DraftsPage)
    drafts.update_draft(draft_id)
    select_key(drafts.drafts, draft_id)
    await wait_until(lambda: drafts.editor.draft_id == draft_id)
    window.show_pane("drafts")
    problems = []
    for size in SIZES:
        window.resize(*size)
        await wait_until(lambda size=size: (window.width(), window.height()) == size)
        await asyncio.sleep(0.05)
        problems += [f"{size}: {p}" for p in pane_problems(drafts)]
        reason = drafts.editor.failure_label
        assert reason.isVisibleTo(drafts)
        assert FAILURE_REASON in reason.text()
        assert reason.height() >= reason.heightForWidth(reason.width())  # every line shown
    assert problems == [], "\n".join(problems)
