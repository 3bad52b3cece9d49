"""The catalog pane's edges: a sync's end is always signalled, a full disk is a clear message,
and the detail panel never shows a test that is not selected."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from pytestqt.qtbot import QtBot

from rupa_desk.paths import AppPaths
from rupa_desk.services.store import Store
from rupa_desk.services.sync import CatalogSync, CatalogSyncResult, ProgressCallback
from rupa_desk.ui.components.status_bar import StatusBar
from rupa_desk.ui.messages import Level, Message, MessageBridge
from rupa_desk.ui.pages.catalog import CatalogPage
from rupa_desk.ui.presenters.catalog import CatalogPresenter
from rupa_desk.ui.presenters.connectivity import Connectivity
from tests.fixtures.catalog_data import iter_tests, load_catalog, synthetic_companies
from tests.fixtures.catalog_sources import StalledSource
from tests.fixtures.drafts_env import drafts_env
from tests.fixtures.qt import wait_until


def disk_full_error() -> sqlite3.OperationalError:
    """SQLite's own "database or disk is full" (SQLITE_FULL), from a real write."""
    connection = sqlite3.connect(":memory:")
    try:
        connection.execute("PRAGMA max_page_count = 2")
        connection.execute("CREATE TABLE t (x)")
        connection.execute("INSERT INTO t VALUES (zeroblob(100000))")
    except sqlite3.OperationalError as exc:
        return exc
    finally:
        connection.close()
    raise AssertionError("SQLite accepted a write beyond the page limit")


class FullDiskSync(CatalogSync):
    """A catalog sync whose writes hit a full disk, as sync.py passes it on: SQLite's raw error."""

    async def run(self, progress: ProgressCallback | None = None) -> CatalogSyncResult:
        await asyncio.sleep(0)
        raise disk_full_error()


class Pane:
    def __init__(self, qtbot: QtBot, store: Store, sync: CatalogSync) -> None:
        self.store = store
        assert store.path is not None
        bridge = MessageBridge()
        self.messages: list[Message] = []
        bridge.message_shown.connect(self.messages.append)
        bridge.attach()
        self.finished: list[bool] = []
        self.presenter = CatalogPresenter(
            store.catalog,
            sync,
            drafts_env(store, AppPaths.under(store.path.parent / "drafts"), start=False).presenter,
            bridge,
            Connectivity(),
        )
        self.presenter.sync_finished.connect(self.finished.append)
        self.status = StatusBar()
        self.presenter.sync_progress.connect(self.status.set_sync_progress)
        self.presenter.sync_finished.connect(self.status.finish_sync)
        self.page = CatalogPage(self.presenter)
        qtbot.addWidget(self.page)
        qtbot.addWidget(self.status)
        self.page.resize(1000, 600)
        self.page.show()


@pytest.fixture
def store(app_paths: AppPaths) -> Iterator[Store]:
    with Store.open(app_paths.data_dir / "catalog-states.sqlite3") as opened:
        load_catalog(opened, synthetic_companies(), iter_tests(300))
        yield opened


@pytest_asyncio.fixture
async def stalled(qtbot: QtBot, store: Store) -> AsyncIterator[tuple[Pane, StalledSource]]:
    assert store.path is not None
    source = StalledSource()
    pane = Pane(qtbot, store, CatalogSync(source, store.path, account_db=store.db))
    await pane.presenter.refresh()
    yield pane, source
    await pane.presenter.close()


async def test_a_sync_stopped_by_closing_the_account_still_signals_its_end(
    stalled: tuple[Pane, StalledSource],
) -> None:
    pane, source = stalled
    pane.page.sync_button.click()
    await source.asked.wait()
    await wait_until(lambda: "Catalog sync progress" in pane.status.texts())
    assert not pane.page.sync_button.isEnabled()

    await pane.presenter.close()  # what signing out does, in the middle of the first sync

    assert pane.finished == [False]
    assert "Catalog sync progress" not in pane.status.texts()
    assert pane.page.sync_button.isEnabled()
    assert pane.page.sync_button.text() == "Sync now"


async def test_a_full_disk_during_a_sync_is_a_clear_message_not_a_bug(
    qtbot: QtBot, store: Store, tmp_path: Path
) -> None:
    assert store.path is not None
    pane = Pane(qtbot, store, FullDiskSync(StalledSource(), store.path))
    await pane.presenter.refresh()
    before = pane.presenter.model.rowCount()

    assert await pane.presenter.sync_now() is False  # no exception: not a bug report

    assert pane.finished == [False]
    errors = [m for m in pane.messages if m.level is Level.ERROR]
    assert len(errors) == 1
    assert "disk of this computer is full" in errors[0].text
    assert "Free some space" in errors[0].text
    assert "stays usable" in errors[0].text
    assert pane.page.sync_button.isEnabled()
    assert pane.presenter.model.rowCount() == before
    await pane.presenter.close()


async def test_the_detail_panel_empties_when_a_search_finds_nothing(
    stalled: tuple[Pane, StalledSource],
) -> None:
    pane, _ = stalled
    await pane.presenter.search("Lipid Panel")
    pane.page.table.selectRow(0)
    await wait_until(lambda: pane.page.detail.test is not None)
    assert pane.page.detail.add_button.isVisible()

    await pane.presenter.search("qqqqzzzz")

    assert pane.presenter.model.rowCount() == 0
    assert pane.page.detail.test is None
    assert not pane.page.detail.add_button.isVisible()
    assert pane.page.detail.empty.isVisible()


async def test_new_results_clear_a_detail_of_a_test_no_longer_selected(
    stalled: tuple[Pane, StalledSource],
) -> None:
    pane, _ = stalled
    await pane.presenter.search("Lipid Panel")
    pane.page.table.selectRow(0)
    await wait_until(lambda: pane.page.detail.test is not None)
    await pane.presenter.search("Hemoglobin A1c")
    assert pane.presenter.model.rowCount() > 0
    assert pane.page.selected_test_id() is None
    assert pane.page.detail.test is None


async def test_the_pane_does_not_repeat_the_status_bars_catalog_age(
    stalled: tuple[Pane, StalledSource],
) -> None:
    pane, _ = stalled
    texts = [label.text().casefold() for label in pane.page.findChildren(type(pane.page.summary))]
    assert not [t for t in texts if "catalog as of" in t]
