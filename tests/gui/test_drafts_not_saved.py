"""A draft edit the database refuses (locked by another writer, disk full) is told to the user
as not saved, instead of vanishing into a bug report."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
import pytest_asyncio

from rupa_desk.paths import AppPaths
from rupa_desk.services.store import Store, StoreDiskFullError, connect
from rupa_desk.ui.messages import Level, Message
from rupa_desk.ui.presenters.drafts import DraftsPresenter
from tests.fixtures.drafts_env import drafts_env


@dataclass
class Drafts:
    presenter: DraftsPresenter
    store: Store
    messages: list[Message]
    failures: list[str]

    def errors(self) -> list[str]:
        return [m.text for m in self.messages if m.level is Level.ERROR]


@pytest.fixture
def store(app_paths: AppPaths) -> Iterator[Store]:
    with Store.open(app_paths.data_dir / "drafts-not-saved.sqlite3") as opened:
        opened.db.execute("PRAGMA busy_timeout = 50")  # the app waits 5 s; the test need not
        yield opened


@pytest_asyncio.fixture
async def drafts(store: Store, app_paths: AppPaths) -> AsyncIterator[Drafts]:
    env = drafts_env(store, app_paths, start=False)
    yield Drafts(env.presenter, store, env.messages, env.failures)
    await env.close()
    assert env.failures == []


async def test_notes_typed_while_the_database_is_locked_are_reported_not_saved(
    drafts: Drafts,
) -> None:
    assert drafts.presenter.new_draft()
    draft_id = drafts.presenter.current
    assert draft_id is not None
    drafts.presenter.set_notes(draft_id, "fasting")
    assert drafts.store.path is not None
    other = connect(drafts.store.path)
    other.execute("BEGIN IMMEDIATE")  # e.g. the catalog sync swapping its catalog in
    try:
        drafts.presenter.set_notes(draft_id, "fasting since 8 pm")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert drafts.errors() == [
        "The change was not saved. The local database is busy (the catalog download or another "
        "Rupa Desk window is writing to it). Wait a moment, then try again."
    ]
    assert drafts.store.drafts.get(draft_id).notes == "fasting"


def fill_what_room_is_left(store: Store) -> None:
    for _ in range(10_000):
        try:
            store.drafts.create()
        except StoreDiskFullError:
            return
    raise AssertionError("the database never filled up")


async def test_a_new_draft_on_a_full_disk_is_reported_not_saved(drafts: Drafts) -> None:
    pages = drafts.store.db.execute("PRAGMA page_count").fetchone()[0]
    free = drafts.store.db.execute("PRAGMA freelist_count").fetchone()[0]
    assert free == 0
    drafts.store.db.execute(f"PRAGMA max_page_count = {pages}")
    fill_what_room_is_left(drafts.store)
    assert drafts.presenter.new_draft() is False
    assert len(drafts.errors()) == 1
    assert drafts.errors()[0].startswith("The new draft was not saved. The disk")
