"""Result values in the Orders pane: the table beside the PDF (analyte, value, units, range,
flag chips with words, status), corrected values saying so, and notifications that name the
order and how many values are flagged, never the patient nor a value."""

from __future__ import annotations

import csv
import random
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from pytestqt.qtbot import QtBot

from rupa_desk.core.hl7_results import COLUMNS
from rupa_desk.core.polling import PollingPolicy, PollSchedule
from rupa_desk.paths import AppPaths
from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.services.api import RupaClient
from rupa_desk.services.checkout_linking import CheckoutLinker
from rupa_desk.services.order_tracking import OrderTracker
from rupa_desk.services.store import Store
from rupa_desk.ui.components.notifier import DesktopNotifier
from rupa_desk.ui.components.results_table import FLAG, STATUS
from rupa_desk.ui.formatting import when
from rupa_desk.ui.messages import MessageBridge
from rupa_desk.ui.pages.orders import OrdersPage
from rupa_desk.ui.presenters.orders import OrdersPresenter
from rupa_desk.ui.theme import Tone
from rupa_desk.ui.widgets.file_dialogs import WaysOut
from rupa_desk.ui.widgets.keyed_table import CHIP_ROLE
from tests.fixtures.file_dialogs import FakeDesktop, FakePrintDialog, FakeSaveDialog, read_pdf
from tests.fixtures.orders_env import client_for
from tests.fixtures.qt import wait_until
from tests.fixtures.sandbox import SandboxControl


@dataclass
class Pane:
    page: OrdersPage
    presenter: OrdersPresenter
    tracker: OrderTracker
    store: Store
    notifications: list[tuple[str, str]]
    save_dialog: FakeSaveDialog
    print_dialog: FakePrintDialog


@pytest.fixture
def store(app_paths: AppPaths) -> Iterator[Store]:
    with Store.open(app_paths.data_dir / "values-test.sqlite3") as opened:
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
        lab_results=store.lab_results,
    )
    me = await client.me()
    presenter = OrdersPresenter(
        store.orders,
        tracker,
        notifier,
        bridge,
        practitioner_id=me.id,
        patients=store.patients,
        lab_results=store.lab_results,
    )
    save_dialog, print_dialog = FakeSaveDialog(""), FakePrintDialog(None)
    page = OrdersPage(presenter, ways_out=WaysOut(FakeDesktop(), save_dialog, print_dialog))
    qtbot.addWidget(page)
    page.resize(1100, 900)
    page.show()
    yield Pane(page, presenter, tracker, store, notifications, save_dialog, print_dialog)
    presenter.close()
    notifier.close()


def shown_rows(pane: Pane) -> list[tuple[str, ...]]:
    table = pane.page.detail.results
    return [
        tuple(table.cell(r, c) for c in range(len(COLUMNS))) for r in range(table.table.rowCount())
    ]


