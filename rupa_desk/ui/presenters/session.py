"""Signing in and out: the state behind the sign-in page, the status bar and the Sign out menu.

States (`SessionState`): at start-up *restoring* the saved session; *signed out* ("Sign in with
Rupa"); *waiting* for the browser (Cancel, the link to copy); *failed* with what went wrong
and "Try again"; *signed in*.

Signing in hands the account to an `AccountHost` (the composition root), which opens that
account's database and builds its panes; signing out asks it to close them again. The
presenter itself only talks to the `Authenticator` (tokens, browser, loopback listener) and
to `RupaClient.me()` (who signed in).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from PySide6.QtCore import QObject, Signal

from rupa_desk.core.errors import KnownError
from rupa_desk.core.models import Practitioner
from rupa_desk.services.auth import Authenticator, PendingSignIn
from rupa_desk.services.errors import (
    NotSignedIn,
    RupaError,
    SignInCancelled,
)
from rupa_desk.ui.presenters.connectivity import Connectivity

log = logging.getLogger(__name__)


class SessionState(Enum):
    """Where the sign-in is."""

    SIGNED_OUT = "signed out"
    RESTORING = "restoring"
    WAITING = "waiting for the browser"
    FAILED = "failed"
    SIGNED_IN = "signed in"


@dataclass(frozen=True)
class SignInView:
    """What the sign-in page shows.

    Attributes:
        state: the session state.
        environment_label: Production, Rupa sandbox or Demo.
        status: a sentence about what is happening.
        problem: what went wrong and what to do (state FAILED).
        authorize_url: the sign-in link (state WAITING), for "Copy the link".
        browser_opened: whether the system browser was opened with the link.
        hint: a standing note for this environment (demo mode: the demo login).
    """

    state: SessionState
    environment_label: str
    hint: str = ""
    status: str = ""
    problem: str = ""
    authorize_url: str = ""
    browser_opened: bool = False


@dataclass(frozen=True)
class Account:
    """Who is signed in.

    Attributes:
        id: the practitioner id (it names the account's local database).
        practitioner: the practitioner, or None when the session was resumed offline.
    """

    id: str
    practitioner: Practitioner | None = None

    @property
    def display_name(self) -> str:
        """The practitioner's titled name, or "Signed in" until Rupa has said who it is."""
        if self.practitioner is not None:
            return self.practitioner.titled_full_name or self.practitioner.email
        return "Signed in"


class AccountUnavailable(KnownError):
    """The account's workspace cannot be opened (e.g. its database is unusable); says why."""


class AccountHost(Protocol):
    """The composition root's side of a session: open and close an account's workspace."""

    async def open_account(self, account: Account, *, first_sign_in: bool) -> None:
        """Open the account's database, build its panes, start its background work.

        Raises:
            AccountUnavailable: it cannot be opened.
        """

    async def close_account(self, *, remove_patient_data: bool) -> None:
        """Stop the account's work, close its database (after removing patient data)."""


class WhoAmI(Protocol):
    """What the presenter needs of `RupaClient`."""

    async def me(self) -> Practitioner:
        """The signed-in practitioner."""


#: When no browser could be opened: completes the sign-in some other way (demo mode posts
#: the consent to the simulator itself). Called with the sign-in link.
NoBrowserHelper = Callable[[str], Coroutine[Any, Any, None]]

SIGN_IN_PROMPT = "Sign in with your Rupa account to use Rupa Desk."
#: Demo mode: how long a browser that was "opened" has to finish the sign-in before Rupa Desk
#: completes it itself (the OS may accept a link without any browser coming up).
BROWSER_GRACE_S = 20.0


class SessionPresenter(QObject):
    """Runs restore, sign-in and sign-out, and publishes the state as a `SignInView`.

    Args:
        auth: the environment's authenticator (tokens, browser, loopback listener).
        client: the API client (only `me()` is used here).
        host: opens and closes the signed-in account's workspace.
        connectivity: told whether Rupa answered.
        environment_label: shown on the sign-in page.
        hint: a standing note on the sign-in page (demo mode: the demo login).
        no_browser_helper: optional; see `NoBrowserHelper`.

    Signals:
        view_changed(SignInView): the sign-in page must show this.
        signed_in(Account): someone is signed in (restored or new); the workspace is open.
        signed_out(): the session ended; the workspace is closed.
    """

    view_changed = Signal(object)
    signed_in = Signal(object)
    signed_out = Signal()

    def __init__(
        self,
        auth: Authenticator,
        client: WhoAmI,
        host: AccountHost,
        connectivity: Connectivity,
        *,
        environment_label: str,
        hint: str = "",
        no_browser_helper: NoBrowserHelper | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._browser_grace_s = BROWSER_GRACE_S
        self._auth = auth
        self._client = client
        self._host = host
        self._connectivity = connectivity
        self._no_browser_helper = no_browser_helper
        self._pending: PendingSignIn | None = None
        self._cancel_requested = False
        self._account: Account | None = None
        # Until `restore()` has looked for a saved session, nobody knows whether one exists.
        self._view = SignInView(
            SessionState.RESTORING, environment_label, hint=hint, status="Starting…"
        )

    @property
    def view(self) -> SignInView:
        """What the sign-in page shows now."""
        return self._view

    @property
    def account(self) -> Account | None:
        """Who is signed in (None when nobody is)."""
        return self._account

    # -- start-up ------------------------------------------------------------------------------

    async def restore(self) -> bool:
        """Resume the saved session, if any (at start-up). Works offline once signed in before.

        When the session knows its account, the account opens at once (its catalog, patients
        and drafts work offline) and Rupa is asked who is signed in afterwards; a session that
        Rupa has ended since then goes back to the sign-in page.

        Returns:
            True when someone is signed in afterwards.
        """
        self._show(SessionState.RESTORING, status="Resuming your session…")
        try:
            if not await self._auth.restore_session():
                self._show(SessionState.SIGNED_OUT, status=SIGN_IN_PROMPT)
                return False
        except RupaError as exc:  # the keychain refused to be read
            self._show(SessionState.FAILED, status="You are not signed in.", problem=str(exc))
            return False
        account_id = self._auth.account_id
        if account_id is not None:
            if not await self._open(Account(account_id), first_sign_in=False):
                return False
            return await self.refresh_practitioner()
        try:
            practitioner = await self._client.me()
        except NotSignedIn as exc:  # the session ended on Rupa's side
            self._show(SessionState.SIGNED_OUT, status=exc.user_message)
            return False
        except RupaError as exc:
            self._connectivity.failed(exc)
            self._show(SessionState.FAILED, status="You are not signed in.", problem=str(exc))
            return False
        self._connectivity.answered()
        await self._auth.remember_account(practitioner.id)
        return await self._open(Account(practitioner.id, practitioner), first_sign_in=False)

    async def refresh_practitioner(self) -> bool:
        """Ask Rupa who is signed in (after resuming a session).

        Returns:
            True when still signed in (also when Rupa could not be reached: the session is
            kept); False when Rupa ended the session, which closes the account.
        """
        if self._account is None:
            return False
        try:
            practitioner = await self._client.me()
        except NotSignedIn as exc:
            self._account = None
            await self._host.close_account(remove_patient_data=False)
            self._show(SessionState.SIGNED_OUT, status=exc.user_message)
            self.signed_out.emit()
            return False
        except RupaError as exc:
            self._connectivity.failed(exc)
            return True
        self._connectivity.answered()
        self._account = Account(practitioner.id, practitioner)
        self._show(SessionState.SIGNED_IN, status=f"Signed in as {self._account.display_name}.")
        self.signed_in.emit(self._account)
        return True

    # -- sign-in -------------------------------------------------------------------------------

    async def sign_in(self) -> bool:
        """Open the browser and wait for the practitioner to finish signing in.

        Returns:
            True when signed in; False when cancelled or failed (the view says why).
        """
        if self._view.state in (SessionState.WAITING, SessionState.SIGNED_IN):
            return False
        self._show(SessionState.WAITING, status="Opening the Rupa sign-in page in your browser…")
        self._cancel_requested = False
        try:
            pending = await self._auth.start_sign_in()
        except RupaError as exc:
            self._show(SessionState.FAILED, status="You are not signed in.", problem=str(exc))
            return False
        self._pending = pending
        if self._cancel_requested:  # Cancel came while the browser was still being opened
            pending.cancel()
        helper: asyncio.Task[None] | None = None
        if pending.browser_opened:
            status = (
                "Rupa's sign-in page is open in your browser: sign in there and choose Allow. "
                "Rupa Desk continues by itself. No browser came up? Copy the link below."
            )
            if self._no_browser_helper is not None:
                # "Opened" only means the OS accepted the link: no browser may have come up
                # (a PC without one, a sandbox). In demo mode, finish the sign-in after a wait.
                helper = asyncio.get_running_loop().create_task(
                    self._complete_if_unconfirmed(pending.authorize_url),
                    name="sign-in-without-browser",
                )
                helper.add_done_callback(self._on_helper_done)
        elif self._no_browser_helper is not None:
            status = (
                "No browser could be opened on this computer, so Rupa Desk is completing the "
                "demo sign-in itself (as the demo practitioner)."
            )
            helper = asyncio.get_running_loop().create_task(
                self._no_browser_helper(pending.authorize_url), name="sign-in-without-browser"
            )
            helper.add_done_callback(self._on_helper_done)
        else:
            status = "Waiting for the sign-in to finish in a browser."
        self._show(
            SessionState.WAITING,
            status=status,
            authorize_url=pending.authorize_url,
            browser_opened=pending.browser_opened,
        )
        try:
            await pending.result()
            practitioner = await self._client.me()
            await self._auth.remember_account(practitioner.id)
        except SignInCancelled:
            self._show(SessionState.SIGNED_OUT, status="Sign-in cancelled. " + SIGN_IN_PROMPT)
            return False
        except asyncio.CancelledError:
            pending.cancel()
            if _being_cancelled():
                raise
            self._show(SessionState.SIGNED_OUT, status="Sign-in cancelled. " + SIGN_IN_PROMPT)
            return False
        except RupaError as exc:
            self._connectivity.failed(exc)
            self._show(SessionState.FAILED, status="You are not signed in.", problem=str(exc))
            return False
        finally:
            self._pending = None
            if helper is not None and not helper.done():
                helper.cancel()
                await asyncio.gather(helper, return_exceptions=True)
        self._connectivity.answered()
        return await self._open(Account(practitioner.id, practitioner), first_sign_in=True)

    def cancel_sign_in(self) -> None:
        """Stop waiting for the browser (the Cancel button)."""
        if self._pending is not None:
            self._pending.cancel()
        elif self._view.state is SessionState.WAITING:
            self._cancel_requested = True  # still opening: sign_in() cancels once it can

    async def _complete_if_unconfirmed(self, authorize_url: str) -> None:
        """Demo mode: the browser was "opened" but no sign-in came back in time: finish it."""
        assert self._no_browser_helper is not None
        await asyncio.sleep(self._browser_grace_s)
        log.info("no browser finished the demo sign-in; completing it without one")
        self._show(
            SessionState.WAITING,
            status="No browser finished the sign-in, so Rupa Desk is completing the demo "
            "sign-in itself (as the demo practitioner).",
            authorize_url=authorize_url,
            browser_opened=False,
        )
        await self._no_browser_helper(authorize_url)

    def _on_helper_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        log.warning("completing the demo sign-in failed: %s", type(exc).__name__)
        self._show(
            SessionState.WAITING,
            status="Rupa Desk could not complete the demo sign-in itself. Copy the link into a "
            "browser to finish, or cancel and try again.",
            authorize_url=self._view.authorize_url,
            browser_opened=False,
        )

    # -- sign-out ------------------------------------------------------------------------------

    async def sign_out(self, *, remove_patient_data: bool) -> None:
        """Revoke and forget the session, close the workspace (removing patient data if asked)."""
        result = await self._auth.sign_out()
        if result.had_session and not result.revoked:
            log.info("signed out locally; Rupa could not be told")
        self._account = None
        await self._host.close_account(remove_patient_data=remove_patient_data)
        self._show(SessionState.SIGNED_OUT, status="You signed out. " + SIGN_IN_PROMPT)
        self.signed_out.emit()

    # -- helpers -------------------------------------------------------------------------------

    async def _open(self, account: Account, *, first_sign_in: bool) -> bool:
        try:
            await self._host.open_account(account, first_sign_in=first_sign_in)
        except AccountUnavailable as exc:
            self._show(
                SessionState.FAILED,
                status="Rupa Desk cannot open this account's data on this computer.",
                problem=str(exc),
            )
            return False
        self._account = account
        self._show(SessionState.SIGNED_IN, status=f"Signed in as {account.display_name}.")
        self.signed_in.emit(account)
        return True

    def _show(
        self,
        state: SessionState,
        *,
        status: str,
        problem: str = "",
        authorize_url: str = "",
        browser_opened: bool = False,
    ) -> None:
        self._view = SignInView(
            state,
            self._view.environment_label,
            hint=self._view.hint,
            status=status,
            problem=problem,
            authorize_url=authorize_url,
            browser_opened=browser_opened,
        )
        self.view_changed.emit(self._view)


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
