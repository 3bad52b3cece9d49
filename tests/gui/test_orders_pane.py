"""The Orders pane against the simulator: list and filters, detail, status changes with a
notification and history, results in their own large windows, a printed order summary."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio
from fpdf import FPDF
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QGuiApplication
from PySide6.QtPdf import QPdfDocument
from PySide6.QtWidgets import QToolTip
from pytestqt.qtbot import QtBot

from rupa_desk.core.polling import PollingPolicy, PollSchedule
from rupa_desk.paths import AppPaths
from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.services.api import RupaClient
from rupa_desk.services.checkout_linking import CheckoutLinker
from rupa_desk.services.order_tracking import OrderTracker
from rupa_desk.services.store import OrderDetail, OrderFilters, OrderRow, Store
from rupa_desk.services.sync import CatalogSync
from rupa_desk.ui.components.notifier import DesktopNotifier
from rupa_desk.ui.formatting import when
from rupa_desk.ui.messages import Level, Message, MessageBridge
from rupa_desk.ui.pages.orders import OrdersPage, order_summary_html, result_state
from rupa_desk.ui.presenters.orders import OrdersPresenter
from rupa_desk.ui.widgets.file_dialogs import WaysOut
from rupa_desk.ui.widgets.keyed_table import ID_ROLE
from tests.fixtures.file_dialogs import FakeDesktop, FakePrintDialog, FakeSaveDialog, read_pdf
from tests.fixtures.orders_env import api_get, client_for
from tests.fixtures.qt import settle, unnamed_controls, wait_for_signal, wait_until
from tests.fixtures.sandbox import SandboxControl


@dataclass
class Pane:
    page: OrdersPage
    presenter: OrdersPresenter
    tracker: OrderTracker
    store: Store
    notifier: DesktopNotifier
    notifications: list[tuple[str, str]]
    messages: list[Message]
    practitioner_id: str
    save_dialog: FakeSaveDialog
    print_dialog: FakePrintDialog


@pytest.fixture
def store(app_paths: AppPaths) -> Iterator[Store]:
    with Store.open(app_paths.data_dir / "orders-test.sqlite3") as opened:
        yield opened


@pytest_asyncio.fixture
async def client(sandbox: SandboxServer) -> AsyncIterator[RupaClient]:
    async with client_for(sandbox.url) as client:
        yield client


@pytest_asyncio.fixture
async def pane(
    qtbot: QtBot, store: Store, client: RupaClient, app_paths: AppPaths
) -> AsyncIterator[Pane]:
    bridge = MessageBridge()
    messages: list[Message] = []
    bridge.message_shown.connect(messages.append)
    bridge.attach()
    notifier = DesktopNotifier(bridge, use_tray=False)
    notifications: list[tuple[str, str]] = []
    notifier.notified.connect(lambda title, text: notifications.append((title, text)))
    presenter: OrdersPresenter
    tracker = OrderTracker(
        client,
        store.orders,
        store.patients,
        CheckoutLinker(client, store.drafts, store.orders),
        PollSchedule(PollingPolicy(), clock=time.monotonic, rng=random.Random(1)),
        results_dir=app_paths.results_dir("demo", "pra_demo"),
        on_event=lambda event: presenter.on_tracking_event(event),
    )
    me = await client.me()
    presenter = OrdersPresenter(
        store.orders, tracker, notifier, bridge, practitioner_id=me.id, patients=store.patients
    )
    await tracker.refresh_list()
    save_dialog, print_dialog = FakeSaveDialog(""), FakePrintDialog(None)
    page = OrdersPage(
        presenter,
        ways_out=WaysOut(FakeDesktop(), save_dialog, print_dialog),
    )
    qtbot.addWidget(page)
    page.resize(1100, 800)
    page.show()
    await wait_until(lambda: not presenter.update_pending)  # the first refresh's update shown
    yield Pane(
        page,
        presenter,
        tracker,
        store,
        notifier,
        notifications,
        messages,
        me.id,
        save_dialog,
        print_dialog,
    )
    presenter.close()
    notifier.close()


def listed(pane: Pane) -> list[str]:
    return pane.page.model.keys()


def column(pane: Pane, index: int) -> list[str]:
    return [pane.page.cell(r, index) for r in range(pane.page.model.rowCount())]


def status_of(pane: Pane, order_id: str) -> str:
    return pane.page.cell(pane.page.row_of(order_id), 2)


async def test_my_orders_newest_first_and_the_clinic_with_a_filter(pane: Pane) -> None:
    assert pane.store.orders.unnamed_patient_ids() == []  # names came with the list refresh
    assert all(not name.startswith("pat_") for name in column(pane, 1))
    mine = listed(pane)
    everything = pane.store.orders.listing(OrderFilters())
    assert mine == [r.id for r in everything if r.practitioner_id == pane.practitioner_id]
    assert 0 < len(mine) < len(everything)
    pane.page.whole_clinic.setChecked(True)
    assert listed(pane) == [r.id for r in everything]
    dates = [r.date_submitted for r in everything]
    assert dates == sorted(dates, reverse=True)
    assert unnamed_controls(pane.page) == []


async def test_filter_by_status_and_patient_and_search(qtbot: QtBot, pane: Pane) -> None:
    page = pane.page
    page.whole_clinic.setChecked(True)
    status = page.status_filter
    status.setCurrentIndex(status.findData("Complete"))
    assert listed(pane)
    assert set(column(pane, 2)) == {"Complete"}
    status.setCurrentIndex(0)
    patient_id, name = pane.presenter.patients()[0]
    page.patient_filter.setCurrentIndex(page.patient_filter.findData(patient_id))
    assert set(column(pane, 1)) == {name}
    page.patient_filter.setCurrentIndex(0)
    qtbot.keyClicks(page.search_box, name.split()[-1])
    page.search_box.flush()
    assert listed(pane)
    assert all(name.split()[-1] in shown for shown in column(pane, 1))


async def test_a_status_change_updates_the_row_notifies_and_is_kept_in_history(
    pane: Pane, sandbox_control: SandboxControl
) -> None:
    page = pane.page
    page.whole_clinic.setChecked(True)
    order_id = next(r.id for r in pane.store.orders.listing() if r.status == "Paid")
    page.table.selectRow(page.row_of(order_id))
    await wait_until(lambda: pane.presenter.current == order_id)
    detail = page.detail
    await wait_until(lambda: detail.tests.rowCount() > 0)
    assert order_id in detail.header.toolTip()  # the reference, for a call to Rupa

    sandbox_control.advance_order(order_id)  # Paid -> In Progress
    await pane.tracker.refresh_order(order_id)
    await wait_until(lambda: status_of(pane, order_id) == "In Progress")
    [(title, text)] = pane.notifications
    assert title == "Order status changed"
    submitted = when(pane.store.orders.row(order_id).date_submitted)
    # no patient name (the OS keeps it) and no id: the order by when it was submitted
    assert text == f"The order submitted {submitted}: Paid → In Progress"
    assert pane.messages[-1].text == f"{title}: {text}"  # no tray offscreen: the message bar
    timeline = [detail.timeline.item(i).text() for i in range(detail.timeline.count())]
    assert any("In Progress (seen by Rupa Desk)" in line for line in timeline)
    assert any(line.endswith("  Paid") for line in timeline)
    statuses = [e.status for e in pane.store.orders.history(order_id)]
    assert statuses[-2:] == ["Paid", "In Progress"]


async def test_results_are_downloaded_and_shown_in_their_window(
    pane: Pane, sandbox_control: SandboxControl
) -> None:
    page = pane.page
    page.whole_clinic.setChecked(True)
    order_row = next(r for r in pane.store.orders.listing() if r.status == "Sample Received")
    order_id = order_row.id
    page.table.selectRow(page.row_of(order_id))
    await wait_until(lambda: pane.presenter.current == order_id)
    await wait_until(lambda: page.detail.tests.rowCount() > 0)
    sandbox_control.advance_order(order_id, to="Complete")
    ready = asyncio.ensure_future(wait_for_signal(pane.presenter.result_ready, within=30))
    await asyncio.sleep(0)
    await pane.tracker.refresh_order(order_id)
    (path,) = await ready
    assert path.endswith(".pdf")
    detail = page.detail

    def result_states() -> set[str]:
        return {detail.tests.item(r, 2).text() for r in range(detail.tests.rowCount())}

    await wait_until(lambda: result_states() == {"Results downloaded"})
    await wait_until(
        lambda: (
            (
                "Results ready",
                f"New results for the order submitted {when(order_row.date_submitted)}.",
            )
            in pane.notifications
        )
    )
    assert detail.result_windows is None  # no window pops up by itself
    detail.view_button.click()
    assert detail.result_windows is not None
    [shown] = detail.result_windows.open_paths
    window = detail.result_windows.window(shown)
    assert window is not None
    await wait_until(lambda: window.viewer.page_count > 0)
    assert window.viewer.page_text.startswith("Page 1 of")
    assert window.viewer.path is not None
    assert window.viewer.path.read_bytes().startswith(b"%PDF")


async def test_a_result_opens_large_in_one_window_per_file_closed_by_escape_and_sign_out(
    qtbot: QtBot, pane: Pane, client: RupaClient
) -> None:
    assert pane.store.path is not None
    await CatalogSync(client, pane.store.path, account_db=pane.store.db).run()  # test names
    page, detail = pane.page, pane.page.detail
    page.whole_clinic.setChecked(True)
    order_id = next(r.id for r in pane.store.orders.listing() if r.status == "Complete")
    page.table.selectRow(page.row_of(order_id))
    await wait_until(lambda: pane.presenter.current == order_id)
    await pane.tracker.refresh_order(order_id)  # its tests, and their results downloaded
    await wait_until(lambda: detail.view_button.isEnabled())
    await settle()
    row = pane.store.orders.row(order_id)
    first_test = pane.store.orders.ordered_tests(order_id)[0]
    assert row.patient_name
    assert first_test.name
    assert first_test.results_file
    detail.tests.selectRow(0)

    rect = detail.tests.visualItemRect(detail.tests.item(0, 0))
    qtbot.mouseClick(detail.tests.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(detail.tests.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    windows = detail.result_windows
    assert windows is not None
    assert windows.open_paths == [first_test.results_file]
    window = windows.window(first_test.results_file)
    assert window is not None
    assert window.isVisible()
    assert window.isWindow()
    assert window.windowTitle().startswith(f"{row.patient_name} · {first_test.name}")
    area = window.screen().availableGeometry()
    assert window.width() >= 0.8 * area.width()
    assert window.height() >= 0.8 * area.height()
    assert window.viewer.page_count > 0
    assert detail.findChildren(type(window.viewer)) == []  # nothing squeezed into the pane
    assert unnamed_controls(window) == []

    detail.view_button.click()  # the same file again: the same window, raised
    assert windows.open_paths == [first_test.results_file]
    assert windows.window(first_test.results_file) is window

    patient = pane.store.patients.get(row.patient_id or "")
    assert first_test.date_results_received is not None
    day = first_test.date_results_received.astimezone().date().isoformat()
    window.viewer.save_as()
    assert pane.save_dialog.suggested == [
        f"{patient.last_name} {patient.first_name} - {first_test.name} - {day}.pdf"
    ]

    window.activateWindow()
    await wait_until(window.isActiveWindow)
    assert window.viewer.view.hasFocus()  # the pages: PgUp/PgDn scroll them at once
    qtbot.keyClick(window.viewer.view, Qt.Key.Key_Escape)
    await wait_until(lambda: windows.open_paths == [])

    detail.view_button.click()
    [reopened] = [windows.window(p) for p in windows.open_paths]
    assert reopened is not None
    assert reopened.isVisible()
    pane.presenter.close()  # what sign-out does
    assert windows.open_paths == []
    assert not reopened.isVisible()  # closed (and deleted: the fixture checks none is left)


async def test_rupas_reference_of_an_order_is_copied_from_the_list_or_the_detail(
    qtbot: QtBot, pane: Pane
) -> None:
    page, detail = pane.page, pane.page.detail
    order_id = pane.store.orders.listing()[0].id
    assert not detail.copy_button.isEnabled()  # no order shown
    page.table.selectRow(page.row_of(order_id))
    await wait_until(lambda: pane.presenter.current == order_id)
    assert order_id not in detail.header.text()  # the screen shows no id ...
    assert order_id in detail.header.toolTip()  # ... but says it, and copies it whole
    assert page.copy_reference_action in page.table.actions()  # the list's context menu
    assert page.table.contextMenuPolicy() == Qt.ContextMenuPolicy.ActionsContextMenu

    QGuiApplication.clipboard().setText("")
    window = page.window()
    window.activateWindow()
    await wait_until(window.isActiveWindow)
    page.table.setFocus()
    qtbot.keyClick(page.table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == order_id
    assert QToolTip.text() == "Copied"

    QToolTip.hideText()
    QGuiApplication.clipboard().setText("")
    assert detail.copy_button.isEnabled()
    assert detail.copy_button.text() == "Copy reference"
    qtbot.mouseClick(detail.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == order_id
    assert QToolTip.text() == "Copied"


async def test_print_summary_prints_the_order_with_its_tests_and_timeline(
    pane: Pane, client: RupaClient, tmp_path: Path
) -> None:
    assert pane.store.path is not None
    await CatalogSync(client, pane.store.path, account_db=pane.store.db).run()
    page, detail = pane.page, pane.page.detail
    page.whole_clinic.setChecked(True)
    order_id = next(r.id for r in pane.store.orders.listing() if r.status == "Complete")
    page.table.selectRow(page.row_of(order_id))
    await wait_until(lambda: pane.presenter.current == order_id)
    await wait_until(lambda: order_id in detail.header.toolTip() and detail.tests.rowCount() > 0)
    await settle()  # the fresh copy from Rupa is shown
    row = pane.store.orders.row(order_id)
    tests = pane.store.orders.ordered_tests(order_id)
    timeline = [detail.timeline.item(i).text() for i in range(detail.timeline.count())]
    assert timeline
    assert all(t.name and t.lab_company for t in tests)

    printed = tmp_path / "summary.pdf"
    pane.print_dialog.output = printed
    detail.print_button.click()
    assert pane.print_dialog.asked == [1]
    patient = pane.store.patients.get(row.patient_id or "")
    assert pane.print_dialog.doc_names == [
        f"Order summary - {patient.last_name} {patient.first_name}"
    ]
    count, texts, inks = read_pdf(printed)
    assert count == 1
    assert inks[0] > 0
    text = " ".join(" ".join(texts).split())
    expected = [row.patient_name or "", "Complete", f"${row.total_price:,.2f}", order_id]
    expected += [when(row.date_submitted)]
    for test in tests:
        expected += [test.name, test.lab_company, result_state(test)]
    expected += [" ".join(line.split()) for line in timeline]
    missing = [item for item in expected if item not in text]
    assert missing == []


async def test_a_paid_orders_requisition_is_printed_and_saved_under_a_human_name(
    pane: Pane, client: RupaClient, sandbox_control: SandboxControl, tmp_path: Path
) -> None:
    assert pane.store.path is not None
    await CatalogSync(client, pane.store.path, account_db=pane.store.db).run()  # test names
    page, detail = pane.page, pane.page.detail
    order_id = sandbox_control.create_order()["id"]
    page.whole_clinic.setChecked(True)
    await pane.presenter.refresh_all()
    page.table.selectRow(page.row_of(order_id))
    await wait_until(lambda: pane.presenter.current == order_id)
    await wait_until(lambda: detail.tests.rowCount() > 0)
    await settle()
    assert not detail.requisition_button.isEnabled()  # Pending Payment: none yet
    assert "once the order is paid" in detail.requisition_button.toolTip()

    sandbox_control.advance_order(order_id)  # -> Paid
    await pane.presenter.open_order(order_id)
    await wait_until(detail.requisition_button.isEnabled)
    detail.tests.selectRow(0)
    test = next(
        t
        for t in pane.store.orders.ordered_tests(order_id)
        if t.id == detail.tests.item(0, 0).data(ID_ROLE)
    )
    row = pane.store.orders.row(order_id)
    patient = pane.store.patients.get(row.patient_id or "")
    assert row.date_submitted is not None
    day = row.date_submitted.astimezone().date().isoformat()
    name = f"{patient.last_name} {patient.first_name} - {test.name} - Requisition - {day}"

    printed = tmp_path / "printed.pdf"
    pane.print_dialog.output = printed
    detail.print_requisition_action.trigger()
    await wait_until(lambda: pane.print_dialog.asked == [1])
    assert pane.print_dialog.doc_names == [name]
    await wait_until(printed.exists)
    count, _, _ = read_pdf(printed)
    assert count == 1
    assert dark_pixels(printed) > 1000  # the form, printed as an image of the page
    windows = detail.result_windows
    assert windows is not None
    [shown] = windows.open_paths
    window = windows.window(shown)
    assert window is not None
    text = window.viewer.document.getAllText(0).text()
    assert "Requisition" in text  # what was printed is Rupa's requisition of this test
    assert "Collection instructions" in text
    assert test.id in text
    assert window.windowTitle().startswith(f"{row.patient_name} · {test.name} · Requisition")

    target = tmp_path / "saved.pdf"
    pane.save_dialog.answer = str(target)
    detail.save_requisition_action.trigger()
    await wait_until(target.exists)
    assert pane.save_dialog.suggested == [f"{name}.pdf"]
    assert target.read_bytes().startswith(b"%PDF-")
    assert windows.open_paths == [shown]  # the same window, raised

    pane.presenter.close()
    sandbox_control.set_faults(requisition_not_pdf=True)
    pane.messages.clear()
    assert await detail.show_requisition() is None
    assert "not a PDF" in pane.messages[-1].text
    assert windows.open_paths == []  # nothing shown of what is not a PDF


def test_the_summary_escapes_what_it_prints() -> None:
    row = OrderRow(
        id="ord_1",
        status="<b>Complete</b>",
        patient_id="pat_1",
        patient_name="Ada <script>alert(1)</script> & Co",
        practitioner_id=None,
        date_submitted=None,
        total_price=Decimal("12.5"),
        draft_id=None,
        results_count=0,
    )
    detail = OrderDetail(row, None, None, None, None, (), ())
    html = order_summary_html(detail, ["<i>x</i>"], printed=datetime(2026, 12, 7, tzinfo=UTC))
    assert "<script>" not in html
    assert "<b>Complete" not in html
    assert "<i>x" not in html
    assert "Ada &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html
    assert "$12.50" in html


class ModelSpy:
    """What a model told its views: resets, inserted/removed rows, repainted rows."""

    def __init__(self, page: OrdersPage) -> None:
        model = page.model
        self.resets = 0
        self.structural: list[str] = []
        self.repainted: list[int] = []
        model.modelReset.connect(self._on_model_reset)
        model.rowsInserted.connect(lambda *args: self.structural.append("inserted"))
        model.rowsRemoved.connect(lambda *args: self.structural.append("removed"))
        model.rowsMoved.connect(lambda *args: self.structural.append("moved"))
        model.dataChanged.connect(lambda top, bottom, roles: self.repainted.append(top.row()))

    def _on_model_reset(self) -> None:
        self.resets += 1


async def test_a_burst_of_status_changes_is_one_update_of_the_changed_rows_only(
    pane: Pane, sandbox_control: SandboxControl
) -> None:
    """A list refresh reports every changed order at once: the pane is updated once, only
    the changed rows are repainted (no rebuild of the table), and one notification sums
    them up."""
    page = pane.page
    page.whole_clinic.setChecked(True)
    before = {r.id: r.status for r in pane.store.orders.listing() if not r.finished}
    moving = list(before)[:5]
    assert len(moving) == 5
    for order_id in moving:
        sandbox_control.advance_order(order_id)  # one step of the lifecycle
    updates: list[object] = []
    pane.presenter.orders_changed.connect(updates.append)
    spy = ModelSpy(page)
    rows = {page.row_of(order_id) for order_id in moving}

    await pane.tracker.refresh_list()
    await wait_until(lambda: all(status_of(pane, o) != before[o] for o in moving))
    assert updates == [frozenset(moving)]
    assert spy.resets == 0
    assert spy.structural == []
    assert set(spy.repainted) == rows
    assert pane.notifications == [
        ("Order statuses changed", "5 orders changed status: see Orders.")
    ]


async def test_patient_names_fetched_later_replace_the_ids_in_the_rows(pane: Pane) -> None:
    page = pane.page
    page.whole_clinic.setChecked(True)
    pane.store.db.execute("DELETE FROM patients")  # orders placed elsewhere: names not cached
    page.refresh()
    assert any(name.startswith("pat_") for name in column(pane, 1))

    await pane.tracker.refresh_list()  # nothing new in the list; the names are fetched
    await wait_until(lambda: not any(name.startswith("pat_") for name in column(pane, 1)))


async def test_a_result_pdf_that_cannot_be_shown_is_said_through_the_message_bar(
    pane: Pane, tmp_path: Path
) -> None:
    detail = pane.page.detail
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"not a pdf")
    header = detail.header.text()
    detail.show_result(broken)
    assert pane.messages[-1].level is Level.WARNING
    assert "not a PDF" in pane.messages[-1].text
    assert detail.header.text() == header
    assert detail.result_windows is not None
    assert detail.result_windows.open_paths == []  # no empty window left open


async def test_an_updated_result_is_shown_in_its_open_window(pane: Pane, tmp_path: Path) -> None:
    detail = pane.page.detail
    path = tmp_path / "ord_1-ordts_1.pdf"
    write_pdf(path, pages=1)
    detail.show_result(path, title="Ada Lovelace · Lipid Panel")
    assert detail.result_windows is not None
    window = detail.result_windows.window(path)
    assert window is not None
    assert window.viewer.page_count == 1
    write_pdf(tmp_path / "newer.pdf", pages=2).replace(path)  # as a download replaces it
    pane.presenter.result_ready.emit(str(path))
    assert window.viewer.page_count == 2
    assert window.windowTitle().startswith("Ada Lovelace · Lipid Panel")
    pane.presenter.close()
    assert detail.result_windows.open_paths == []


def dark_pixels(path: Path) -> int:
    """The dark pixels of a PDF's first page at a readable size (thin text included)."""
    document = QPdfDocument()
    try:
        document.load(str(path))
        image = document.render(0, QSize(600, 850))
    finally:
        document.close()
    return sum(
        1
        for y in range(0, image.height(), 2)
        for x in range(0, image.width(), 2)
        if QColor.fromRgba(image.pixel(x, y)).lightness() < 160
        and QColor.fromRgba(image.pixel(x, y)).alpha() > 128
    )


