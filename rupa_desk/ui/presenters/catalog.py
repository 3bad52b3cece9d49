"""The catalog pane's presenter: search, filters, details, "Add to draft" and "Sync now".

Search always runs on the local catalog (it works offline): a search is a named task where a
newer one cancels the older, its first page replaces the results model, and later pages are
fetched by the model as the view scrolls. "Sync now" downloads the catalog from Rupa with
progress; the old catalog stays searchable until the new one is complete.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Final, Protocol

from PySide6.QtCore import QObject, Signal

from rupa_desk.core.models import LabTest
from rupa_desk.services.errors import RupaError
from rupa_desk.services.store import (
    Catalog,
    CatalogCompany,
    CatalogFilters,
    PreferredLabs,
    PriceRange,
    SampleTypeCount,
    SearchCursor,
    SearchPage,
    StoreError,
    UnknownLabTestError,
    typed_sqlite_errors,
)
from rupa_desk.services.sync import CatalogSync, CatalogSyncBusy, CatalogSyncCancelled
from rupa_desk.ui.components.catalog_model import CatalogResultsModel
from rupa_desk.ui.messages import Level, MessageBridge
from rupa_desk.ui.presenters.connectivity import Connectivity
from rupa_desk.ui.tasks import LatestTask, Superseded

log = logging.getLogger(__name__)

CATALOG_NOT_UPDATED: Final = "The catalog was not updated; the catalog you have stays usable."


@dataclass(frozen=True)
class CatalogQuery:
    """What the catalog pane searches for: text and filters."""

    text: str = ""
    filters: CatalogFilters = field(default_factory=CatalogFilters)


class DraftTarget(Protocol):
    """Where "Add to draft" puts a test (the drafts pane provides the real one)."""

    async def add_lab_test(self, test: LabTest) -> str | None:
        """Add `test` to a draft; returns a sentence for the user saying where (None:
        nothing was added, the person cancelled or was told why)."""


class CatalogPresenter(QObject):
    """Runs the catalog pane's requests against the local catalog and Rupa.

    Args:
        catalog: the local catalog (search, filters, details).
        sync: the catalog sync of this account's database.
        drafts: where "Add to draft" puts a test.
        bridge: messages to the user.
        connectivity: told whether Rupa answered a sync.
        preferred_labs: the clinic's preferred labs, first among a test's labs.

    Signals:
        results_changed(CatalogQuery): the model now shows this query's first page.
        detail_changed(object): the test to show in the detail panel (a `LabTest`, or None).
        added_to_draft(str): a test (id) was added to the current draft.
        sync_started(): a catalog sync began.
        sync_progress(int, int): tests downloaded so far, tests expected in all.
        sync_finished(bool): the sync ended (True: the new catalog is in place).
        catalog_changed(object): the catalog was replaced; "catalog as of" (a datetime).
    """

    results_changed = Signal(object)
    detail_changed = Signal(object)
    added_to_draft = Signal(str)
    sync_started = Signal()
    sync_progress = Signal(int, int)
    sync_finished = Signal(bool)
    catalog_changed = Signal(object)

    def __init__(
        self,
        catalog: Catalog,
        sync: CatalogSync,
        drafts: DraftTarget,
        bridge: MessageBridge,
        connectivity: Connectivity,
        *,
        preferred_labs: Sequence[str] = (),
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._preferred = PreferredLabs(preferred_labs)
        self._catalog = catalog
        self._sync = sync
        self._drafts = drafts
        self._bridge = bridge
        self._connectivity = connectivity
        self._query = CatalogQuery()
        self._shown: CatalogQuery | None = None
        self._searches = LatestTask("catalog-search")
        self._details = LatestTask("catalog-detail")
        self._sync_job: asyncio.Task[bool] | None = None
        self.model = CatalogResultsModel(self)

    # -- reading -------------------------------------------------------------------------------

    @property
    def query(self) -> CatalogQuery:
        """The query the results show (or are about to show)."""
        return self._query

    @property
    def shown_query(self) -> CatalogQuery | None:
        """The query whose results the model shows (None before the first search)."""
        return self._shown

    @property
    def syncing(self) -> bool:
        """True while a catalog sync runs."""
        return self._sync_job is not None and not self._sync_job.done()

    def test_count(self) -> int:
        """How many tests the local catalog holds."""
        return self._catalog.test_count()

    def companies(self) -> list[CatalogCompany]:
        """The lab companies, for the company filter."""
        return self._catalog.companies()

    def sample_types(self) -> list[SampleTypeCount]:
        """The sample types, for the sample type filter."""
        return self._catalog.sample_types()

    def price_range(self) -> PriceRange | None:
        """The lowest and highest price, for the price filter."""
        return self._catalog.price_range()

    def last_synced(self) -> datetime | None:
        """When the catalog was last synced completely."""
        return self._catalog.last_synced()

    # -- searching -----------------------------------------------------------------------------

    async def search(self, text: str) -> None:
        """Search for `text` with the current filters (a newer search cancels this one)."""
        self._query = replace(self._query, text=text)
        await self.refresh()

    async def set_filters(self, filters: CatalogFilters) -> None:
        """Search again with `filters` and the current text."""
        self._query = replace(self._query, filters=filters)
        await self.refresh()

    async def set_preferred_labs(self, names: Sequence[str]) -> None:
        """Rank the labs `names` first from now on, and search again with them."""
        self._preferred = PreferredLabs(names)
        await self.refresh()

    async def refresh(self) -> None:
        """Run the current query again (after a sync, or to show the first results)."""
        query, preferred = self._query, self._preferred
        with contextlib.suppress(Superseded):
            page = await self._searches.run(self._first_page(query, preferred))
            self.model.reset_results(
                page, functools.partial(self._page, query, preferred=preferred)
            )
            self._shown = query
            self.results_changed.emit(query)

    async def _first_page(self, query: CatalogQuery, preferred: PreferredLabs) -> SearchPage:
        return self._page(query, None, preferred=preferred)

    def _page(
        self, query: CatalogQuery, after: SearchCursor | None, *, preferred: PreferredLabs
    ) -> SearchPage:
        # Every page of a search ranks with the labs its first page did (a cursor's pages
        # end at the same runs of one test only with the same labs).
        return self._catalog.search(query.text, query.filters, after=after, preferred=preferred)

    # -- details and drafts --------------------------------------------------------------------

    async def show_detail(self, lab_test_id: str | None) -> None:
        """Show the test `lab_test_id` in the detail panel (None: nothing selected)."""
        with contextlib.suppress(Superseded):
            test = await self._details.run(self._load_test(lab_test_id))
            self.detail_changed.emit(test)

    async def _load_test(self, lab_test_id: str | None) -> LabTest | None:
        if lab_test_id is None:
            return None
        try:
            return self._catalog.get_test(lab_test_id)
        except UnknownLabTestError:
            return None  # it left the catalog with the last sync

    async def add_to_draft(self, lab_test_id: str) -> bool:
        """Add the test to the current draft and say so.

        Returns:
            True when the draft now has the test.
        """
        try:
            test = self._catalog.get_test(lab_test_id)
        except UnknownLabTestError:
            self._bridge.warning("This test is no longer in the catalog. Search again.")
            return False
        try:
            message = await self._drafts.add_lab_test(test)
        except StoreError as exc:
            self._bridge.known_error(exc, not_done="The test was not added.")
            return False
        if message is None:
            return False
        self._bridge.info(message)
        self.added_to_draft.emit(lab_test_id)
        return True

    # -- syncing -------------------------------------------------------------------------------

    async def sync_now(self) -> bool:
        """Download the catalog from Rupa (or join the sync that runs).

        The sync is a task of its own, kept by the presenter, so that leaving the account
        (`close`) stops it and waits for it whoever started it.

        Returns:
            True when the new catalog is in place; False when it failed (the user was told
            why; the old catalog is kept).
        """
        if self._sync_job is None or self._sync_job.done():
            self._sync_job = asyncio.get_running_loop().create_task(
                self._run_sync(), name="catalog-sync"
            )
        return await asyncio.shield(self._sync_job)

    async def _run_sync(self) -> bool:
        self.sync_started.emit()
        succeeded = False
        try:
            succeeded = await self._sync_catalog()
        finally:
            # Whatever happens (cancelled by a sign-out, a bug), the end is signalled: the
            # progress bar and the "Syncing…" button must not stay behind.
            self.sync_finished.emit(succeeded)
        if succeeded:
            await self.refresh()
        return succeeded

    async def _sync_catalog(self) -> bool:
        try:
            with typed_sqlite_errors():
                result = await self._sync.run(self._on_sync_progress)
        except CatalogSyncBusy as exc:
            self._bridge.known_error(exc, level=Level.WARNING)
            return False
        except CatalogSyncCancelled as exc:
            self._bridge.known_error(exc, level=Level.INFO)
            return False
        except RupaError as exc:
            self._connectivity.failed(exc)
            self._bridge.known_error(exc, not_done=CATALOG_NOT_UPDATED)
            return False
        except StoreError as exc:
            self._bridge.known_error(exc, not_done=CATALOG_NOT_UPDATED)
            return False
        self._connectivity.answered()
        self.catalog_changed.emit(result.synced_at)
        updated = f"Catalog updated: {result.test_count:,} tests."
        if result.skipped_message is None:
            self._bridge.info(updated)
        else:
            self._bridge.warning(f"{updated} {result.skipped_message}")
        return True

    def _on_sync_progress(self, done: int, total: int) -> None:
        self.sync_progress.emit(done, total)

    async def close(self) -> None:
        """Stop the running search, detail load and sync, and wait until they have ended."""
        await self._searches.wait_cancelled()
        await self._details.wait_cancelled()
        job, self._sync_job = self._sync_job, None
        if job is not None and not job.done():
            job.cancel()
            await asyncio.gather(job, return_exceptions=True)
