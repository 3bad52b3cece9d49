"""Rupa's checkout page inside the app, and the capture of the navigation back to us.

The page is Rupa's; the app only watches where it goes. When the page navigates to one of the
app's return URLs (decided by the pure `rupa_desk.core.checkout_return`), the navigation is
stopped (it never reaches the network), the parsed result is emitted and the view closes. Any
other navigation of the page itself (the first load, redirects, links, scripts, new windows)
must stay on Rupa's origins (the pure `rupa_desk.core.checkout_navigation`), or it is stopped
and the user told; frames inside Rupa's page (a payment provider's) load as the page wants.
A load error or the user closing the view is reported too; the draft is never touched here.

Importing this module loads QtWebEngine; only `rupa_desk.ui.web.launcher` does, lazily.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWebEngineCore import (
    QWebEngineCertificateError,
    QWebEngineLoadingInfo,
    QWebEnginePage,
    QWebEngineProfile,
)
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from rupa_desk.core.checkout_navigation import CheckoutOrigins, NavigationRefused
from rupa_desk.core.checkout_return import (
    CheckoutReturn,
    InvalidReturnUrl,
    ReturnEndpoint,
    parse_return_url,
)

log = logging.getLogger(__name__)


class CheckoutPage(QWebEnginePage):
    """A page that stops the navigation to our return URLs, and to anything not Rupa's.

    Signals:
        returned(object): a `CheckoutReturn`, once, when the page navigated to our return URL.
        invalid_return(str): the page navigated to our return URL, but it named no draft.
        navigation_refused(str): the page itself was to go somewhere not Rupa's (a message
            for the user); it stays where it was.
    """

    returned = Signal(object)
    invalid_return = Signal(str)
    navigation_refused = Signal(str)

    def __init__(
        self,
        profile: QWebEngineProfile,
        endpoints: Callable[[], Sequence[ReturnEndpoint]],
        origins: CheckoutOrigins,
        parent: QWidget | None = None,
    ) -> None:
        """Args:
        profile: the persistent checkout profile.
        endpoints: the return endpoints to recognise, asked at each navigation (the
            loopback listener may start after the view opened).
        origins: where the page itself may go (the environment's web origins).
        parent: the Qt parent.
        """
        super().__init__(profile, parent)
        self._endpoints = endpoints
        self._origins = origins
        self._finished = False

    def acceptNavigationRequest(
        self, url: QUrl | str, navigation_type: QWebEnginePage.NavigationType, is_main_frame: bool
    ) -> bool:
        """Catch our return URL; keep the page itself on Rupa's origins; frames may load."""
        text = (
            url.toString(QUrl.ComponentFormattingOption.FullyEncoded)
            if isinstance(url, QUrl)
            else url
        )
        try:
            result = parse_return_url(text, self._endpoints())
        except InvalidReturnUrl as exc:
            self.invalid_return.emit(str(exc))
            return False
        if result is None:
            if is_main_frame and not self._finished:
                try:
                    self._origins.check(text)
                except NavigationRefused as exc:
                    scheme = (url.scheme() if isinstance(url, QUrl) else "") or "?"
                    log.warning(
                        "checkout navigation refused: %s, %s address",
                        navigation_type.name,
                        scheme[:20],
                    )
                    self.navigation_refused.emit(str(exc))
                    return False
            return not self._finished
        if self._finish():
            self.returned.emit(result)
        return False

    def createWindow(self, window_type: QWebEnginePage.WebWindowType) -> QWebEnginePage:
        """Links meant for a new tab or window open in this page, so none escapes capture."""
        return self

    def _finish(self) -> bool:
        """Mark the checkout finished; False when it already was (report once)."""
        first = not self._finished
        self._finished = True
        return first


class CheckoutView(QWidget):
    """A window with Rupa's checkout page for one draft.

    Signals:
        returned(object): the checkout finished (`CheckoutReturn`); the view has closed.
        load_failed(str, str): draft id and what went wrong loading the page.
        closed(str): draft id; the user closed the view before the checkout finished.
        browser_requested(str, str): draft id and checkout URL; the user chose "Open in
            browser" (the view has closed).
    """

    returned = Signal(object)
    load_failed = Signal(str, str)
    closed = Signal(str)
    browser_requested = Signal(str, str)

    def __init__(
        self,
        *,
        draft_id: str,
        checkout_url: str,
        profile: QWebEngineProfile,
        endpoints: Callable[[], Sequence[ReturnEndpoint]],
        origins: CheckoutOrigins,
        title: str = "Rupa checkout",
        parent: QWidget | None = None,
    ) -> None:
        """Build the view; `start()` loads the page (only from one of `origins`)."""
        super().__init__(parent)
        self.draft_id = draft_id
        self.checkout_url = checkout_url
        self._origins = origins
        self._outcome_reported = False
        self.setWindowTitle(title)
        self.setAccessibleName("Rupa checkout")

        self.web_view = QWebEngineView(self)
        self.page = CheckoutPage(profile, endpoints, origins, self.web_view)
        self.web_view.setPage(self.page)
        self.web_view.setAccessibleName("Rupa checkout page")

        self._status = QLabel("Loading Rupa's checkout page…", self)
        self._status.setWordWrap(True)
        self._progress = QProgressBar(self)
        self._progress.setRange(0, 100)
        self._progress.setMaximumWidth(160)
        self._progress.setTextVisible(False)
        self._reload_button = QPushButton("Reload", self)
        self._reload_button.setAccessibleName("Reload the checkout page")
        self._browser_button = QPushButton("Open in browser", self)
        self._browser_button.setAccessibleName("Open the checkout in the system browser")

        bar = QHBoxLayout()
        bar.addWidget(self._status, 1)
        bar.addWidget(self._progress)
        bar.addWidget(self._reload_button)
        bar.addWidget(self._browser_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.web_view, 1)

        # Queued: the page emits from inside Chromium's navigation callback, where closing
        # the view (or stopping the page) is not allowed.
        queued = Qt.ConnectionType.QueuedConnection
        self.page.returned.connect(self._on_page_returned, queued)
        self.page.invalid_return.connect(self._on_page_invalid_return, queued)
        self.page.navigation_refused.connect(self._on_page_navigation_refused, queued)
        self.page.loadingChanged.connect(self._on_page_loading_changed)
        self.page.loadProgress.connect(self._progress.setValue)
        self.page.certificateError.connect(self._on_page_certificate_error)
        self.page.renderProcessTerminated.connect(self._on_page_render_process_terminated)
        self._reload_button.clicked.connect(self._on_reload_button_clicked)
        self._browser_button.clicked.connect(self._on_browser_button_clicked)

    def start(self) -> None:
        """Load the checkout page, unless its address is not on Rupa's origins."""
        self._name_the_content()
        try:
            self._origins.check(self.checkout_url)
        except NavigationRefused as exc:
            log.warning("checkout address refused before loading")
            self._on_page_navigation_refused(str(exc))
            return
        self.web_view.load(QUrl(self.checkout_url))

    @property
    def status_text(self) -> str:
        """What the status line says (for the user and for tests)."""
        return self._status.text()

    # -- slots ---------------------------------------------------------------------------------

    def _on_page_returned(self, result: CheckoutReturn) -> None:
        self._status.setText("Checkout finished. Linking the order…")
        self._report_and_close(lambda: self.returned.emit(result))

    def _on_page_invalid_return(self, message: str) -> None:
        text = f"Rupa sent us back to an address Rupa Desk cannot use: {message}"
        self._status.setText(text)
        self.load_failed.emit(self.draft_id, text)

    def _on_page_navigation_refused(self, message: str) -> None:
        self._status.setText(message)
        self.load_failed.emit(self.draft_id, message)

    def _name_the_content(self) -> None:
        """The widget Chromium renders into takes the focus: screen readers announce it."""
        content = self.web_view.focusProxy()
        if content is not None and not content.accessibleName():
            content.setAccessibleName("Rupa checkout page content")

    def _on_page_loading_changed(self, info: QWebEngineLoadingInfo) -> None:
        self._name_the_content()
        if info.status() != QWebEngineLoadingInfo.LoadStatus.LoadFailedStatus:
            if info.status() == QWebEngineLoadingInfo.LoadStatus.LoadSucceededStatus:
                self._status.setText("Finish the order on Rupa's page, then submit it.")
            return
        if self._outcome_reported:
            return
        reason = info.errorString() or f"error {info.errorCode()}"
        text = (
            f"The checkout page did not load ({reason}). The draft is safe: try Reload, "
            "or Open in browser."
        )
        log.warning("checkout page load failed: %s (%s)", reason, info.errorDomain().name)
        self._status.setText(text)
        self.load_failed.emit(self.draft_id, text)

    def _on_page_certificate_error(self, error: QWebEngineCertificateError) -> None:
        error.rejectCertificate()
        log.warning("checkout page certificate rejected: %s", error.type().name)

    def _on_page_render_process_terminated(
        self, status: QWebEnginePage.RenderProcessTerminationStatus, exit_code: int
    ) -> None:
        if status == QWebEnginePage.RenderProcessTerminationStatus.NormalTerminationStatus:
            return
        text = "The checkout page stopped working. The draft is safe: try Reload."
        log.warning("checkout render process ended: %s (%s)", status.name, exit_code)
        self._status.setText(text)
        self.load_failed.emit(self.draft_id, text)

    def _on_reload_button_clicked(self) -> None:
        self._status.setText("Loading Rupa's checkout page…")
        self.start()

    def _on_browser_button_clicked(self) -> None:
        try:
            self._origins.check(self.checkout_url)
        except NavigationRefused as exc:
            self._on_page_navigation_refused(str(exc))
            return
        self._report_and_close(
            lambda: self.browser_requested.emit(self.draft_id, self.checkout_url)
        )

    # -- closing -------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing before the checkout finished is reported; the draft stays as it is."""
        self._report(lambda: self.closed.emit(self.draft_id))
        self.web_view.stop()
        super().closeEvent(event)

    def _report(self, emit: Callable[[], None]) -> None:
        if not self._outcome_reported:
            self._outcome_reported = True
            emit()

    def _report_and_close(self, emit: Callable[[], None]) -> None:
        self._report(emit)
        self.close()
