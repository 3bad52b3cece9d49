"""File to Epic on an order's detail: the result PDF of a linked patient is filed to her Epic
chart once (checked in the Epic simulator's own data), and what stands in the way is said.
Automatic filing: a result that arrives is filed by itself; a failure shows on the order and
is tried again, never filing twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest_asyncio
from pytestqt.qtbot import QtBot

from rupa_desk.core.models import Order, OrderedTest
from rupa_desk.epic_sandbox.server import EpicServer
from rupa_desk.paths import AppPaths
from rupa_desk.services.epic.client import EpicClient
from rupa_desk.services.epic.connection import EpicConnection
from rupa_desk.services.epic.filing import ORDERED_TEST_SYSTEM, ResultFiling
from rupa_desk.services.secrets import MemorySecretStore
from rupa_desk.services.store import Store
from rupa_desk.settings import EpicSettings
from rupa_desk.ui.components.epic_filing import EpicFilingBar
from rupa_desk.ui.messages import Message, MessageBridge
from rupa_desk.ui.presenters.epic_filing import NOT_LINKED, TRIED_AGAIN, EpicFilingPresenter
from rupa_desk.ui.tasks import BackgroundTasks
from tests.fixtures.epic import PlayedEpicBrowser, validated
from tests.fixtures.qt import settle, wait_until

CAMILA = "erXuFYUfucBZaryVksYEcMg3"
RECEIVED = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@dataclass
class Filing:
    bar: EpicFilingBar
    store: Store
    epic: EpicServer
    messages: list[Message]
    pdf: Path
    service: ResultFiling
    bridge: MessageBridge
    presenter: EpicFilingPresenter


@pytest_asyncio.fixture
async def filing(qtbot: QtBot, app_paths: AppPaths, epic: EpicServer) -> AsyncIterator[Filing]:
    store = Store.open(app_paths.data_dir / "filing-test.sqlite3")
    bridge = MessageBridge()
    messages: list[Message] = []
    bridge.message_shown.connect(messages.append)
    bridge.attach()
    settings = EpicSettings(epic.fhir_base, "rupa-desk-epic-demo")
    connection = EpicConnection(settings, MemorySecretStore(), opener=PlayedEpicBrowser())
    client = EpicClient(settings, connection)
    await connection.connect(timeout_s=30)
    service = ResultFiling(client, store.epic_links)
    presenter = EpicFilingPresenter(service, store.epic_links, bridge)
    bar = EpicFilingBar(presenter)
    qtbot.addWidget(bar)
    bar.show()
    test = OrderedTest(
        id="ordts_CAM0001",
        lab_test_id="labts_0000001",
        results_pdf="/ordered_tests/ordts_CAM0001/results.pdf",
        date_results_received_from_lab=RECEIVED,
    )
    store.orders.save(
        Order(
            id="ord_CAM0001",
            status="Complete",
            patient_id="pat_Cam0001",
            total_price=Decimal("99.00"),
            date_submitted=RECEIVED,
            ordered_tests=(test,),
        )
    )
    pdf = app_paths.data_dir / "Lopez Camila - Lipid Panel - 2026-12-07.pdf"
    pdf.write_bytes(b"%PDF-1.4 Camila's lipid panel")
    store.orders.set_results_file(test.id, pdf, RECEIVED)
    try:
        yield Filing(bar, store, epic, messages, pdf, service, bridge, presenter)
    finally:
        presenter.close()
        await client.aclose()
        await connection.aclose()
        store.close()


def filed_documents(epic: EpicServer) -> list[dict[str, object]]:
    with epic.epic.lock:
        return list(epic.epic.documents.values())


async def test_a_linked_patients_result_is_filed_once(filing: Filing) -> None:
    filing.store.epic_links.link("pat_Cam0001", CAMILA, "203713")
    detail = filing.store.orders.detail("ord_CAM0001")
    filing.bar.show_detail(detail)
    assert filing.bar.state.text() == "The results are not filed to the Epic chart yet."
    assert filing.bar.file_button.isEnabled()
    filing.bar.file_button.click()
    await wait_until(lambda: filing.bar.state.text() == "The results are filed to the Epic chart.")
    assert not filing.bar.file_button.isEnabled()  # never twice from here either
    [document] = filed_documents(filing.epic)
    model = validated(document)
    assert model.subject.reference == f"Patient/{CAMILA}"
    assert model.identifier[0].system == ORDERED_TEST_SYSTEM
    assert model.identifier[0].value == "ordts_CAM0001"
    assert model.content[0].attachment.title == filing.pdf.name
    assert any("filed to the patient's Epic chart" in m.text for m in filing.messages)

    # asked again (a second window, a keyboard user): a filed result costs Epic nothing
    asked = len(filing.epic.epic.requests)
    assert not await filing.presenter.file(detail)
    assert len(filing.epic.epic.requests) == asked
    assert len(filed_documents(filing.epic)) == 1
    await settle()


async def test_an_unlinked_patient_is_not_filed_and_says_how_to_link(filing: Filing) -> None:
    filing.bar.show_detail(filing.store.orders.detail("ord_CAM0001"))
    assert filing.bar.state.text() == NOT_LINKED
    assert not filing.bar.file_button.isEnabled()
    assert filed_documents(filing.epic) == []


async def test_an_order_without_results_shows_nothing_about_epic(filing: Filing) -> None:
    filing.store.orders.save(
        Order(id="ord_NEW0001", status="Paid", patient_id="pat_Cam0001", date_submitted=RECEIVED)
    )
    filing.bar.show_detail(filing.store.orders.detail("ord_NEW0001"))
    assert filing.bar.isHidden()


def automatic_filing(
    qtbot: QtBot, filing: Filing, tasks: BackgroundTasks, *, retry_interval_s: float = 600.0
) -> tuple[EpicFilingPresenter, EpicFilingBar]:
    presenter = EpicFilingPresenter(
        filing.service,
        filing.store.epic_links,
        filing.bridge,
        orders=filing.store.orders,
        tasks=tasks,
        automatic=True,
        retry_interval_s=retry_interval_s,
    )
    bar = EpicFilingBar(presenter)
    qtbot.addWidget(bar)
    bar.show()
    bar.show_detail(filing.store.orders.detail("ord_CAM0001"))
    return presenter, bar


def creates(epic: EpicServer) -> int:
    with epic.epic.lock:
        return sum(1 for method, _ in epic.epic.requests if method == "POST")


async def test_automatic_filing_files_an_arrived_result_without_a_click(
    qtbot: QtBot, filing: Filing
) -> None:
    failures: list[tuple[str, BaseException]] = []
    tasks = BackgroundTasks(lambda name, exc: failures.append((name, exc)))
    filing.store.epic_links.link("pat_Cam0001", CAMILA, "203713")
    presenter, bar = automatic_filing(qtbot, filing, tasks)
    try:
        presenter.results_arrived("ord_CAM0001")
        await wait_until(lambda: bar.state.text() == "The results are filed to the Epic chart.")
        presenter.results_arrived("ord_CAM0001")  # the same result said again: not refiled
        await wait_until(lambda: not tasks.running)
        [document] = filed_documents(filing.epic)
        assert validated(document).identifier[0].value == "ordts_CAM0001"
        assert creates(filing.epic) == 1
        assert failures == []
    finally:
        presenter.close()
    await settle()


async def test_a_failed_automatic_filing_shows_on_the_order_and_is_retried_once(
    qtbot: QtBot, filing: Filing
) -> None:
    failures: list[tuple[str, BaseException]] = []
    tasks = BackgroundTasks(lambda name, exc: failures.append((name, exc)))
    filing.store.epic_links.link("pat_Cam0001", CAMILA, "203713")
    presenter, bar = automatic_filing(qtbot, filing, tasks)
    try:
        with filing.epic.epic.lock:
            filing.epic.epic.faults.fail_status = [400]  # Epic refuses the first request
        presenter.results_arrived("ord_CAM0001")
        await wait_until(lambda: bar.state.text().startswith("Filing to Epic did not work"))
        assert bar.state.text().endswith(TRIED_AGAIN)
        assert bar.file_button.isEnabled()  # or now, by hand
        assert filed_documents(filing.epic) == []
        warned = [m for m in filing.messages if "filed to Epic automatically" in m.text]
        assert len(warned) == 1

        presenter.set_retry_interval(0.05)  # the next poll
        await wait_until(lambda: bar.state.text() == "The results are filed to the Epic chart.")
        presenter.results_arrived("ord_CAM0001")  # and the next arrival: nothing to do
        await wait_until(lambda: not tasks.running)
        await asyncio.sleep(0.2)  # a few more polls
        assert len(filed_documents(filing.epic)) == 1
        assert creates(filing.epic) == 1
        assert filing.store.epic_links.orders_to_retry() == []
        assert len([m for m in filing.messages if "automatically" in m.text]) == 1
        assert failures == []
    finally:
        presenter.close()
        await tasks.cancel_all()
    await settle()


async def test_automatic_filing_leaves_an_unlinked_patient_and_an_off_setting_alone(
    qtbot: QtBot, filing: Filing
) -> None:
    tasks = BackgroundTasks(lambda name, exc: None)
    presenter, bar = automatic_filing(qtbot, filing, tasks)
    try:
        assert await presenter.file_automatically("ord_CAM0001") == 0  # not linked
        assert bar.state.text() == NOT_LINKED
        filing.store.epic_links.link("pat_Cam0001", CAMILA, "203713")
        presenter.set_automatic(False)
        presenter.results_arrived("ord_CAM0001")
        assert not tasks.running
        assert filed_documents(filing.epic) == []
        assert filing.messages == []
    finally:
        presenter.close()
    await settle()
