"""The assembled app: every service, presenter and pane of Rupa Desk, for one environment.

`Desk` is the whole app for one environment: the sign-in service and API client, the session
presenter, the settings, the main window. It is also the session's `AccountHost`: when someone
signs in it opens that account's `AccountWorkspace` (database, panes, presenters, background
work), and closes it again on sign-out. `rupa_desk.app` (the process: Qt, the loop, the first
paint) imports this module only after the window has painted, because the services pull in
most of the start-up's imports. Tests build a `Desk` the same way `rupa_desk.app.main` does,
inside their own qasync loop, with a temporary `AppPaths`, an in-memory secret store and a
test browser (tests/fixtures/desk.py).

A signed-in account's services reach its workspace as one `AccountContext`; its panes are
built from the pane registry (`rupa_desk.ui.panes`) by `AccountWorkspace`
(rupa_desk/ui/account_workspace.py).
"""

from __future__ import annotations

import asyncio
import logging
import webbrowser
from dataclasses import dataclass, field, replace
from typing import Final

import httpx
from PySide6.QtCore import QTimer

from rupa_desk.paths import AppPaths
from rupa_desk.services.api import RupaClient
from rupa_desk.services.auth import Authenticator, BrowserOpener, client_secret_key
from rupa_desk.services.epic.client import EpicClient
from rupa_desk.services.epic.connection import EpicConnection
from rupa_desk.services.errors import SecretStoreUnavailable
from rupa_desk.services.secrets import SecretStoreChoice, SecretStoreMode, probe_secret_store
from rupa_desk.settings import (
    DEMO_LOGIN_EMAIL,
    DEMO_LOGIN_PASSWORD,
    ENVIRONMENT_LABELS,
    Environment,
    EpicSettings,
    ManagedSettings,
    UserSettings,
)
from rupa_desk.ui.account_workspace import AccountContext, AccountWorkspace
from rupa_desk.ui.bug_reports import BugReporter
from rupa_desk.ui.components.settings_dialog import SettingsDialog
from rupa_desk.ui.components.sign_out_dialog import SignOutDialog
from rupa_desk.ui.idle_lock import ScreenLock, minutes_to_ms
from rupa_desk.ui.main_window import MainWindow
from rupa_desk.ui.messages import Level, MessageBridge
from rupa_desk.ui.pages.sign_in import SignInPage
from rupa_desk.ui.presenters.connectivity import Connectivity
from rupa_desk.ui.presenters.epic import epic_status_text
from rupa_desk.ui.presenters.session import Account, NoBrowserHelper, SessionPresenter
from rupa_desk.ui.presenters.settings import SettingsPresenter
from rupa_desk.ui.tasks import BackgroundTasks
from rupa_desk.ui.window_state import WindowState
from rupa_desk.ui.workspace_commands import WorkspaceCommands

log = logging.getLogger(__name__)

#: The sidebar's counts are read again this long after the last change that may move them.
ATTENTION_DELAY_MS = 300


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
    if after.epic() != before.epic():  # the Epic connection is made once, at start
        changed.append("Epic connection")
    return changed


#: What a new appearance does, as "Settings saved: …" says it.
_APPEARANCE_WORDS: Final[dict[str, str]] = {
    "system": "Rupa Desk is light or dark as the system is set",
    "light": "Rupa Desk is light",
    "dark": "Rupa Desk is dark",
}


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


@dataclass(frozen=True)
class DeskParts:
    """What `Desk.create` was given besides the environment and the secret store (see there)."""

    paths: AppPaths
    settings: UserSettings
    bridge: MessageBridge
    reporter: BugReporter
    opener: BrowserOpener = webbrowser.open
    transport: httpx.AsyncBaseTransport | None = None
    no_browser_helper: NoBrowserHelper | None = None
    demo_running: bool = False
    managed: ManagedSettings = field(default_factory=ManagedSettings)
    epic: EpicSettings | None = None


