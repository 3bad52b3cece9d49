"""The Patients pane with Rupa out of reach (or slow): a patient's orders saved on this computer
are shown, and said to be that; and the list gives the email column the room it needs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio
from pytestqt.qtbot import QtBot

from rupa_desk.core.models import Order, Page, Patient
from rupa_desk.paths import AppPaths
from rupa_desk.services.errors import Offline
from rupa_desk.services.listings import Listing
from rupa_desk.services.store import Store
from rupa_desk.ui.messages import MessageBridge
from rupa_desk.ui.pages.patients import PatientsPage
from rupa_desk.ui.presenters.connectivity import Connectivity
from rupa_desk.ui.presenters.patients import LOADING_ORDERS, PatientsPresenter
from tests.fixtures.qt import wait_until

ADA = Patient(
    id="pat_Ada0001",
    first_name="Ada",
    last_name="Lovelace",
    email="ada.augusta.king.countess.of.lovelace@analytical-engine.example.com",
    birthday=date(1815, 12, 10),
)


def an_order(order_id: str, status: str, day: int) -> Order:
    return Order(
        id=order_id,
        status=status,
        patient_id=ADA.id,
        total_price=Decimal("120.00"),
        date_submitted=datetime(2024, 6, day, 9, 0, tzinfo=UTC),
    )


class Rupa:
    """Rupa as the presenter sees it: offline, or answering when `answer` is set."""

    def __init__(self) -> None:
        self.offline = True
        self.answer = asyncio.Event()
        self.orders: tuple[Order, ...] = ()

    async def iterate(self, listing: Listing[Any]) -> AsyncIterator[Patient]:
        raise Offline()
        yield ADA  # an async generator

    async def create_patient(self, *args: Any, **kwargs: Any) -> tuple[Patient, bool]:
        raise Offline()

    async def first_page(self, listing: Listing[Any]) -> Page[Order]:
        assert listing.resource_type == "order"
        if self.offline:
            raise Offline()
        await self.answer.wait()
        return Page(self.orders, None)


@dataclass
class Pane:
    page: PatientsPage
    presenter: PatientsPresenter
    rupa: Rupa


@pytest.fixture
def store(app_paths: AppPaths) -> Iterator[Store]:
    with Store.open(app_paths.data_dir / "patients-offline.sqlite3") as opened:
        opened.patients.upsert([ADA])
        opened.orders.save(an_order("ord_Old0001", "Complete", 3))
        opened.orders.save(an_order("ord_New0002", "In Progress", 12))
        yield opened


@pytest_asyncio.fixture
async def pane(qtbot: QtBot, store: Store) -> AsyncIterator[Pane]:
    rupa = Rupa()
    presenter = PatientsPresenter(
        store.patients, store.drafts, store.patient_forms, rupa, MessageBridge(), Connectivity()
    )
    page = PatientsPage(presenter, saved_orders=store.orders)
    qtbot.addWidget(page)
    page.resize(1000, 700)
    page.show()
    await presenter.search("")
    yield Pane(page, presenter, rupa)
    await presenter.close()


def shown_orders(pane: Pane) -> list[str]:
    orders = pane.page.detail.orders
    return [orders.item(row).text() for row in range(orders.count())]


async def test_offline_the_detail_shows_the_orders_saved_on_this_computer(pane: Pane) -> None:
    pane.page.select_patient(ADA.id)
    await wait_until(
        lambda: (
            pane.page.detail.detail is not None
            and pane.page.detail.detail.orders_problem not in ("", LOADING_ORDERS)
        )
    )
    assert shown_orders(pane) == [
        "2024-06-12 · In Progress · $120.00",
        "2024-06-03 · Complete · $120.00",
    ]
    label = pane.page.detail.orders_label
    assert label.text().startswith("Orders saved on this computer (2)")
    assert "may be out of date" in label.text()
    assert "cannot be reached" in label.toolTip()


async def test_while_rupa_answers_the_saved_orders_show_then_rupas(pane: Pane) -> None:
    pane.rupa.offline = False
    pane.rupa.orders = (an_order("ord_New0002", "Complete", 12),)
    pane.page.select_patient(ADA.id)
    await wait_until(lambda: len(shown_orders(pane)) == 2)
    assert "loading the latest from Rupa" in pane.page.detail.orders_label.text()

    pane.rupa.answer.set()
    await wait_until(lambda: pane.page.detail.orders_label.text() == "Orders on Rupa (1)")
    assert shown_orders(pane) == ["2024-06-12 · Complete · $120.00"]


async def test_the_email_column_shows_whole_emails(pane: Pane) -> None:
    table = pane.page.table
    email_width = table.fontMetrics().horizontalAdvance(ADA.email)
    assert table.columnWidth(1) >= email_width
    assert table.columnWidth(0) >= table.fontMetrics().horizontalAdvance("Lovelace, Ada")
