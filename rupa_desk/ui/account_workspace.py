"""One signed-in account's workspace: its context, database, presenters, panes, background work.

`AccountContext` is what an account's services and panes need, as one frozen value (built by
the composition root, `rupa_desk.desk.Desk`, at each sign-in). `AccountWorkspace` opens the
account's database and builds on it the presenters of Patients, Catalog and Panels, the
`OrderWorkspace` (drafts, checkout, order tracking) and then every pane of the registry
(`rupa_desk.ui.panes.PANES`); it is closed at sign-out, removing the account's patient data
when asked. The two workspaces live side by side here in `ui/`.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import webbrowser
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from rupa_desk.core.drafts import DraftState
from rupa_desk.core.status import LIFECYCLE
from rupa_desk.paths import AppPaths
from rupa_desk.services.api import RupaClient
from rupa_desk.services.epic.client import EpicClient
from rupa_desk.services.epic.connection import EpicConnection
from rupa_desk.services.epic.filing import ResultFiling
from rupa_desk.services.reports import PracticeReports
from rupa_desk.services.store import OrderFilters, Store, StoreError, vacuum_file
from rupa_desk.services.sync import CatalogSync
from rupa_desk.settings import Environment
from rupa_desk.ui.components.status_bar import StatusBar
from rupa_desk.ui.messages import MessageBridge
from rupa_desk.ui.order_workspace import OrderWorkspace
from rupa_desk.ui.panes import PANES, PaneSpec
from rupa_desk.ui.presenters.catalog import CatalogPresenter
from rupa_desk.ui.presenters.connectivity import Connectivity
from rupa_desk.ui.presenters.epic import EpicPresenter
from rupa_desk.ui.presenters.epic_filing import EpicFilingPresenter
from rupa_desk.ui.presenters.panels import PanelsPresenter
from rupa_desk.ui.presenters.patients import PatientsPresenter
from rupa_desk.ui.presenters.reports import ReportsPresenter
from rupa_desk.ui.presenters.session import Account, AccountUnavailable
from rupa_desk.ui.tasks import BackgroundTasks

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

log = logging.getLogger(__name__)

PENDING_PAYMENT = LIFECYCLE[0]


@dataclass(frozen=True)
class AccountContext:
    """What a signed-in account's services and panes need, passed as one value.

    Attributes:
        account: who is signed in.
        environment: the Rupa environment.
        paths: the app's folders (the database, result PDFs, the checkout's web profile).
        client: the API client.
        bridge: messages to the user.
        connectivity: online/offline, as requests find it.
        status_bar: shows sync progress and the catalog's age.
        tasks: the account's background tasks (cancelled when the account closes).
        poll_interval_s: the user's order polling interval.
        preferred_labs: the clinic's preferred labs (first among a test's labs in search).
        open_url: opens the system browser.
        epic: the Epic connection and client, when Epic is set up (None: no Epic).
        epic_auto_file: file result PDFs to Epic as they arrive (linked patients only).
    """

    account: Account
    environment: Environment
    paths: AppPaths
    client: RupaClient
    bridge: MessageBridge
    connectivity: Connectivity
    status_bar: StatusBar
    tasks: BackgroundTasks
    poll_interval_s: float = 60.0
    open_url: Callable[[str], bool] = webbrowser.open
    preferred_labs: tuple[str, ...] = ()
    epic: tuple[EpicConnection, EpicClient] | None = None
    epic_auto_file: bool = False


class AccountWorkspace:
    """Everything of one signed-in account: its database, panes, presenters, background work.

    Built by `Desk.open_account` (sign-in, restore), closed by `Desk.close_account` (sign-out)
    and `Desk.close` (quit). Nothing of it outlives the account, so the next person to sign in
    on a shared PC never sees the previous account's data.

    Drafts, checkout and order tracking are its `OrderWorkspace` (`self.orders`): the
    catalog's "Add to draft" target, the order poller.

    Args:
        context: the account and the app's services.
        store: the account's database (opened by the caller; closed by `close`).
        panes: the panes to build (the registry's, in sidebar order).
    """

    def __init__(
        self, context: AccountContext, store: Store, panes: Sequence[PaneSpec] = PANES
    ) -> None:
        if store.path is None:
            raise ValueError("the workspace needs a database file (the sync writes to it)")
        self._context = context
        self.account = context.account
        self.store = store
        self.tasks = context.tasks
        self.orders = OrderWorkspace(context, store)
        self.catalog = CatalogPresenter(
            store.catalog,
            CatalogSync(
                context.client, store.path, account_db=store.db, limits=context.environment.limits
            ),
            self.orders.drafts,
            context.bridge,
            context.connectivity,
            preferred_labs=context.preferred_labs,
        )
        status_bar = context.status_bar
        self.catalog.sync_progress.connect(status_bar.set_sync_progress)
        self.catalog.sync_finished.connect(status_bar.finish_sync)
        self.catalog.catalog_changed.connect(status_bar.set_catalog_synced_at)
        status_bar.set_catalog_synced_at(self.catalog.last_synced())
        self.patients = PatientsPresenter(
            store.patients,
            store.drafts,
            store.patient_forms,
            context.client,
            context.bridge,
            context.connectivity,
        )
        self.patients.selection_changed.connect(self.orders.drafts.set_selected_patient)
        self.orders.orders.orders_changed.connect(self._on_orders_changed)
        self.orders.drafts.drafts_changed.connect(self.patients.drafts_changed)
        self.orders.drafts.draft_changed.connect(self._on_draft_changed)
        self.panels = PanelsPresenter(
            store.panels,
            store.catalog,
            store.drafts,
            self.orders.drafts,
            self.orders.drafts,
            context.bridge,
        )
        self.epic: EpicPresenter | None = None
        self.epic_filing: EpicFilingPresenter | None = None
        if context.epic is not None:
            self.epic = EpicPresenter(
                *context.epic, store.epic_links, context.bridge, patients=store.patients
            )
            filing = ResultFiling(context.epic[1], store.epic_links)
            self.epic_filing = EpicFilingPresenter(
                filing,
                store.epic_links,
                context.bridge,
                orders=store.orders,
                tasks=context.tasks,
                automatic=context.epic_auto_file,
                retry_interval_s=context.poll_interval_s,
            )
            self.orders.orders.results_downloaded.connect(self.epic_filing.results_arrived)
            self.epic.status_changed.connect(status_bar.set_epic_status)
            status_bar.set_epic_status(self.epic.status_text())
        self.panes: dict[str, QWidget] = {
            pane.key: pane.build(self) for pane in panes if pane.build is not None
        }

    def _on_orders_changed(self, order_ids: frozenset[str] | None) -> None:
        # The patient detail shown lists her orders: read them again when one may be hers.
        shown = self.patients.selected_patient_id
        if shown is None:
            return
        if order_ids is not None and not self.store.orders.listing(
            OrderFilters(patient_id=shown), ids=order_ids
        ):
            return
        self.tasks.spawn(self.patients.refresh_detail(), name="patient-detail-refresh")

    def _on_draft_changed(self, draft_id: str) -> None:
        self.patients.drafts_changed(draft_id)

    def reports_presenter(self) -> ReportsPresenter:
        """The Reports pane's presenter (built by its pane, on this account's services)."""
        context = self._context
        return ReportsPresenter(
            self.store,
            context.client,
            context.bridge,
            context.tasks,
            user=self.account.display_name,
            user_id=self.account.id,
        )

    def attention(self) -> dict[str, tuple[int, str]]:
        """What needs the desk's attention, per pane key: (count, what it is in words)."""
        waiting = self.store.drafts.count_in_state(
            DraftState.LOCAL,
            DraftState.SENDING,
            DraftState.SENT,
            DraftState.QUEUED,
            DraftState.FAILED,
        )
        unpaid = len(
            self.store.orders.listing(
                OrderFilters(practitioner_id=self.account.id, status=PENDING_PAYMENT)
            )
        )
        arrived = self.store.lab_results.unseen_count()
        follow_ups = PracticeReports(self.store).follow_up_count()
        return {
            "drafts": (waiting, f"{waiting} draft(s) not ordered yet"),
            "orders": (unpaid, f"{unpaid} order(s) waiting for the patient's payment"),
            "results": (arrived, f"{arrived} result value(s) arrived since you last looked"),
            "reports": (follow_ups, f"{follow_ups} order(s) need a follow-up"),
        }

    @classmethod
    def open(cls, context: AccountContext, panes: Sequence[PaneSpec] = PANES) -> AccountWorkspace:
        """Open the account's database and build the workspace (and `panes`) on it.

        Raises:
            AccountUnavailable: the database cannot be opened (the message says why).
        """
        try:
            store = Store.for_account(context.paths, context.environment.name, context.account.id)
        except StoreError as exc:
            raise AccountUnavailable(exc.user_message) from exc
        try:
            return cls(context, store, panes)
        except BaseException:
            store.close()
            raise

    def set_poll_interval(self, seconds: float) -> None:
        """Use the user's new order polling interval from each order's next check on."""
        schedule = self.orders.schedule
        schedule.policy = replace(schedule.policy, base_interval_s=float(seconds))
        if self.epic_filing is not None:
            self.epic_filing.set_retry_interval(seconds)

    def set_epic_auto_file(self, automatic: bool) -> None:
        """File results to Epic as they arrive from now on, or stop doing so."""
        if self.epic_filing is not None:
            self.epic_filing.set_automatic(automatic)

    async def start(self, *, first_sign_in: bool) -> None:
        """Show the local data at once; on the first sign-in (or with nothing local yet)
        download the patients, then the catalog, in the background."""
        self.orders.start()
        await self.catalog.refresh()
        await self.patients.search("")
        refresh = first_sign_in or self.patients.count() == 0
        sync = first_sign_in or self.catalog.test_count() == 0
        if refresh or sync:
            self.tasks.spawn(self._first_download(refresh, sync), name="first-download")

    async def _first_download(self, refresh: bool, sync: bool) -> None:
        # One after the other: the catalog sync holds the database's write lock while it swaps
        # the new catalog in, and the patients list is written on the UI's connection.
        if refresh:
            await self.patients.refresh()
        if sync:
            await self.catalog.sync_now()

    def _quiet_panes(self) -> None:
        """Nothing in the panes runs once the account is closing: their pending timers (a
        search typed a moment ago, a long list read in parts) would read the database after
        it closed, and they take no more input until the window removes them."""
        from PySide6.QtCore import QTimer

        for pane in self.panes.values():
            pane.setEnabled(False)
            for timer in pane.findChildren(QTimer):
                timer.stop()

    async def close(self, *, remove_patient_data: bool) -> None:
        """Stop the account's work, remove patient data if asked, close the database.

        Removing patient data (the sign-out dialog's `REMOVED_WITH_PATIENT_DATA` and
        `KEPT_WITH_PATIENT_DATA` say what goes and what stays, exactly): the
        database's patient rows (`Store.remove_patient_data`), then, with the database closed,
        its file rebuilt so no deleted row survives in free pages (`vacuum_file`, on a worker
        thread), the downloaded result PDFs, and the checkout's web profile (Rupa's web-app
        sign-in). What could not be removed is told to the user.
        """
        self._quiet_panes()
        await self.tasks.cancel_all()
        await self.orders.close(remove_web_profile=remove_patient_data)
        await self.catalog.close()
        await self.patients.close()
        if self.epic is not None:
            await self.epic.close()
        if self.epic_filing is not None:
            self.epic_filing.close()
        problems: list[str] = []
        try:
            if remove_patient_data:
                try:
                    removed = self.store.remove_patient_data()
                except StoreError as exc:
                    problems.append(f"the patients and orders in the local database ({exc})")
                else:
                    log.info(
                        "removed patient data: %d patients, %d orders, %d checked-out drafts"
                        " (%d drafts kept)",
                        removed.patients,
                        removed.orders,
                        removed.checked_out_drafts,
                        removed.drafts_kept,
                    )
        finally:
            self.store.close()
        if not remove_patient_data:
            return
        database = self.store.path
        if database is not None and not problems:
            try:
                await asyncio.to_thread(vacuum_file, database)
            except StoreError as exc:
                # The rows are gone and their pages were overwritten (secure_delete); only
                # rows deleted by an older version may remain in free space.
                log.warning("could not rebuild the database after removing patient data")
                problems.append(f"free space of the local database ({exc})")
        for what, folder in (
            (
                "the downloaded result PDFs",
                self._context.paths.results_dir(self._context.environment.name, self.account.id),
            ),
            ("the checkout's saved sign-in", self._checkout_profile_dir()),
        ):
            try:
                await asyncio.to_thread(_remove_folder, folder)
            except OSError as exc:
                log.warning("could not remove a folder of patient data: %s", type(exc).__name__)
                problems.append(f"{what} in {folder} ({exc.strerror or exc})")
        if problems:
            self._context.bridge.error(
                "Some patient data could not be removed from this computer: "
                + "; ".join(problems)
                + ". Sign in and sign out again with “Remove patient data” to retry."
            )
        else:
            self._context.bridge.info("Patient data removed from this computer.")

    def _checkout_profile_dir(self) -> Path:
        """The folder of this account's embedded checkout web profile (cookies of Rupa's web
        app). `OrderWorkspace.close` has already removed it; removing it again here is a no-op
        then, and otherwise tells the user what is left."""
        return self._context.paths.web_profile_dir(self._context.environment.name, self.account.id)


def _remove_folder(folder: Path) -> None:
    """Delete a folder and everything in it (nothing to do when it does not exist)."""
    if folder.exists():
        shutil.rmtree(folder)