def write_pdf(path: Path, *, pages: int) -> Path:
    pdf = FPDF()
    pdf.set_font("helvetica", size=14)
    for number in range(1, pages + 1):
        pdf.add_page()
        pdf.cell(text=f"Result page {number}")
    pdf.output(str(path))
    return path


def rupas_view_of(sandbox_url: str, order_id: str) -> tuple[Decimal, int, dict[str, str]]:
    """What the simulator itself says of an order, read over its API without the app:
    the total, how many ordered tests have a result PDF, and each test's lab company."""
    document = api_get(sandbox_url, f"/orders/{order_id}", include="ordered_tests")
    total = Decimal(str(document["data"]["attributes"]["total_price"]))
    ordered = [i for i in document.get("included", []) if i["type"] == "ordered_test"]
    with_results = sum(1 for t in ordered if t["attributes"]["results_pdf"])
    companies: dict[str, str] = {}
    for test in ordered:
        lab_test_id = test["relationships"]["lab_test"]["data"]["id"]
        lab_test = api_get(sandbox_url, f"/lab_tests/{lab_test_id}", include="lab_company")
        [company] = [i for i in lab_test["included"] if i["type"] == "lab_company"]
        companies[lab_test["data"]["attributes"]["name"]] = company["attributes"]["name"]
    return total, with_results, companies


