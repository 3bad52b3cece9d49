"""The assembled app: every service, presenter and pane of Rupa Desk, for one environment.

`Desk` is the whole app for one environment: the sign-in service and API client, the session
presenter, the settings, the main window. It is also the session's `AccountHost`: when someone
signs in it opens that account's `AccountWorkspace` (database, panes, presenters, background
work), and closes it again on sign-out. `rupa_desk.app` (the process: Qt, the loop, the first
paint) imports this module only after the window has painted, because the services pull in
most of the start-up's imports. Tests build a `Desk` the same way `rupa_desk.app.main` does,
inside their own qasync loop, with a temporary `AppPaths`, an in-memory secret store and a
test browser (tests/fixtures/desk.py).

The panes of a signed-in account are built in `AccountWorkspace.__init__`: Patients and Catalog
here, Draft orders and Orders by its `OrderWorkspace` (rupa_desk/ui/order_workspace.py).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import webbrowser
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from rupa_desk.paths import AppPaths
from rupa_desk.services.api import RupaClient
from rupa_desk.services.auth import Authenticator, BrowserOpener, client_secret_key
from rupa_desk.services.errors import SecretStoreUnavailable
from rupa_desk.services.secrets import SecretStoreChoice, SecretStoreMode, probe_secret_store
from rupa_desk.services.store import Store, StoreError, vacuum_file
from rupa_desk.services.sync import CatalogSync
from rupa_desk.settings import (
    DEMO_LOGIN_EMAIL,
    DEMO_LOGIN_PASSWORD,
    ENVIRONMENT_LABELS,
    Environment,
    UserSettings,
)
from rupa_desk.ui.bug_reports import BugReporter
from rupa_desk.ui.components.settings_dialog import SettingsDialog
from rupa_desk.ui.components.sign_out_dialog import SignOutDialog
from rupa_desk.ui.components.status_bar import StatusBar
from rupa_desk.ui.main_window import MainWindow
from rupa_desk.ui.messages import MessageBridge
from rupa_desk.ui.order_workspace import OrderWorkspace
from rupa_desk.ui.pages.catalog import CatalogPage
from rupa_desk.ui.pages.patients import PatientsPage
from rupa_desk.ui.pages.sign_in import SignInPage
from rupa_desk.ui.presenters.catalog import CatalogPresenter
from rupa_desk.ui.presenters.connectivity import Connectivity
from rupa_desk.ui.presenters.patients import PatientsPresenter
from rupa_desk.ui.presenters.session import (
    Account,
    AccountUnavailable,
    NoBrowserHelper,
    SessionPresenter,
)
from rupa_desk.ui.presenters.settings import SettingsPresenter
from rupa_desk.ui.tasks import BackgroundTasks
from rupa_desk.ui.window_state import WindowState

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

log = logging.getLogger(__name__)


class AccountWorkspace:
    """Everything of one signed-in account: its database, panes, presenters, background work.

    Built by `Desk.open_account` (sign-in, restore), closed by `Desk.close_account` (sign-out)
    and `Desk.close` (quit). Nothing of it outlives the account, so the next person to sign in
    on a shared PC never sees the previous account's data.

    Drafts, checkout and order tracking are its `OrderWorkspace` (`self.orders`): the Draft
    orders and Orders panes, the catalog's "Add to draft" target, the order poller.

    Args:
        account: who is signed in.
        store: the account's database (opened by the caller; closed by `close`).
        environment: the Rupa environment.
        client: the API client.
        bridge: messages to the user.
        connectivity: online/offline, as requests find it.
        status_bar: shows sync progress and the catalog's age.
        tasks: the account's background tasks (cancelled on close).
        paths: the app's folders (result PDFs, the checkout's web profile).
        poll_interval_s: the user's order polling interval.
        open_url: opens the system browser.
    """

    def __init__(
        self,
        account: Account,
        *,
        store: Store,
        environment: Environment,
        client: RupaClient,
        bridge: MessageBridge,
        connectivity: Connectivity,
        status_bar: StatusBar,
        tasks: BackgroundTasks,
        paths: AppPaths,
        poll_interval_s: float = 60.0,
        open_url: Callable[[str], bool] = webbrowser.open,
    ) -> None:
        if store.path is None:
            raise ValueError("the workspace needs a database file (the sync writes to it)")
        self.account = account
        self.store = store
        self.tasks = tasks
        self._client = client
        self._bridge = bridge
        self._paths = paths
        self._environment_name = environment.name
        self.orders = OrderWorkspace(
            paths=paths,
            environment=environment,
            account_id=account.id,
            store=store,
            client=client,
            bridge=bridge,
            connectivity=connectivity,
            tasks=tasks,
            poll_interval_s=poll_interval_s,
            open_url=open_url,
        )
        self.catalog = CatalogPresenter(
            store.catalog,
            CatalogSync(client, store.path, account_db=store.db, limits=environment.limits),
            self.orders.drafts,
            bridge,
            connectivity,
        )
        self.catalog.sync_progress.connect(status_bar.set_sync_progress)
        self.catalog.sync_finished.connect(status_bar.finish_sync)
        self.catalog.catalog_changed.connect(status_bar.set_catalog_synced_at)
        status_bar.set_catalog_synced_at(self.catalog.last_synced())
        self.patients = PatientsPresenter(
            store.patients, store.drafts, store.patient_forms, client, bridge, connectivity
        )
        self.panes: dict[str, QWidget] = {
            "patients": PatientsPage(self.patients, saved_orders=store.orders),
            "catalog": CatalogPage(self.catalog),
            "drafts": self.orders.drafts_page,
            "orders": self.orders.orders_page,
        }

    @classmethod
    def open(
        cls,
        paths: AppPaths,
        account: Account,
        *,
        environment: Environment,
        client: RupaClient,
        bridge: MessageBridge,
        connectivity: Connectivity,
        status_bar: StatusBar,
        tasks: BackgroundTasks,
        poll_interval_s: float = 60.0,
        open_url: Callable[[str], bool] = webbrowser.open,
    ) -> AccountWorkspace:
        """Open the account's database and build the workspace on it.

        Raises:
            AccountUnavailable: the database cannot be opened (the message says why).
        """
        try:
            store = Store.for_account(paths, environment.name, account.id)
        except StoreError as exc:
            raise AccountUnavailable(str(exc)) from exc
        try:
            return cls(
                account,
                store=store,
                environment=environment,
                client=client,
                bridge=bridge,
                connectivity=connectivity,
                status_bar=status_bar,
                tasks=tasks,
                paths=paths,
                poll_interval_s=poll_interval_s,
                open_url=open_url,
            )
        except BaseException:
            store.close()
            raise

    def set_poll_interval(self, seconds: float) -> None:
        """Use the user's new order polling interval from each order's next check on."""
        schedule = self.orders.schedule
        schedule.policy = replace(schedule.policy, base_interval_s=float(seconds))

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

    async def close(self, *, remove_patient_data: bool) -> None:
        """Stop the account's work, remove patient data if asked, close the database.

        Removing patient data (the sign-out dialog's `REMOVED_WITH_PATIENT_DATA` and
        `KEPT_WITH_PATIENT_DATA` say what goes and what stays, exactly): the
        database's patient rows (`Store.remove_patient_data`), then, with the database closed,
        its file rebuilt so no deleted row survives in free pages (`vacuum_file`, on a worker
        thread), the downloaded result PDFs, and the checkout's web profile (Rupa's web-app
        sign-in). What could not be removed is told to the user.
        """
        await self.tasks.cancel_all()
        await self.orders.close(remove_web_profile=remove_patient_data)
        await self.catalog.close()
        await self.patients.close()
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
                self._paths.results_dir(self._environment_name, self.account.id),
            ),
            ("the checkout's saved sign-in", self._checkout_profile_dir()),
        ):
            try:
                await asyncio.to_thread(_remove_folder, folder)
            except OSError as exc:
                log.warning("could not remove a folder of patient data: %s", type(exc).__name__)
                problems.append(f"{what} in {folder} ({exc.strerror or exc})")
        if problems:
            self._bridge.error(
                "Some patient data could not be removed from this computer: "
                + "; ".join(problems)
                + ". Sign in and sign out again with “Remove patient data” to retry."
            )
        else:
            self._bridge.info("Patient data removed from this computer.")

    def _checkout_profile_dir(self) -> Path:
        """The folder of this account's embedded checkout web profile (cookies of Rupa's web
        app). `OrderWorkspace.close` has already removed it; removing it again here is a no-op
        then, and otherwise tells the user what is left."""
        return self._paths.web_profile_dir(self._environment_name, self.account.id)


def _needs_restart(before: UserSettings, after: UserSettings, *, secret_changed: bool) -> list[str]:
    """The saved settings that change the environment (used from the next start), in words."""
    changed = []
    if after.environment != before.environment:
        changed.append(f"environment ({ENVIRONMENT_LABELS[after.environment]})")
    if after.client_id != before.client_id:
        changed.append("client id")
    if secret_changed:
        changed.append("client secret")
    if after.sandbox_authorize_url != before.sandbox_authorize_url:
        changed.append("sandbox sign-in page")
    if after.redirect_ports != before.redirect_ports:
        changed.append("redirect ports")
    return changed


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _remove_folder(folder: Path) -> None:
    """Delete a folder and everything in it (nothing to do when it does not exist)."""
    if folder.exists():
        shutil.rmtree(folder)


class Desk:
    """The app for one environment: services, presenters and the main window.

    Build it with `Desk.create` inside a running qasync loop, then `start()`; `close()`
    shuts it down. It is the session presenter's `AccountHost`.
    """

    def __init__(
        self,
        *,
        paths: AppPaths,
        environment: Environment,
        settings: UserSettings,
        secrets: SecretStoreChoice,
        bridge: MessageBridge,
        reporter: BugReporter,
        opener: BrowserOpener,
        transport: httpx.AsyncBaseTransport | None = None,
        no_browser_helper: NoBrowserHelper | None = None,
        demo_running: bool = False,
        window: MainWindow | None = None,
    ) -> None:
        self.paths = paths
        self.environment = environment
        self.bridge = bridge
        self.reporter = reporter
        self.secrets = secrets
        self.tasks = BackgroundTasks(reporter.on_task_failed)
        self._demo_running = demo_running
        self._settings_at_start = settings
        self._closed = asyncio.get_running_loop().create_future()
        self._closing = False

        self._open_url = opener
        self.auth = Authenticator(
            environment, secrets.store, opener=opener, transport=transport, paths=paths
        )
        self.client = RupaClient(environment, self.auth, transport=transport)
        self.connectivity = Connectivity()
        self.workspace: AccountWorkspace | None = None
        self.session = SessionPresenter(
            self.auth,
            self.client,
            self,
            self.connectivity,
            environment_label=environment.label,
            hint=(
                f"Demo: sign in as {DEMO_LOGIN_EMAIL} with the password {DEMO_LOGIN_PASSWORD!r}."
                if environment.name == "demo"
                else ""
            ),
            no_browser_helper=no_browser_helper,
        )
        self.settings = SettingsPresenter(
            paths.settings_file,
            secrets.store,
            settings,
            secret_storage=secrets.mode.value,
        )

        self.sign_in_page = SignInPage(self.session)
        if window is None:
            window = MainWindow(bridge=bridge, window_state=WindowState(paths.config_dir))
        self.window = window
        self.window.set_sign_in_page(self.sign_in_page)
        self.status_bar = window.status
        self.status_bar.set_environment(environment.label)
        self.status_bar.set_token_storage(secrets.mode.value)
        self.window.closed.connect(self._on_window_closed)
        self.window.settings_requested.connect(self._on_window_settings_requested)
        self.window.sign_out_requested.connect(self._on_window_sign_out_requested)
        self.connectivity.online_changed.connect(self._on_connectivity_online_changed)
        self.session.signed_in.connect(self._on_session_signed_in)
        self.session.signed_out.connect(self._on_session_signed_out)
        self.settings.saved.connect(self._on_settings_saved)

    @classmethod
    async def create(
        cls,
        paths: AppPaths,
        *,
        environment: Environment,
        settings: UserSettings,
        bridge: MessageBridge,
        reporter: BugReporter,
        secrets: SecretStoreChoice | None = None,
        opener: BrowserOpener = webbrowser.open,
        transport: httpx.AsyncBaseTransport | None = None,
        no_browser_helper: NoBrowserHelper | None = None,
        demo_running: bool = False,
        window: MainWindow | None = None,
    ) -> Desk:
        """Probe the keychain, load the client secret and build the app.

        Args:
            paths: the app's folders.
            environment: the Rupa environment to use.
            settings: the user settings (shown in the Settings dialog).
            bridge: messages to the user.
            reporter: where unexpected exceptions go.
            secrets: the secret store; None probes the OS keychain.
            opener: opens the system browser (tests play the browser here).
            transport: an httpx transport for both HTTP clients (tests); None for the network.
            no_browser_helper: completes a sign-in when no browser opens (demo mode).
            demo_running: the environment is the built-in simulator started by `--demo`.
            window: the main window, when it was shown before the services were loaded
                (the app does that so that it paints at once); None builds one.
        """
        choice = secrets if secrets is not None else await probe_secret_store()
        if choice.mode is SecretStoreMode.SESSION_ONLY and choice.reason:
            bridge.warning(choice.reason)
        if environment.name != "demo" and environment.client_secret is None:
            try:
                secret = await choice.store.get(client_secret_key(environment))
            except SecretStoreUnavailable as exc:
                bridge.warning(str(exc))
                secret = None
            environment = environment.with_secret(secret)
        return cls(
            paths=paths,
            environment=environment,
            settings=settings,
            secrets=choice,
            bridge=bridge,
            reporter=reporter,
            opener=opener,
            transport=transport,
            no_browser_helper=no_browser_helper,
            demo_running=demo_running,
            window=window,
        )

    # -- running -------------------------------------------------------------------------------

    def start(self) -> None:
        """Show the window, deliver queued messages and resume the saved session."""
        self.window.show()
        self.window.attach_messages()
        self.tasks.spawn(self.session.restore(), name="restore-session")

    async def wait_closed(self) -> None:
        """Wait until the user closes the main window."""
        await asyncio.shield(self._closed)

    async def close(self) -> None:
        """Shut down: cancel background work, close the account, the HTTP clients."""
        if self._closing:
            return
        self._closing = True
        if not self.window.isHidden():
            self.window.close()
        await self.tasks.cancel_all()
        if self.workspace is not None:
            await self.workspace.close(remove_patient_data=False)
            self.workspace = None
        await self.auth.aclose()
        await self.client.aclose()
        self.window.deleteLater()
        log.info("closed")

    # -- AccountHost -----------------------------------------------------------------------------

    async def open_account(self, account: Account, *, first_sign_in: bool) -> None:
        """Open the signed-in account's workspace and show its panes."""
        if self.workspace is not None:
            await self.workspace.close(remove_patient_data=False)
        workspace = AccountWorkspace.open(
            self.paths,
            account,
            environment=self.environment,
            client=self.client,
            bridge=self.bridge,
            connectivity=self.connectivity,
            status_bar=self.status_bar,
            tasks=BackgroundTasks(self.reporter.on_task_failed),
            poll_interval_s=self.settings.current.poll_interval_s,
            open_url=self._open_url,
        )
        self.workspace = workspace
        workspace.orders.notifier.activated.connect(self._on_notifier_activated)
        self.window.install_panes(workspace.panes)
        self.window.show_workspace()
        await workspace.start(first_sign_in=first_sign_in)

    async def close_account(self, *, remove_patient_data: bool) -> None:
        """Close the workspace (removing patient data if asked) and show the sign-in page."""
        workspace, self.workspace = self.workspace, None
        try:
            if workspace is not None:
                await workspace.close(remove_patient_data=remove_patient_data)
        finally:
            self.status_bar.account_closed()
            self.window.show_sign_in()
            self.window.remove_panes()

    # -- slots ---------------------------------------------------------------------------------

    def _on_window_closed(self) -> None:
        if not self._closed.done():
            self._closed.set_result(None)

    def _on_window_settings_requested(self) -> None:
        dialog = SettingsDialog(self.settings, demo_running=self._demo_running, parent=self.window)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def _on_window_sign_out_requested(self) -> None:
        account = self.session.account
        if account is None:
            return
        dialog = SignOutDialog(self.session, account.display_name, parent=self.window)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def _on_settings_saved(self, settings: UserSettings, secret_changed: bool) -> None:
        """Apply what can be applied now; say plainly what waits for a restart.

        The polling interval applies at once (to the signed-in account's order polling, and
        to every later sign-in). The environment, client id, client secret, sandbox sign-in
        page and redirect ports make up the `Environment` this Desk was built for: its session
        (keychain entries per environment and client), its HTTP clients, its accounts' folders
        and, in demo mode, the simulator. Swapping them under a signed-in user would end the
        session without asking and could mix two environments in the open panes, so they are
        used from the next start, and the user is told so.
        """
        applied = []
        if settings.poll_interval_s != self._settings_at_start.poll_interval_s:
            if self.workspace is not None:
                self.workspace.set_poll_interval(settings.poll_interval_s)
            applied.append(f"orders are checked every {settings.poll_interval_s} s from now on")
        later = _needs_restart(self._settings_at_start, settings, secret_changed=secret_changed)
        self._settings_at_start = replace(
            self._settings_at_start, poll_interval_s=settings.poll_interval_s
        )
        if later:
            start = "starts again without --demo" if self._demo_running else "starts again"
            self.bridge.warning(
                "Settings saved"
                + (f" ({'; '.join(applied)})" if applied else "")
                + f". The new {_and(later)} {'takes' if len(later) == 1 else 'take'} effect "
                f"when Rupa Desk {start}: quit it "
                f"(File › Quit) and start it again. Until then it keeps using "
                f"{self.environment.label}."
            )
        else:
            self.bridge.info("Settings saved" + (f": {'; '.join(applied)}." if applied else "."))

    def _on_connectivity_online_changed(self, online: bool) -> None:
        self.status_bar.set_online(online)

    def _on_session_signed_in(self, account: Account) -> None:
        self.status_bar.set_practitioner(account.display_name)
        if self.auth.store_degraded:
            self.status_bar.set_token_storage(SecretStoreMode.SESSION_ONLY.value)
        self.window.raise_()
        self.window.activateWindow()

    def _on_notifier_activated(self) -> None:
        """The user clicked the tray icon or a notification: bring the window up."""
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()

    def _on_session_signed_out(self) -> None:
        self.status_bar.set_practitioner(None)
