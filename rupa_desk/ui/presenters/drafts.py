"""The Draft orders pane's presenter: edit drafts (saved at once), send them, check them out.

Every edit is written to the database before anything else happens (`Drafts` does it in one
transaction), so a crash or a kill loses nothing; the network is used only by "Send to Rupa",
"Retry", "Check out" and "Open in browser", and by the sending of queued drafts when Rupa is
reachable again (the user is told which were sent).
"""

from __future__ import annotations

import logging
import webbrowser
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from rupa_desk.core.checkout_return import CheckoutReturn, ReturnEndpoint
from rupa_desk.core.drafts import Draft, DraftNotReady, DraftState, InvalidDraftTransition
from rupa_desk.core.models import LabTest, Patient
from rupa_desk.services.checkout_linking import (
    CheckoutLinker,
    CheckoutReturnListener,
    LinkedOrder,
)
from rupa_desk.services.errors import RupaError
from rupa_desk.services.outbox import Outbox
from rupa_desk.services.store import DraftListing, SearchHit, Store, StoreError
from rupa_desk.ui.messages import MessageBridge
from rupa_desk.ui.tasks import BackgroundTasks
from rupa_desk.ui.web.launcher import CheckoutLauncher

log = logging.getLogger(__name__)

TEST_SEARCH_LIMIT = 20
PATIENT_SEARCH_LIMIT = 20


def describe_state(draft: Draft) -> str:
    """The draft's state in words, for the list and the editor."""
    if draft.state is DraftState.LOCAL:
        return "Local only"
    if draft.state is DraftState.SENDING:
        return "Sending to Rupa…"
    if draft.state is DraftState.SENT:
        suffix = " · changed since: send the update" if draft.needs_update else ""
        return f"Sent to Rupa ({draft.intent_id}){suffix}"
    if draft.state is DraftState.CHECKED_OUT:
        return f"Checked out (order {draft.order_id})"
    if draft.state is DraftState.QUEUED:
        return f"Waiting for the connection: {draft.failure_reason}"
    return f"Failed to send: {draft.failure_reason}"


