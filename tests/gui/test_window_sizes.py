"""At the smallest window size every pane is still usable: the sidebar names each pane whole,
the catalog's search box keeps a useful width, no button is cut, and a status message is not
hidden behind the status bar's fields."""

from __future__ import annotations

import asyncio

import pytest
from PySide6.QtWidgets import QAbstractButton, QLineEdit, QListWidget, QWidget

from rupa_desk.core.models import Patient
from rupa_desk.desk import Desk
from rupa_desk.settings import Environment, production
from rupa_desk.ui.main_window import MINIMUM_SIZE
from rupa_desk.ui.pages.catalog import CatalogPage
from tests.fixtures.catalog_data import iter_tests, load_catalog, synthetic_companies
from tests.fixtures.desk import MakeDesk, signed_in_desk
from tests.fixtures.qt import wait_until

MESSAGE = "The draft was sent to Rupa. Check it out when you are ready."


@pytest.fixture
def environment() -> Environment:
    return production("desk-client")


async def signed_in_with_data(make_desk: MakeDesk, environment: Environment) -> Desk:
    desk = await signed_in_desk(make_desk, environment, download=True)
    workspace = desk.workspace
    assert workspace is not None
    load_catalog(workspace.store, synthetic_companies(), iter_tests(200))
    workspace.store.patients.upsert(
        [
            Patient(f"pat_{n:07d}", f"First{n}", f"Last{n}", f"first.last{n}@example.com")
            for n in range(20)
        ]
    )
    await workspace.catalog.refresh()
    await workspace.patients.search("")
    return desk


def cut_buttons(pane: QWidget) -> list[str]:
    return [
        f"{type(b).__name__}({b.accessibleName() or b.text()})"
        for b in pane.findChildren(QAbstractButton)
        if b.isVisible() and b.text() and b.width() < b.sizeHint().width()
    ]


async def test_every_pane_is_usable_at_the_minimum_size(
    make_desk: MakeDesk, environment: Environment
) -> None:
    desk = await signed_in_with_data(make_desk, environment)
    window = desk.window
    assert (window.minimumWidth(), window.minimumHeight()) == MINIMUM_SIZE
    window.resize(*MINIMUM_SIZE)
    await wait_until(lambda: (window.width(), window.height()) == MINIMUM_SIZE)

    sidebar = window.findChild(QListWidget, None)
    assert sidebar is not None
    assert sidebar.accessibleName() == "Panes"
    for row in range(sidebar.count()):
        item = sidebar.item(row)
        needed = sidebar.fontMetrics().horizontalAdvance(item.text())
        assert sidebar.visualItemRect(item).width() >= needed, item.text()
        assert sidebar.viewport().width() >= needed, item.text()

    problems = []
    for key in window.pane_keys:
        window.show_pane(key)
        await asyncio.sleep(0.05)  # let the pane lay out
        problems += [f"{key}: {b}" for b in cut_buttons(window.pane(key))]
        searches = [
            box
            for box in window.pane(key).findChildren(QLineEdit)
            if box.isVisible() and "search" in box.accessibleName().casefold()
        ]
        problems += [
            f"{key}: {b.accessibleName()} {b.width()} px" for b in searches if b.width() < 150
        ]
    assert problems == []

    catalog = window.pane("catalog")
    assert isinstance(catalog, CatalogPage)
    assert catalog.search_box.width() >= 300

    desk.bridge.info(MESSAGE)
    bar = desk.status_bar
    needed = bar.fontMetrics().horizontalAdvance(MESSAGE)
    assert bar.currentMessage() == MESSAGE

    def room() -> int:
        fields = [w for w in bar.findChildren(QWidget) if w.accessibleName() and w.isVisible()]
        return min(w.geometry().left() for w in fields)

    await wait_until(lambda: room() >= needed)
