"""Opens checkout views, loading QtWebEngine only when the first one is needed.

The rest of the app holds a `CheckoutLauncher` (cheap: it imports no QtWebEngine module), so a
cold start never pays for the web engine. The first `open()` imports the view and builds the
persistent profile; later views share that profile (one per environment and process).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal

from rupa_desk.core.checkout_return import ReturnEndpoint
from rupa_desk.paths import AppPaths

if TYPE_CHECKING:
    from PySide6.QtWebEngineCore import QWebEngineProfile

    from rupa_desk.ui.web.checkout_view import CheckoutView

log = logging.getLogger(__name__)


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
        endpoints: Sequence[ReturnEndpoint] = (ReturnEndpoint.embedded(),),
        parent: QObject | None = None,
    ) -> None:
        """Args:
        paths: where the web profile lives.
        environment: the environment name (one profile per environment).
        endpoints: the return endpoints the views recognise (see `set_endpoints`).
        parent: the Qt parent.
        """
        super().__init__(parent)
        self._paths = paths
        self._environment = environment
        self._endpoints: tuple[ReturnEndpoint, ...] = tuple(endpoints)
        self._profile: QWebEngineProfile | None = None
        self._views: dict[str, CheckoutView] = {}

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
            title=title,
        )
        view.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        view.returned.connect(self.returned)
        view.load_failed.connect(self.load_failed)
        view.closed.connect(self.closed)
        view.browser_requested.connect(self.browser_requested)
        view.destroyed.connect(lambda: self._views.pop(draft_id, None))
        self._views[draft_id] = view
        view.resize(1000, 760)
        view.show()
        view.start()
        log.info("checkout view opened")

    def close_all(self) -> None:
        """Close every view (at sign-out or shutdown); the profile goes with the launcher."""
        for view in list(self._views.values()):
            view.close()

    def _checkout_profile(self) -> QWebEngineProfile:
        if self._profile is None:
            from rupa_desk.ui.web.profile import build_checkout_profile

            self._profile = build_checkout_profile(self._paths, self._environment, self)
        return self._profile