class DraftsPresenter(QObject):
    """Drafts for the pane and for the catalog's "Add to draft".

    Args:
        store: the account's database.
        outbox: sends drafts to Rupa.
        linker: links checked-out orders to drafts.
        launcher: the embedded checkout (loads QtWebEngine only when first used).
        listener: the loopback endpoint the system browser returns to.
        bridge: messages to the user.
        tasks: the account's background tasks (linking after the embedded checkout).
        open_url: opens a URL in the system browser; False when it could not.

    Signals:
        drafts_changed(): drafts were added, deleted or changed (refresh the list).
        current_changed(str): the draft shown in the editor changed (its id).
        linked(object): a `LinkedOrder`: a draft's checkout became an order.
    """

    drafts_changed = Signal()
    current_changed = Signal(str)
    linked = Signal(object)

    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        linker: CheckoutLinker,
        launcher: CheckoutLauncher,
        listener: CheckoutReturnListener,
        bridge: MessageBridge,
        tasks: BackgroundTasks,
        *,
        open_url: Callable[[str], bool] = webbrowser.open,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._store = store
        self._outbox = outbox
        self._linker = linker
        self._launcher = launcher
        self._listener = listener
        self._bridge = bridge
        self._tasks = tasks
        self._open_url = open_url
        self._current: str | None = None
        launcher.returned.connect(self._on_launcher_returned)
        launcher.load_failed.connect(self._on_launcher_load_failed)
        launcher.closed.connect(self._on_launcher_closed)
        launcher.browser_requested.connect(self._on_launcher_browser_requested)

    # -- reading -------------------------------------------------------------------------------

    def listing(self) -> list[DraftListing]:
        """Every draft with what the list shows, most recently changed first."""
        return self._store.drafts.listing()

    def listing_of(self, draft_id: str) -> DraftListing:
        """One draft with what the editor shows.

        Raises:
            UnknownDraftError: it was deleted.
        """
        found = self._store.drafts.listing([draft_id])
        if not found:
            self._store.drafts.get(draft_id)  # raises UnknownDraftError
        return found[0]

    def search_tests(self, text: str) -> list[SearchHit]:
        """Catalog tests to add from the draft's own search box."""
        if not text.strip():
            return []
        return list(self._store.catalog.search(text, limit=TEST_SEARCH_LIMIT).hits)

    def search_patients(self, text: str) -> list[Patient]:
        """Cached patients to choose from."""
        return self._store.patients.search(text, limit=PATIENT_SEARCH_LIMIT)

    @property
    def current(self) -> str | None:
        """The draft shown in the editor (where "Add to draft" adds tests)."""
        return self._current

    def set_current(self, draft_id: str | None) -> None:
        if draft_id != self._current:
            self._current = draft_id
            self.current_changed.emit(draft_id or "")

    # -- editing: saved before anything else happens ------------------------------------------

    def new_draft(self) -> bool:
        """A new, empty draft, shown in the editor.

        Returns:
            True when it was made; False when the database refused it (the user was told).
        """
        try:
            draft_id = self._store.drafts.create()
        except StoreError as exc:
            self._bridge.error(f"The new draft was not saved: {exc}")
            return False
        self.drafts_changed.emit()
        self.set_current(draft_id)
        return True

    def set_patient(self, draft_id: str, patient_id: str) -> None:
        self._edit(lambda: self._store.drafts.edit(draft_id, patient_id=patient_id))

    def set_notes(self, draft_id: str, notes: str) -> None:
        self._edit(lambda: self._store.drafts.edit(draft_id, notes=notes))

    def add_test(self, draft_id: str, hit: SearchHit) -> bool:
        """Add a catalog test; False when it was on the draft already (or refused)."""
        added = False

        def add() -> None:
            nonlocal added
            added = self._store.drafts.add_test(draft_id, hit.id, name=hit.name, price=hit.price)

        self._edit(add)
        return added

    def remove_test(self, draft_id: str, lab_test_id: str) -> None:
        self._edit(lambda: self._store.drafts.remove_test(draft_id, lab_test_id))

    def delete_draft(self, draft_id: str) -> None:
        self._edit(lambda: self._store.drafts.delete(draft_id))
        if self._current == draft_id:
            self.set_current(None)

    def _edit(self, change: Callable[[], object]) -> None:
        try:
            change()
        except (InvalidDraftTransition, ValueError) as exc:
            self._bridge.warning(str(exc))
        except StoreError as exc:
            self._bridge.error(f"The change was not saved: {exc}")
        self.drafts_changed.emit()

    # -- "Add to draft" from the catalog (a DraftTarget) ---------------------------------------

    async def add_lab_test(self, test: LabTest) -> str:
        """Add a catalog test to the current draft (a new draft when there is none)."""
        draft_id = self._current
        if draft_id is not None and not self._store.drafts.get(draft_id).is_editable:
            draft_id = None
        if draft_id is None:
            open_drafts = self._store.drafts.open_drafts()
            draft_id = open_drafts[0].id if open_drafts else self._store.drafts.create()
            self.set_current(draft_id)
        added = self._store.drafts.add_test(draft_id, test.id, name=test.name, price=test.price)
        self.drafts_changed.emit()
        count = len(self._store.drafts.get(draft_id).lab_test_ids)
        tests = "1 test" if count == 1 else f"{count} tests"
        if not added:
            return f"“{test.name}” is already on the current draft ({tests})."
        return f"Added “{test.name}” to the current draft ({tests})."

    # -- Rupa ----------------------------------------------------------------------------------

    def on_draft_saved(self, draft: Draft) -> None:
        """The outbox saved a step of a send (sending, sent, queued…): refresh."""
        self.drafts_changed.emit()

    async def send(self, draft_id: str) -> Draft | None:
        """Send (or update, or retry) a draft; the outcome is saved in it and told."""
        try:
            draft = await self._outbox.send(draft_id)
        except (DraftNotReady, InvalidDraftTransition) as exc:
            self._bridge.warning(str(exc))
            return None
        if draft.state is DraftState.SENT:
            self._bridge.info("The draft was sent to Rupa. Check it out when you are ready.")
        elif draft.state is DraftState.QUEUED:
            self._bridge.warning(
                f"{draft.failure_reason} The draft is saved and will be sent when Rupa is "
                "reachable again."
            )
        elif draft.state is DraftState.FAILED:
            self._bridge.error(f"The draft was not sent: {draft.failure_reason}")
        return draft

    async def send_queued(self) -> list[Draft]:
        """Send the drafts waiting for the network; say which were sent."""
        if not self._store.drafts.in_state(DraftState.QUEUED):
            return []
        sent = await self._outbox.send_queued()
        self.drafts_changed.emit()
        if sent:
            names = [self._draft_name(d) for d in sent]
            self._bridge.info(
                f"Back online: sent {len(sent)} waiting draft(s) to Rupa ({', '.join(names)})."
            )
        return sent

    def check_out(self, draft_id: str) -> None:
        """Open the draft's checkout page in the embedded view."""
        draft = self._store.drafts.get(draft_id)
        if not draft.can_check_out or draft.checkout_url is None:
            self._bridge.warning("Send the draft to Rupa first; then check it out.")
            return
        if draft.needs_update:
            self._bridge.warning(
                "This draft changed since it was sent: send the update first, or Rupa's "
                "checkout shows the draft as it was."
            )
        self._launcher.open(
            draft_id, draft.checkout_url, title=f"Rupa checkout — {self._draft_name(draft)}"
        )

    async def open_in_browser(self, draft_id: str) -> bool:
        """Check out in the system browser; it returns to the app's loopback listener."""
        draft = self._store.drafts.get(draft_id)
        if draft.checkout_url is None:
            self._bridge.warning("Send the draft to Rupa first; then check it out.")
            return False
        try:
            endpoint = await self._listener.start()
            self._launcher.set_endpoints([ReturnEndpoint.embedded(), endpoint])
            await self._outbox.use_return_url(draft_id, endpoint.url_for(draft_id))
        except RupaError as exc:
            self._bridge.error(f"The checkout could not be opened: {exc.user_message}")
            return False
        if not self._open_url(draft.checkout_url):
            self._bridge.warning(
                f"No browser opened. Open this address in a browser: {draft.checkout_url}"
            )
            return False
        self._bridge.info(
            "The checkout is open in your browser. Submit the order there; Rupa Desk links it "
            "when the browser comes back."
        )
        return True

    async def link_return(self, result: CheckoutReturn) -> LinkedOrder | None:
        """The embedded checkout came back: link the order to the draft."""
        try:
            linked = await self._linker.link(result)
        except RupaError as exc:
            self._bridge.warning(exc.user_message)
            return None
        except StoreError as exc:
            self._bridge.error(str(exc))
            return None
        finally:
            self.drafts_changed.emit()
        self._bridge.info(
            f"Order {linked.order.id} placed for {self._draft_name(linked.draft)}; "
            "it is followed in Orders."
        )
        return linked

    def on_linked(self, linked: LinkedOrder) -> None:
        """Any link (embedded, browser, or found in the order list): refresh and tell."""
        self.drafts_changed.emit()
        self.linked.emit(linked)

    def _draft_name(self, draft: Draft) -> str:
        if draft.patient_id is not None:
            try:
                return self._store.patients.get(draft.patient_id).full_name
            except LookupError:
                return draft.patient_id
        return "a draft without patient"

    # -- the embedded checkout -----------------------------------------------------------------

    def _on_launcher_returned(self, result: CheckoutReturn) -> None:
        self._tasks.spawn(self.link_return(result), name="link-checkout")

    def _on_launcher_load_failed(self, draft_id: str, message: str) -> None:
        self._bridge.warning(message)

    def _on_launcher_closed(self, draft_id: str) -> None:
        self._bridge.info(
            "The checkout was closed before the order was submitted. The draft is unchanged; "
            "check it out again when you are ready."
        )

    def _on_launcher_browser_requested(self, draft_id: str, checkout_url: str) -> None:
        self._tasks.spawn(self.open_in_browser(draft_id), name="checkout-in-browser")
