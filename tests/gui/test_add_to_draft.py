"""The catalog's "Add to draft" reaches the Draft orders pane: the catalog pane and the drafts
pane wired as the app wires them (one `DraftsPresenter` is the catalog's draft target)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from rupa_desk.paths import AppPaths
from rupa_desk.services.store import Store
from rupa_desk.services.sync import CatalogSync
from rupa_desk.ui.pages.catalog import CatalogPage
from rupa_desk.ui.pages.drafts import DraftsPage
from rupa_desk.ui.presenters.catalog import CatalogPresenter
from tests.fixtures.catalog_data import iter_tests, load_catalog, synthetic_companies
from tests.fixtures.catalog_sources import OfflineSource
from tests.fixtures.drafts_env import DraftsEnv, drafts_env
from tests.fixtures.qt import wait_until


@dataclass
class Panes:
    catalog: CatalogPage
    catalog_presenter: CatalogPresenter
    drafts: DraftsPage
    env: DraftsEnv
    store: Store


@pytest.fixture
def store(app_paths: AppPaths) -> Iterator[Store]:
    with Store.open(app_paths.data_dir / "wiring.sqlite3") as opened:
        load_catalog(opened, synthetic_companies(), iter_tests(300))
        yield opened


@pytest_asyncio.fixture
async def panes(qtbot: QtBot, store: Store, app_paths: AppPaths) -> AsyncIterator[Panes]:
    assert store.path is not None
    env = drafts_env(store, app_paths)
    catalog_presenter = CatalogPresenter(  # as rupa_desk.desk.AccountWorkspace builds it
        store.catalog,
        CatalogSync(OfflineSource(), store.path, account_db=store.db),  # the catalog is local
        env.presenter,
        env.bridge,
        env.connectivity,
    )
    catalog = CatalogPage(catalog_presenter)
    drafts = DraftsPage(env.presenter)
    for page in (catalog, drafts):
        qtbot.addWidget(page)
        page.resize(975, 700)
        page.show()
    await catalog_presenter.refresh()
    yield Panes(catalog, catalog_presenter, drafts, env, store)
    await catalog_presenter.close()
    await env.close()
    assert env.failures == []


async def press_enter_on(qtbot: QtBot, panes: Panes, row: int) -> str:
    table = panes.catalog.table
    table.setFocus()
    table.selectRow(row)
    test_id = panes.catalog_presenter.model.hit(row).id
    qtbot.keyClick(table, Qt.Key.Key_Return)
    return test_id


async def test_enter_in_the_catalog_adds_the_test_to_the_draft_shown_in_the_drafts_pane(
    qtbot: QtBot, panes: Panes
) -> None:
    await panes.catalog_presenter.search("lipid")
    first = await press_enter_on(qtbot, panes, 0)
    # no draft existed and nobody is selected: the person is asked, and chooses a new draft
    chooser = panes.drafts.chooser
    await wait_until(lambda: chooser.dialog is not None)
    assert chooser.dialog is not None
    chooser.dialog.choose("A new draft (choose the patient afterwards)")
    # one is created, becomes the current draft and shows in the pane
    await wait_until(lambda: panes.drafts.model.rowCount() == 1)
    draft_id = panes.env.presenter.current
    assert draft_id is not None
    editor = panes.drafts.editor
    await wait_until(lambda: editor.draft_id == draft_id and editor.tests.rowCount() == 1)
    assert editor.tests.item(0, 0).data(Qt.ItemDataRole.UserRole) == first
    assert panes.drafts.cell(0, 1) == "1"

    # the user picks another draft in the drafts pane: "Add to draft" goes there
    panes.drafts.new_button.click()
    other = panes.env.presenter.current
    assert other not in (None, draft_id)
    second = await press_enter_on(qtbot, panes, 1)
    await wait_until(lambda: editor.tests.rowCount() == 1 and editor.draft_id == other)
    assert panes.store.drafts.get(other or "").lab_test_ids == (second,)
    assert panes.store.drafts.get(draft_id).lab_test_ids == (first,)
    assert panes.drafts.row_of(other or "") == 0  # most recently changed first
    assert "Added" in panes.env.messages[-1].text
