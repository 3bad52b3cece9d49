"""The Catalog pane: type-ahead search, filters, lazy results, details, add to draft, sync."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from rupa_desk.paths import AppPaths
from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.services.store import CatalogFilters, SearchCursor, SearchPage, Store
from rupa_desk.services.sync import CatalogSync
from rupa_desk.ui.components.catalog_model import HIT_ROLE, NAME, CatalogResultsModel
from rupa_desk.ui.messages import Level, Message, MessageBridge
from rupa_desk.ui.pages.catalog import CatalogPage
from rupa_desk.ui.presenters.catalog import CatalogPresenter, CatalogQuery
from rupa_desk.ui.presenters.connectivity import Connectivity
from rupa_desk.ui.widgets.highlight_delegate import HIGHLIGHT_ROLE
from tests.fixtures.catalog_data import iter_tests, load_catalog, synthetic_companies
from tests.fixtures.catalog_sources import OfflineSource, StalledSource
from tests.fixtures.catalog_sync import simulator_client
from tests.fixtures.drafts_env import drafts_env
from tests.fixtures.qt import settle, unnamed_controls, wait_for_signal, wait_until
from tests.fixtures.sandbox import SandboxControl

CATALOG_SIZE = 2000


@dataclass
class Pane:
    page: CatalogPage
    presenter: CatalogPresenter
    store: Store
    messages: list[Message]
    connectivity: Connectivity
    sync: CatalogSync


@pytest.fixture
def store(app_paths: AppPaths) -> Iterator[Store]:
    with Store.open(app_paths.data_dir / "catalog-test.sqlite3") as opened:
        yield opened


def build_pane(qtbot: QtBot, store: Store, source: Any) -> Pane:
    assert store.path is not None
    bridge = MessageBridge()
    messages: list[Message] = []
    bridge.message_shown.connect(messages.append)
    bridge.attach()
    connectivity = Connectivity()
    sync = CatalogSync(source, store.path, account_db=store.db)
    presenter = CatalogPresenter(
        store.catalog,
        sync,
        drafts_env(store, AppPaths.under(store.path.parent / "drafts"), start=False).presenter,
        bridge,
        connectivity,
    )
    page = CatalogPage(presenter)
    qtbot.addWidget(page)
    page.resize(1000, 600)
    page.show()
    return Pane(page, presenter, store, messages, connectivity, sync)


@pytest_asyncio.fixture
async def pane(qtbot: QtBot, store: Store) -> AsyncIterator[Pane]:
    load_catalog(store, synthetic_companies(), iter_tests(CATALOG_SIZE))
    built = build_pane(qtbot, store, OfflineSource())
    await built.presenter.refresh()
    yield built
    await built.presenter.close()


def shown(pane: Pane) -> CatalogQuery:
    query = pane.presenter.shown_query
    assert query is not None
    return query


def names(pane: Pane) -> list[str]:
    model = pane.presenter.model
    return [model.hit(row).name for row in range(model.rowCount())]


async def test_typing_searches_and_highlights_the_match(qtbot: QtBot, pane: Pane) -> None:
    qtbot.keyClicks(pane.page.search_box, "a1c")
    await wait_until(lambda: shown(pane).text == "a1c")
    await wait_until(lambda: names(pane) and "A1c" in names(pane)[0])
    model = pane.presenter.model
    top = model.index(0, NAME)
    spans = top.data(HIGHLIGHT_ROLE)
    name = top.data(Qt.ItemDataRole.DisplayRole)
    assert spans
    assert name[spans[0][0] : spans[0][1]].casefold() == "a1c"
    assert not pane.page.grab().isNull()  # the highlight delegate paints


async def test_keys_typed_while_a_search_runs_lead_to_one_search_for_the_final_text(
    qtbot: QtBot, pane: Pane
) -> None:
    results: list[str] = []
    pane.presenter.results_changed.connect(lambda query: results.append(query.text))
    # Seven keys before the loop runs again: the first key's search has not ended when the
    # other six arrive.
    qtbot.keyClicks(pane.page.search_box, "vitamin")
    await wait_until(lambda: shown(pane).text == "vitamin")
    await settle()
    assert results == ["v", "vitamin"]  # the first key at once, then one search for the rest
    assert shown(pane).text == "vitamin"  # no stale results after the final ones
    assert "vitamin" in names(pane)[0].casefold()


async def test_a_newer_search_cancels_the_older_one(pane: Pane) -> None:
    results: list[str] = []
    pane.presenter.results_changed.connect(lambda query: results.append(query.text))
    older = asyncio.ensure_future(pane.presenter.search("vitamin"))
    newer = asyncio.ensure_future(pane.presenter.search("cholesterol"))
    await asyncio.gather(older, newer)
    assert results == ["cholesterol"]  # the older search never reached the screen
    assert shown(pane).text == "cholesterol"
    assert names(pane)
    assert all("vitamin" not in n.casefold() for n in names(pane)[:5])


async def test_results_load_lazily_as_the_view_scrolls(pane: Pane) -> None:
    model = pane.presenter.model
    assert 0 < model.rowCount() < CATALOG_SIZE
    assert model.canFetchMore()
    first = model.rowCount()
    pane.page.table.scrollToBottom()
    await wait_until(lambda: model.rowCount() > first)
    assert model.rowCount() < CATALOG_SIZE
    assert "+ tests match" in pane.page.summary.text()


async def test_scrolling_to_the_end_lists_every_match_once_in_order(pane: Pane) -> None:
    await pane.presenter.search("a")
    model = pane.presenter.model
    pages = 1
    while model.canFetchMore():
        model.fetchMore()
        pages += 1
    everything = pane.store.catalog.search("a", limit=CATALOG_SIZE)
    assert not everything.has_more
    assert pages > 3
    assert [model.hit(row).id for row in range(model.rowCount())] == [
        hit.id for hit in everything.hits
    ]
    assert not model.has_more


class RecordingPages:
    """A page source that answers from the catalog and records the cursors it was given."""

    def __init__(self, store: Store, text: str) -> None:
        self._store = store
        self._text = text
        self.cursors: list[SearchCursor] = []

    def __call__(self, after: SearchCursor) -> SearchPage:
        self.cursors.append(after)
        return self._store.catalog.search(self._text, after=after, limit=20)


async def test_the_model_continues_each_page_from_the_cursor_of_the_last(pane: Pane) -> None:
    model = CatalogResultsModel()
    first = pane.store.catalog.search("me", limit=20)
    source = RecordingPages(pane.store, "me")
    model.reset_results(first, source)
    model.fetchMore()
    assert model.has_more
    model.fetchMore()
    assert source.cursors[0] == first.next_cursor
    assert source.cursors[1].position == 40
    assert model.rowCount() == 60
    expected = pane.store.catalog.search("me", limit=60).hits
    assert [model.hit(row) for row in range(60)] == list(expected)


async def test_filters_narrow_the_results(pane: Pane) -> None:
    page = pane.page
    page.company.setCurrentIndex(2)
    company_id = page.company.currentData()
    await wait_until(lambda: shown(pane).filters.lab_company_id == company_id)
    model = pane.presenter.model
    assert model.rowCount()
    assert {model.hit(r).lab_company_id for r in range(model.rowCount())} == {company_id}

    page.sample_type.setCurrentIndex(page.sample_type.findData("Urine"))
    await wait_until(lambda: shown(pane).filters.sample_type == "Urine")
    assert all("Urine" in model.hit(r).sample_types for r in range(model.rowCount()))

    page.price_min.setValue(100)
    page.price_max.setValue(300)
    await wait_until(lambda: shown(pane).filters.price_max == Decimal(300))
    prices = [model.hit(r).price for r in range(model.rowCount())]
    assert all(p is not None and Decimal(100) <= p <= Decimal(300) for p in prices)

    page.company.setCurrentIndex(0)
    page.sample_type.setCurrentIndex(0)
    page.price_min.setValue(0)
    page.price_max.setValue(0)
    await wait_until(lambda: shown(pane).filters == CatalogFilters())


async def test_selecting_a_result_shows_its_details(pane: Pane) -> None:
    await pane.presenter.search("Hemoglobin A1c")
    pane.page.table.selectRow(0)
    hit = pane.presenter.model.index(0, 0).data(HIT_ROLE)
    await wait_until(lambda: pane.page.detail.test is not None)
    detail = pane.page.detail
    assert detail.name.text() == hit.name
    assert detail.company.text() == hit.lab_company_name
    assert detail.price.text().startswith("$")
    assert detail.sample_types.text() == ", ".join(hit.sample_types)
    assert "day" in detail.turnaround.text()
    assert detail.biomarkers.count() == len(hit.biomarkers)


async def test_enter_adds_the_selected_test_to_the_current_draft(qtbot: QtBot, pane: Pane) -> None:
    # The only open draft, with a patient: clearly where a test goes (tests/gui/
    # test_patient_first.py has the cases where the person is asked).
    only = pane.store.drafts.create(patient_id="pat_0000001")
    await pane.presenter.search("lipid")
    table = pane.page.table
    table.setFocus()
    table.selectRow(0)
    hit = pane.presenter.model.hit(0)
    qtbot.keyClick(table, Qt.Key.Key_Return)
    await wait_until(lambda: pane.store.drafts.tests(only))
    draft = pane.store.drafts.open_drafts()[0]
    assert [t.lab_test_id for t in pane.store.drafts.tests(draft.id)] == [hit.id]
    await wait_until(lambda: pane.messages)
    assert pane.messages[-1].level is Level.INFO
    assert "Added" in pane.messages[-1].text

    table.selectRow(1)
    second = pane.presenter.model.hit(1)
    await wait_until(lambda: pane.page.detail.test and pane.page.detail.test.id == second.id)
    pane.page.detail.add_button.click()  # the detail panel's button, same draft
    await wait_until(lambda: len(pane.store.drafts.tests(draft.id)) == 2)
    assert pane.store.drafts.tests(draft.id)[1].lab_test_id == second.id
    assert len(pane.store.drafts.open_drafts()) == 1


async def test_ctrl_f_focuses_the_search_box(qtbot: QtBot, pane: Pane) -> None:
    pane.page.activateWindow()
    await wait_until(pane.page.isActiveWindow)
    pane.page.table.setFocus()
    qtbot.keyClick(pane.page.table, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert pane.page.search_box.hasFocus()


async def test_sync_offline_says_so_and_keeps_the_catalog(pane: Pane) -> None:
    before = pane.presenter.model.rowCount()
    pane.page.sync_button.click()
    (succeeded,) = await wait_for_signal(pane.presenter.sync_finished)
    assert succeeded is False
    assert pane.messages[-1].level is Level.ERROR
    assert "cannot reach Rupa" in pane.messages[-1].text
    assert not pane.connectivity.online
    assert pane.presenter.model.rowCount() == before
    assert pane.page.sync_button.isEnabled()


async def test_a_sync_stopped_elsewhere_says_so_and_keeps_the_catalog(
    qtbot: QtBot, store: Store
) -> None:
    load_catalog(store, synthetic_companies(), iter_tests(300))
    source = StalledSource()
    built = build_pane(qtbot, store, source)
    await built.presenter.refresh()
    before = names(built)
    built.page.sync_button.click()
    await source.asked.wait()
    built.sync.cancel()  # e.g. the account is being closed
    (succeeded,) = await wait_for_signal(built.presenter.sync_finished)
    assert succeeded is False
    assert built.messages[-1].level is Level.INFO
    assert "stopped before it finished" in built.messages[-1].text
    assert names(built) == before
    assert built.page.sync_button.isEnabled()
    await built.presenter.close()


async def test_sync_now_downloads_the_catalog_with_progress(
    qtbot: QtBot, store: Store, sandbox: SandboxServer
) -> None:
    client = simulator_client(sandbox.url)
    try:
        built = build_pane(qtbot, store, client)
        await built.presenter.refresh()
        assert "No catalog" in built.page.summary.text()
        progress: list[tuple[int, int]] = []
        built.presenter.sync_progress.connect(lambda done, total: progress.append((done, total)))
        built.page.sync_button.click()
        await wait_until(lambda: not built.page.sync_button.isEnabled())
        (succeeded,) = await wait_for_signal(built.presenter.sync_finished, within=60)
        assert succeeded is True
        await wait_until(lambda: built.presenter.model.rowCount() > 0)
        assert progress
        assert progress[-1][0] == progress[-1][1] == store.catalog.test_count() > 0
        assert built.page.company.count() > 1
        assert built.presenter.last_synced() is not None  # the status bar shows its age
        await built.presenter.close()
    finally:
        await client.aclose()


async def test_a_sync_that_skipped_unreadable_tests_says_so(
    qtbot: QtBot, store: Store, sandbox: SandboxServer, sandbox_control: SandboxControl
) -> None:
    sandbox_control.set_faults(hostile_values=3)
    client = simulator_client(sandbox.url)
    try:
        built = build_pane(qtbot, store, client)
        assert await built.presenter.sync_now() is True
        assert store.catalog.test_count() == 297
        last = built.messages[-1]
        assert last.level is Level.WARNING
        assert last.text.startswith(
            "Catalog updated: 297 tests. "
            "3 lab tests skipped: Rupa sent values Rupa Desk could not read."
        )
        await built.presenter.close()
    finally:
        await client.aclose()


async def test_every_control_has_an_accessible_name(pane: Pane) -> None:
    pane.page.table.selectRow(0)
    await wait_until(lambda: pane.page.detail.test is not None)
    assert unnamed_controls(pane.page) == []