async def test_the_values_of_the_selected_test_are_shown_with_flag_chips_in_words(
    pane: Pane, sandbox_control: SandboxControl
) -> None:
    order_id = sandbox_control.create_order(status="Complete")["id"]
    await pane.tracker.refresh_list()
    await pane.presenter.open_order(order_id)
    detail = pane.page.detail
    await wait_until(lambda: detail.tests.rowCount() == 1)
    [test] = pane.store.orders.ordered_tests(order_id)
    results = pane.store.lab_results.results(test.id)
    assert results is not None
    expected = [tuple(c.replace("\n", " / ") for c in r.cells()) for r in results.rows]
    await wait_until(lambda: shown_rows(pane) == expected)
    assert detail.results.summary.text() == "Final results."
    headers = [detail.results.table.horizontalHeaderItem(c).text() for c in range(len(COLUMNS))]
    assert headers == ["Analyte", "Value", "Units", "Range", "Flag", "Status"]
    flagged = [i for i, r in enumerate(results.rows) if r.flag_codes]
    assert flagged, "the seeded order has flagged values"
    for index in range(len(results.rows)):
        tone = detail.results.table.item(index, FLAG).data(CHIP_ROLE)
        if index in flagged:
            assert tone in (Tone.WARNING, Tone.DANGER)
            assert detail.results.cell(index, FLAG) in {
                "High", "Low", "Critically high", "Critically low", "Abnormal",
            } or "," in detail.results.cell(index, FLAG)  # fmt: skip
        else:
            assert tone is None
            assert detail.results.cell(index, FLAG) == ""

    abnormal = sum(1 for r in results.rows if r.flag_codes)
    submitted = when(pane.store.orders.row(order_id).date_submitted)
    await wait_until(lambda: any(title == "Result values" for title, _ in pane.notifications))
    [text] = [text for title, text in pane.notifications if title == "Result values"]
    assert text == (
        f"The order submitted {submitted}: result values came in, {abnormal} flagged by the lab."
    )
    patient = pane.store.orders.row(order_id).patient_name or ""
    assert patient
    assert patient.split()[0] not in text
    assert not any(r.value in text.split() for r in results.rows if len(r.value) > 2)


async def test_pending_values_say_so_and_a_correction_is_marked(
    pane: Pane, sandbox_control: SandboxControl
) -> None:
    order_id = sandbox_control.create_order(status="Partial Results")["id"]
    await pane.tracker.refresh_list()
    await pane.presenter.open_order(order_id)
    detail = pane.page.detail
    await wait_until(lambda: "still to come" in detail.results.summary.text())
    assert "Pending" in {row[1] for row in shown_rows(pane)}
    assert detail.results.summary.text().startswith("Preliminary results")

    sandbox_control.advance_order(order_id, to="Complete")
    [test] = pane.store.orders.ordered_tests(order_id)
    sandbox_control.correct_results(test.id)
    await pane.presenter.open_order(order_id)
    await wait_until(lambda: "corrected" in detail.results.summary.text())
    [corrected] = [i for i, row in enumerate(shown_rows(pane)) if row[STATUS] == "Corrected"]
    assert detail.results.table.item(corrected, STATUS).data(CHIP_ROLE) is Tone.INFO
    assert "previously reported" in detail.results.table.item(corrected, 0).toolTip()


async def test_the_order_s_values_print_and_export_as_csv(
    pane: Pane, sandbox_control: SandboxControl, tmp_path: Path
) -> None:
    order_id = sandbox_control.create_order(status="Complete")["id"]
    await pane.tracker.refresh_list()
    await pane.presenter.open_order(order_id)
    results_view = pane.page.detail.results
    await wait_until(results_view.export_button.isEnabled)
    [test] = pane.store.orders.ordered_tests(order_id)
    results = pane.store.lab_results.results(test.id)
    assert results is not None
    patient = pane.store.orders.row(order_id).patient_name or ""

    exported = tmp_path / "values.csv"
    pane.save_dialog.answer = str(exported)
    results_view.export_button.click()
    assert pane.save_dialog.suggested[-1].endswith(".csv")
    with exported.open(encoding="utf-8-sig", newline="") as file:
        lines = list(csv.reader(file))
    assert lines[0] == ["Patient", "Order", "Test", *COLUMNS, "Comments"]
    assert [line[3:9] for line in lines[1:]] == [list(r.cells()) for r in results.rows]
    assert {line[0] for line in lines[1:]} == {patient}

    printed = tmp_path / "values.pdf"
    pane.print_dialog.output = printed
    results_view.print_button.click()
    pages, texts, inks = read_pdf(printed)
    text = " ".join(" ".join(t.split()) for t in texts)
    assert pages >= 1
    assert all(inks)
    assert "Results summary" in text
    assert patient in text
    flagged = [r for r in results.rows if r.flags]
    assert flagged
    assert flagged[0].flags[0] in text
    assert all(r.analyte in text for r in results.rows[:5])
