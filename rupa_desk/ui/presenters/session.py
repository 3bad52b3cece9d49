"""Signing in and out: the state behind the sign-in page, the status bar and the Sign out menu.

States (`SessionState`): signed out → waiting for the browser → signed in, or failed with a
reason and "Try again"; at start-up, restoring the saved session.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any, Protocol

from PySide6.QtCore import QObject, Signal

from rupa_desk.core.models import Practitioner

log = logging.getLogger(__name__)


class SessionState(enum.Enum):
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
    """

    state: SessionState
    environment_label: str
    status: str = ""
    problem: str = ""
    authorize_url: str = ""
    browser_opened: bool = False


class PendingSignIn(Protocol):
    """A sign-in in progress: the browser has the link; the loopback listener waits."""

    @property
    def authorize_url(self) -> str:
        """The sign-in page's URL (with state and PKCE challenge)."""

    @property
    def browser_opened(self) -> bool:
        """Whether the system browser accepted the URL."""

    def cancel(self) -> None:
        """Stop waiting (closes the listener)."""

    async def result(self) -> Practitioner:
        """Wait for the redirect, exchange the code and return who signed in."""


class AccountService(Protocol):
    """What the session presenter needs of the sign-in service."""

    async def restore(self) -> Practitioner | None:
        """Sign in again with the saved refresh token; None when there is no saved session."""

    async def begin_sign_in(self) -> PendingSignIn:
        """Bind the loopback listener and open the browser."""

    async def sign_out(self) -> None:
        """Revoke and forget the session."""


#: Turns a known sign-in exception into what to tell the user (raises what it does not know).
ErrorDescriber = Callable[[BaseException], str]
#: Called when the sign-in waits with no browser (demo mode completes the consent itself).
NoBrowserHelper = Callable[[str], Coroutine[Any, Any, None]]


class SessionPresenter(QObject):
    """Runs sign-in, restore and sign-out, and publishes the state as a `SignInView`.

    Args:
        account: the sign-in service.
        environment_label: shown on the sign-in page and in the status bar.
        describe_error: turns known sign-in errors (denied, timeout, offline) into a sentence;
            anything else propagates as a bug.
        no_browser_helper: optional; when the browser could not be opened it is called with
            the sign-in link and may complete the sign-in itself (demo mode), returning a note
            to show while it does.
        purge_patient_data: removes the local patient data (sign-out's checkbox).

    Signals:
        view_changed(SignInView): the sign-in page must show this.
        signed_in(Practitioner): someone is signed in (restored or new).
        signed_out(): the session ended.
    """

    view_changed = Signal(object)
    signed_in = Signal(object)
    signed_out = Signal()

    def __init__(
        self,
        account: AccountService,
        *,
        environment_label: str,
        describe_error: ErrorDescriber,
        purge_patient_data: Callable[[], Awaitable[None]],
        no_browser_helper: NoBrowserHelper | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._account = account
        self._describe_error = describe_error
        self._purge_patient_data = purge_patient_data
        self._no_browser_helper = no_browser_helper
        self._pending: PendingSignIn | None = None
        self._practitioner: Practitioner | None = None
        self._view = SignInView(
            SessionState.SIGNED_OUT,
            environment_label,
            status="Sign in with your Rupa account to use Rupa Desk.",
        )

    @property
    def view(self) -> SignInView:
        """What the sign-in page shows now."""
        return self._view

    @property
    def practitioner(self) -> Practitioner | None:
        """Who is signed in (None when nobody is)."""
        return self._practitioner

    def _show(self, view: SignInView) -> None:
        self._view = view
        self.view_changed.emit(view)

    def _signed_out_view(self, status: str) -> SignInView:
        return SignInView(SessionState.SIGNED_OUT, self._view.environment_label, status=status)

    async def restore(self) -> bool:
        """Resume the saved session, if any (at start-up).

        Returns:
            True when someone is signed in afterwards.
        """
        self._show(
            replace(self._signed_out_view("Restoring your session…"), state=SessionState.RESTORING)
        )
        try:
            practitioner = await self._account.restore()
        except Exception as exc:
            problem = self._describe_error(exc)
            self._show(
                SignInView(
                    SessionState.FAILED,
                    self._view.environment_label,
                    status="Your saved session could not be resumed.",
                    problem=problem,
                )
            )
            return False
        if practitioner is None:
            self._show(self._signed_out_view("Sign in with your Rupa account to use Rupa Desk."))
            return False
        self._set_signed_in(practitioner)
        return True

    async def sign_in(self) -> bool:
        """Open the browser and wait for the practitioner to finish signing in.

        Returns:
            True when signed in; False when cancelled or failed (the view says why).
        """
        if self._view.state is SessionState.WAITING:
            return False
        self._show(
            SignInView(
                SessionState.WAITING,
                self._view.environment_label,
                status="Opening the Rupa sign-in page in your browser…",
            )
        )
        try:
            pending = await self._account.begin_sign_in()
        except Exception as exc:
            self._fail(exc)
            return False
        self._pending = pending
        status = (
            "Finish signing in in your browser. Rupa Desk will come back here by itself."
            if pending.browser_opened
            else "Waiting for the sign-in to finish in a browser."
        )
        helper_task: asyncio.Task[None] | None = None
        if not pending.browser_opened and self._no_browser_helper is not None:
            helper_task = asyncio.get_running_loop().create_task(
                self._no_browser_helper(pending.authorize_url), name="sign-in-without-browser"
            )
            status = (
                "No browser could be opened here, so Rupa Desk is completing the demo "
                "sign-in for you."
            )
        self._show(
            SignInView(
                SessionState.WAITING,
                self._view.environment_label,
                status=status,
                authorize_url=pending.authorize_url,
                browser_opened=pending.browser_opened,
            )
        )
        try:
            practitioner = await pending.result()
        except asyncio.CancelledError:
            pending.cancel()
            if _being_cancelled():
                raise
            self._show(self._signed_out_view("Sign-in cancelled."))
            return False
        except Exception as exc:
            self._fail(exc)
            return False
        finally:
            self._pending = None
            if helper_task is not None:
                await _finish_helper(helper_task)
        self._set_signed_in(practitioner)
        return True

    def cancel_sign_in(self) -> None:
        """Stop waiting for the browser (the Cancel button)."""
        if self._pending is not None:
            self._pending.cancel()

    def _fail(self, exc: BaseException) -> None:
        problem = self._describe_error(exc)  # raises what it does not know: a bug
        self._show(
            SignInView(
                SessionState.FAILED,
                self._view.environment_label,
                status="You are not signed in.",
                problem=problem,
            )
        )

    def _set_signed_in(self, practitioner: Practitioner) -> None:
        self._practitioner = practitioner
        self._show(
            SignInView(
                SessionState.SIGNED_IN,
                self._view.environment_label,
                status=f"Signed in as {practitioner.titled_full_name}.",
            )
        )
        self.signed_in.emit(practitioner)

    async def sign_out(self, *, remove_patient_data: bool) -> None:
        """Revoke and forget the session; optionally remove local patient data."""
        try:
            await self._account.sign_out()
        finally:
            self._practitioner = None
            if remove_patient_data:
                await self._purge_patient_data()
            self._show(self._signed_out_view("You signed out."))
            self.signed_out.emit()


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def _finish_helper(task: asyncio.Task[None]) -> None:
    """Wait for the no-browser helper; its failure is logged (the sign-in said what matters)."""
    if not task.done():
        task.cancel()
    results = await asyncio.gather(task, return_exceptions=True)
    if isinstance(results[0], Exception):
        log.warning("Completing the demo sign-in failed: %s", type(results[0]).__name__)