async def check_shown_as_rupa_says(pane: Pane, sandbox_url: str, order_id: str) -> int:
    """Open an order; its Total and Results cells, and the Lab company of each ordered test
    in its detail, are what the simulator says. Returns how many tests have results."""
    total, with_results, companies = rupas_view_of(sandbox_url, order_id)
    assert companies
    page = pane.page
    detail = page.detail
    page.table.selectRow(page.row_of(order_id))
    await wait_until(lambda: pane.presenter.current == order_id)
    await wait_until(lambda: order_id in detail.header.toolTip())
    await wait_until(lambda: detail.tests.rowCount() == len(companies))
    assert page.cell(page.row_of(order_id), 3) == f"${total:,.2f}"
    assert f"${total:,.2f}" in detail.header.text()
    results = str(with_results) if with_results else ""
    await wait_until(lambda: page.cell(page.row_of(order_id), 4) == results)
    assert detail.tests.horizontalHeaderItem(1).text() == "Lab company"
    shown = {
        detail.tests.item(r, 0).text(): detail.tests.item(r, 1).text()
        for r in range(detail.tests.rowCount())
    }
    assert shown == companies
    return with_results


async def test_the_total_results_and_lab_companies_shown_are_rupas(
    pane: Pane, sandbox: SandboxServer, client: RupaClient
) -> None:
    """The list's Total and Results columns and the detail's Lab company column, for a
    completed order and a paid one (no results yet), against what the simulator says."""
    assert pane.store.path is not None
    sync = CatalogSync(client, pane.store.path, account_db=pane.store.db)
    await sync.run()  # lab companies come from the catalog
    pane.page.whole_clinic.setChecked(True)
    listing = pane.store.orders.listing()
    complete = next(r.id for r in listing if r.status == "Complete")
    paid = next(r.id for r in listing if r.status == "Paid")
    assert await check_shown_as_rupa_says(pane, sandbox.url, complete) > 0
    assert await check_shown_as_rupa_says(pane, sandbox.url, paid) == 0