class Desk:
    """The app for one environment: services, presenters and the main window.

    Build it with `Desk.create` inside a running qasync loop, then `start()`; `close()`
    shuts it down. It is the session presenter's `AccountHost`.
    """

    def __init__(
        self,
        parts: DeskParts,
        *,
        environment: Environment,
        secrets: SecretStoreChoice,
        window: MainWindow | None = None,
    ) -> None:
        paths, bridge, reporter = parts.paths, parts.bridge, parts.reporter
        self.paths = paths
        self.environment = environment
        self.bridge = bridge
        self.reporter = reporter
        self.secrets = secrets
        self.tasks = BackgroundTasks(reporter.on_task_failed)
        self._demo_running = parts.demo_running
        self._settings_at_start = settings = parts.settings
        self._closed = asyncio.get_running_loop().create_future()
        self._closing = False

        self._open_url = opener = parts.opener
        transport = parts.transport
        self.auth = Authenticator(
            environment, secrets.store, opener=opener, transport=transport, paths=paths
        )
        self.client = RupaClient(environment, self.auth, transport=transport)
        self.epic: tuple[EpicConnection, EpicClient] | None = None
        epic_settings = parts.epic if parts.epic is not None else settings.epic()
        if epic_settings is not None:  # Epic is optional
            # Not the tests' transport of Rupa: Epic is another server.
            connection = EpicConnection(epic_settings, secrets.store, opener=opener)
            self.epic = (connection, EpicClient(epic_settings, connection))
        self.connectivity = Connectivity()
        self.workspace: AccountWorkspace | None = None
        self.commands: WorkspaceCommands | None = None
        self._attention_timer = QTimer()
        self._attention_timer.setSingleShot(True)
        self._attention_timer.setInterval(ATTENTION_DELAY_MS)
        self._attention_timer.timeout.connect(self._show_attention)
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
            no_browser_helper=parts.no_browser_helper,
        )
        self.settings = SettingsPresenter(
            paths.settings_file,
            secrets.store,
            settings,
            secret_storage=secrets.mode.value,
            managed=parts.managed,
        )

        self.sign_in_page = SignInPage(self.session)
        if window is None:
            window = MainWindow(bridge=bridge, window_state=WindowState(paths.config_dir))
        self.window = window
        self.window.set_appearance(self.settings.current.appearance)
        self.window.set_sign_in_page(self.sign_in_page)
        self.window.set_demo_band(environment.name == "demo")
        self.status_bar = window.status
        self.status_bar.set_environment(environment.label)
        self.status_bar.set_token_storage(secrets.mode.value)
        self.window.closed.connect(self._on_window_closed)
        self.window.pane_changed.connect(self._attention_timer.start)  # the inbox was seen
        self.window.settings_requested.connect(self._on_window_settings_requested)
        self.window.sign_out_requested.connect(self._on_window_sign_out_requested)
        self.connectivity.online_changed.connect(self._on_connectivity_online_changed)
        self.session.signed_in.connect(self._on_session_signed_in)
        self.session.signed_out.connect(self._on_session_signed_out)
        self.settings.saved.connect(self._on_settings_saved)
        self.screen_lock = ScreenLock(
            window,
            secrets.store,
            self.tasks,
            sign_out=self._sign_out_from_lock,
            timeout_ms=minutes_to_ms(self.settings.current.idle_lock_minutes),
        )

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
        managed: ManagedSettings | None = None,
        epic: EpicSettings | None = None,
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
            managed: the clinic's locked settings (None: nothing is locked).
            epic: the Epic connection to use instead of the settings' (demo mode's simulator).
        """
        choice = secrets if secrets is not None else await probe_secret_store()
        if choice.mode is SecretStoreMode.SESSION_ONLY and choice.reason:
            bridge.warning(choice.reason)
        if environment.name != "demo" and environment.client_secret is None:
            try:
                secret = await choice.store.get(client_secret_key(environment))
            except SecretStoreUnavailable as exc:
                bridge.known_error(exc, level=Level.WARNING)
                secret = None
            environment = environment.with_secret(secret)
        parts = DeskParts(
            paths,
            settings,
            bridge,
            reporter,
            opener,
            transport,
            no_browser_helper,
            demo_running,
            managed or ManagedSettings(),
            epic,
        )
        return cls(parts, environment=environment, secrets=choice, window=window)

    # -- running -------------------------------------------------------------------------------

    def start(self) -> None:
        """Show the window, deliver queued messages and resume the saved session."""
        self.window.show()
        self.window.attach_messages()
        self.tasks.spawn(self.session.restore(), name="restore-session")
        if self.epic is not None:
            self.tasks.spawn(self._restore_epic(self.epic[0]), name="restore-epic-session")

    async def _restore_epic(self, connection: EpicConnection) -> None:
        """Take a kept Epic session from the keychain and say whether Epic is connected."""
        await connection.restore()
        self.status_bar.set_epic_status(epic_status_text(connection.status()))

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
        self._attention_timer.stop()
        self.screen_lock.disarm()
        await self.tasks.cancel_all()
        if self.workspace is not None:
            await self.workspace.close(remove_patient_data=False)
            self.workspace = None
        await self.auth.aclose()
        await self.client.aclose()
        if self.epic is not None:
            await self.epic[1].aclose()
            await self.epic[0].aclose()
        self.window.deleteLater()
        log.info("closed")

    # -- AccountHost -----------------------------------------------------------------------------

    async def open_account(self, account: Account, *, first_sign_in: bool) -> None:
        """Open the signed-in account's workspace and show its panes."""
        if self.workspace is not None:
            await self.workspace.close(remove_patient_data=False)
        workspace = AccountWorkspace.open(
            AccountContext(
                account,
                self.environment,
                self.paths,
                self.client,
                self.bridge,
                self.connectivity,
                self.status_bar,
                BackgroundTasks(self.reporter.on_task_failed),
                poll_interval_s=self.settings.current.poll_interval_s,
                open_url=self._open_url,
                preferred_labs=self.settings.current.preferred_labs,
                epic=self.epic,
                epic_auto_file=self.settings.current.epic_auto_file,
            ),
            self.window.pane_specs,
        )
        self.workspace = workspace
        workspace.orders.notifier.activated.connect(self._on_notifier_activated)
        # Counted again a moment after the last change, not at every keystroke of a note.
        workspace.orders.drafts.drafts_changed.connect(self._attention_timer.start)
        workspace.orders.drafts.draft_changed.connect(self._attention_timer.start)
        workspace.orders.orders.orders_changed.connect(self._attention_timer.start)
        workspace.orders.drafts.open_requested.connect(self._on_drafts_open_requested)
        self.window.install_panes(workspace.panes)
        self.commands = WorkspaceCommands(workspace, self.window, self.bridge)
        self.window.set_command_handlers(self.commands.handlers())
        self.window.show_workspace()
        self.screen_lock.arm(self.environment, account.id, workspace.orders.notifier)
        await workspace.start(first_sign_in=first_sign_in)
        self._show_attention()

    async def close_account(self, *, remove_patient_data: bool) -> None:
        """Close the workspace (removing patient data if asked) and show the sign-in page.

        The messages of the account go first (they may name its patients); what closing it
        reports (patient data that could not be removed) is shown after.
        """
        self.window.banner.clear()
        self._attention_timer.stop()
        self.screen_lock.disarm()
        if self.commands is not None:
            self.commands.close()  # the palette lists the account's patients
            self.commands = None
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
        labs = [c.name for c in self.workspace.catalog.companies()] if self.workspace else []
        dialog = SettingsDialog(
            self.settings, demo_running=self._demo_running, lab_names=labs, parent=self.window
        )
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def _on_window_sign_out_requested(self) -> None:
        account = self.session.account
        if account is None:
            return
        dialog = SignOutDialog(
            self.session,
            account.display_name,
            shared_pc=self.settings.managed.shared_pc,
            parent=self.window,
        )
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def _on_settings_saved(self, settings: UserSettings, secret_changed: bool) -> None:
        """Apply what can be applied now; say plainly what waits for a restart.

        The polling interval applies at once (to the signed-in account's order polling, and
        to every later sign-in), and so do the preferred labs (the catalog searches again) and
        automatic filing to Epic.
        The environment, client id, client secret, sandbox sign-in page and redirect ports
        make up the `Environment` this Desk was built for: its session (keychain entries per
        environment and client), its HTTP clients, its accounts' folders and, in demo mode,
        the simulator. Swapping them under a signed-in user would end the
        session without asking and could mix two environments in the open panes, so they are
        used from the next start, and the user is told so.
        """
        applied = []
        if settings.idle_lock_minutes != self._settings_at_start.idle_lock_minutes:
            self.screen_lock.set_timeout_ms(minutes_to_ms(settings.idle_lock_minutes))
            applied.append(
                f"the window locks after {settings.idle_lock_minutes} minutes without use"
            )
        if settings.poll_interval_s != self._settings_at_start.poll_interval_s:
            if self.workspace is not None:
                self.workspace.set_poll_interval(settings.poll_interval_s)
            applied.append(f"orders are checked every {settings.poll_interval_s} s from now on")
        if settings.preferred_labs != self._settings_at_start.preferred_labs:
            if self.workspace is not None:
                self.workspace.tasks.spawn(
                    self.workspace.catalog.set_preferred_labs(settings.preferred_labs),
                    name="preferred-labs",
                )
            applied.append("your preferred labs are listed first from now on")
        if settings.epic_auto_file != self._settings_at_start.epic_auto_file and self.epic:
            if self.workspace is not None:
                self.workspace.set_epic_auto_file(settings.epic_auto_file)
            applied.append(
                "results are filed to Epic automatically from now on"
                if settings.epic_auto_file
                else "results are filed to Epic only with File to Epic from now on"
            )
        if settings.appearance != self._settings_at_start.appearance:
            self.window.set_appearance(settings.appearance)
            applied.append(_APPEARANCE_WORDS[settings.appearance])
        later = _needs_restart(self._settings_at_start, settings, secret_changed=secret_changed)
        self._settings_at_start = replace(
            self._settings_at_start,
            appearance=settings.appearance,
            poll_interval_s=settings.poll_interval_s,
            idle_lock_minutes=settings.idle_lock_minutes,
            preferred_labs=settings.preferred_labs,
            epic_auto_file=settings.epic_auto_file,
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

    async def _sign_out_from_lock(self) -> None:
        """Sign out from the lock page (five wrong PINs, or "Sign in again instead").

        Patient data is removed when the clinic said the PC is shared, as the sign-out
        dialog suggests there.
        """
        if self.session.account is not None:
            await self.session.sign_out(remove_patient_data=self.settings.managed.shared_pc)

    def _on_connectivity_online_changed(self, online: bool) -> None:
        self.status_bar.set_online(online)

    def _on_session_signed_in(self, account: Account) -> None:
        self.status_bar.set_practitioner(account.display_name)
        if self.auth.store_degraded:
            self.status_bar.set_token_storage(SecretStoreMode.SESSION_ONLY.value)
        self.window.raise_()
        self.window.activateWindow()

    def _show_attention(self) -> None:
        """The sidebar's counts: drafts not ordered yet, orders waiting for payment."""
        workspace = self.workspace
        if workspace is None:
            return
        for key, (count, meaning) in workspace.attention().items():
            if key in self.window.pane_keys:
                self.window.set_pane_count(key, count, meaning)

    def _on_drafts_open_requested(self, draft_id: str) -> None:
        self.window.show_pane("drafts")  # "New order", "Order again": add its tests next

    def _on_notifier_activated(self) -> None:
        """The user clicked the tray icon or a notification: bring the window up."""
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()

    def _on_session_signed_out(self) -> None:
        self.status_bar.set_practitioner(None)
