"""Opens checkout views, loading QtWebEngine only when the first one is needed.

The rest of the app holds a `CheckoutLauncher` (cheap: it imports no QtWebEngine module), so a
cold start never pays for the web engine. The first `open()` imports the view and builds the
persistent profile of the signed-in account; later views share it. `aclose()` closes the views
and deletes the profile; `aclose(remove_profile=True)` also removes its folder from the disk
(a sign-out that removes the account's data).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Final

from PySide6.QtCore import QObject, Qt, Signal
from shiboken6 import Shiboken

from rupa_desk.core.checkout_navigation import CheckoutOrigins
from rupa_desk.core.checkout_return import ReturnEndpoint
from rupa_desk.core.errors import KnownError
from rupa_desk.paths import AppPaths

if TYPE_CHECKING:
    from PySide6.QtWebEngineCore import QWebEngineProfile

    from rupa_desk.ui.web.checkout_view import CheckoutView

log = logging.getLogger(__name__)

#: How long closing waits for the checkout views to be deleted before the profile goes.
VIEWS_GONE_WITHIN_S: Final = 10.0
#: Chromium lets go of a deleted profile's folder a moment later (it still flushes files):
#: its removal is tried this often, this far apart, and must stay removed for one interval.
REMOVAL_ATTEMPTS: Final = 40
REMOVAL_INTERVAL_S: Final = 0.25


class WebProfileNotRemoved(KnownError):
    """The checkout's web profile (Rupa's web-app session) could not be removed from disk."""

    def __init__(self, folder: str, reason: str) -> None:
        super().__init__(
            f"The checkout's saved Rupa session could not be removed from this computer "
            f"({reason}). Delete the folder {folder} to remove it."
        )


class CheckoutLauncher(QObject):
    """Shows one checkout view per draft and relays what happens in it.

    Signals:
        returned(object): a `CheckoutReturn`: the checkout of a draft finished.
        load_failed(str, str): draft id and a message for the user (the view stays open).
        closed(str): draft id; the view was closed before the checkout finished.
        browser_requested(str, str): draft id and checkout URL; the user chose the browser.
    """

    returned = Signal(object)
    load_failed = Signal(str, str)
    closed = Signal(str)
    browser_requested = Signal(str, str)

    def __init__(
        self,
        paths: AppPaths,
        environment: str,
        account: str,
        *,
        origins: Iterable[str],
        endpoints: Sequence[ReturnEndpoint] = (ReturnEndpoint.embedded(),),
        parent: QObject | None = None,
    ) -> None:
        """Args:
        paths: where the web profile lives.
        environment: the environment name.
        account: the signed-in practitioner (one profile per environment and account).
        origins: the environment's web origins (`Environment.checkout_origins`): the only
            places a checkout page may be loaded from or go to.
        endpoints: the return endpoints the views recognise (see `set_endpoints`).
        parent: the Qt parent.
        """
        super().__init__(parent)
        self._origins = CheckoutOrigins(origins)
        self._paths = paths
        self._environment = environment
        self._account = account
        self._endpoints: tuple[ReturnEndpoint, ...] = tuple(endpoints)
        self._profile: QWebEngineProfile | None = None
        self._views: dict[str, CheckoutView] = {}
        self._views_gone = asyncio.Event()

    @property
    def origins(self) -> CheckoutOrigins:
        """Where a checkout page may be (the embedded view and the system browser alike)."""
        return self._origins

    @property
    def endpoints(self) -> tuple[ReturnEndpoint, ...]:
        return self._endpoints

    def set_endpoints(self, endpoints: Sequence[ReturnEndpoint]) -> None:
        """Change the recognised return endpoints (e.g. once the loopback listener runs)."""
        self._endpoints = tuple(endpoints)

    @property
    def web_engine_loaded(self) -> bool:
        """True once a checkout view was opened (QtWebEngine is loaded)."""
        return self._profile is not None

    def view_for(self, draft_id: str) -> CheckoutView | None:
        """The open view of a draft, if any."""
        return self._views.get(draft_id)

    def open(self, draft_id: str, checkout_url: str, *, title: str = "Rupa checkout") -> None:
        """Show the checkout page of a draft (or raise the view already showing it)."""
        existing = self._views.get(draft_id)
        if existing is not None:
            existing.raise_()
            existing.activateWindow()
            return
        from rupa_desk.ui.web import checkout_view  # loads QtWebEngine (once)

        view = checkout_view.CheckoutView(
            draft_id=draft_id,
            checkout_url=checkout_url,
            profile=self._checkout_profile(),
            endpoints=lambda: self._endpoints,
            origins=self._origins,
            title=title,
        )
        view.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        view.returned.connect(self.returned)
        view.load_failed.connect(self.load_failed)
        view.closed.connect(self.closed)
        view.browser_requested.connect(self.browser_requested)
        view.destroyed.connect(lambda: self._forget_view(draft_id))
        self._views[draft_id] = view
        view.resize(1000, 760)
        view.show()
        view.start()
        log.info("checkout view opened")

    def _forget_view(self, draft_id: str) -> None:
        self._views.pop(draft_id, None)
        if not self._views:
            self._views_gone.set()

    def close_all(self) -> None:
        """Close every view; the profile stays (see `aclose`)."""
        for view in list(self._views.values()):
            view.close()

    async def aclose(self, *, remove_profile: bool = False) -> None:
        """Close every view, wait until they are deleted, then delete the profile.

        Args:
            remove_profile: also clear its cookies and remove its folder from the disk (the
                account's Rupa web session), whether or not a checkout was opened this run.

        Raises:
            WebProfileNotRemoved: the folder could not be removed (the message says where
                it is).
        """
        if self._views:
            self._views_gone.clear()
            self.close_all()
            try:
                async with asyncio.timeout(VIEWS_GONE_WITHIN_S):
                    await self._views_gone.wait()
            except TimeoutError:
                log.warning("checkout views were not deleted in time; closing anyway")
        profile, self._profile = self._profile, None
        if profile is not None:
            if remove_profile:
                from rupa_desk.ui.web.profile import forget_checkout_profile

                forget_checkout_profile(profile)
            Shiboken.delete(profile)
        if remove_profile:
            await self._remove_profile_folder()

    async def _remove_profile_folder(self) -> None:
        """Remove the account's web profile folder, and make sure it stays removed: Chromium
        writes into it for a moment after its profile was deleted."""
        folder = self._paths.web_profile_dir(self._environment, self._account)
        reason = "it is still in use"
        for _ in range(REMOVAL_ATTEMPTS):
            try:
                shutil.rmtree(folder, onerror=_gone_is_fine)
            except OSError as exc:
                reason = exc.strerror or type(exc).__name__
            else:
                await asyncio.sleep(REMOVAL_INTERVAL_S)
                if not folder.exists():
                    log.info("removed the account's checkout web profile")
                    return
            await asyncio.sleep(REMOVAL_INTERVAL_S)
        raise WebProfileNotRemoved(str(folder), reason)

    def _checkout_profile(self) -> QWebEngineProfile:
        if self._profile is None:
            from rupa_desk.ui.web.profile import build_checkout_profile

            self._profile = build_checkout_profile(
                self._paths, self._environment, self._account, self
            )
        return self._profile


def _gone_is_fine(
    function: object, path: str, exc_info: tuple[type[BaseException], BaseException, object]
) -> None:
    """`shutil.rmtree` error handler: a file that vanished meanwhile (Chromium removes its
    journals) is gone as wanted; any other error stops the removal."""
    if not isinstance(exc_info[1], FileNotFoundError):
        raise exc_info[1]
