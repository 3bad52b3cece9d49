"""The Draft orders pane's presenter: edit drafts (saved at once), send them, check them out.

Every edit is written to the database before anything else happens (`Drafts` does it in one
transaction), so a crash or a kill loses nothing; the network is used only by "Send to Rupa",
"Retry", "Check out" and "Open in browser", and by the sending of queued drafts, which
happens by itself (`QueuedDraftSender`: on a backoff, and at once when Rupa is reachable
again; the user is told which were sent). Every send tells `Connectivity` whether Rupa
answered.

An edit changes one draft: the presenter says which (`draft_changed`), so the pane updates
that draft's row and reads that draft alone; the whole list is read again only when drafts
are added or deleted (`drafts_changed`). A draft that is checked out leaves the list: it is
found from the order it became (Orders, the patient's detail).
"""

from __future__ import annotations

import logging
import webbrowser
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

from PySide6.QtCore import QObject, Signal

from rupa_desk.core.checkout_navigation import NavigationRefused
from rupa_desk.core.checkout_return import (
    CheckoutReturn,
    InvalidReturnUrl,
    ReturnEndpoint,
    parse_return_url,
)
from rupa_desk.core.drafts import Draft, DraftNotReady, DraftState, InvalidDraftTransition
from rupa_desk.core.errors import ActionNotAllowed, InvalidInput
from rupa_desk.core.models import LabTest, Order, Patient
from rupa_desk.services.checkout_linking import (
    CheckoutLinker,
    CheckoutReturnListener,
    LinkedOrder,
)
from rupa_desk.services.errors import RupaError
from rupa_desk.services.outbox import RESEND_WAITS_S, Outbox, QueuedDraftSender
from rupa_desk.services.store import (
    DraftListing,
    DraftSummary,
    SearchHit,
    Store,
    StoreError,
    UnknownLabTestError,
    UnknownOrderError,
    UnknownPatientError,
)
from rupa_desk.ui.formatting import tests_count
from rupa_desk.ui.messages import Level, MessageBridge
from rupa_desk.ui.presenters.connectivity import Connectivity
from rupa_desk.ui.tasks import BackgroundTasks
from rupa_desk.ui.web.launcher import CheckoutLauncher

log = logging.getLogger(__name__)

TEST_SEARCH_LIMIT: Final = 20
PATIENT_SEARCH_LIMIT: Final = 20


def describe_state(draft: Draft) -> str:
    """The draft's state in words, for the list and the editor."""
    if draft.state is DraftState.LOCAL:
        return "Local only"
    if draft.state is DraftState.SENDING:
        return "Sending to Rupa…"
    if draft.state is DraftState.SENT:
        if draft.needs_update:
            return "Sent to Rupa and changed since: send the update before checking out"
        return "Sent to Rupa: check out to place the order"
    if draft.state is DraftState.CHECKED_OUT:
        return "Order placed: follow it in Orders"
    if draft.state is DraftState.QUEUED:
        return f"Waiting for the connection: {draft.failure_reason}"
    return f"Failed to send: {draft.failure_reason}"


def state_headline(draft: Draft) -> str:
    """The draft's state in words without the reason of a failed send (the editor shows the
    reason on lines of its own, so that it is read whole at any width)."""
    if draft.state is DraftState.QUEUED:
        return "Waiting for the connection"
    if draft.state is DraftState.FAILED:
        return "Failed to send"
    return describe_state(draft)


#: The list's words for each state (the sent ones: unchanged, changed since).
SHORT_STATES = {
    DraftState.LOCAL: "Local only",
    DraftState.SENDING: "Sending…",
    DraftState.QUEUED: "Waiting to send",
    DraftState.FAILED: "Failed to send",
    DraftState.SENT: "Sent to Rupa",
    DraftState.CHECKED_OUT: "Order placed",
}
SENT_AND_CHANGED = "Sent · changed"


def short_state(draft: Draft) -> str:
    """The draft's state in a few words, for the list (the editor and the tooltip say more:
    the reason of a failed send, that it can be retried, and Rupa's reference)."""
    if draft.state is DraftState.SENT and draft.needs_update:
        return SENT_AND_CHANGED
    return SHORT_STATES[draft.state]


def state_tooltip(draft: Draft) -> str:
    """The list's tooltip of the draft's state: the state in words, and what to do next."""
    text = describe_state(draft)
    if draft.state in (DraftState.FAILED, DraftState.QUEUED):
        text += "\nSelect the draft and press Retry to send it again."
    reference = draft.order_id or draft.intent_id
    if reference:  # for a call to Rupa's support: never shown in the list itself
        text += f"\nRupa's reference: {reference}"
    return text


@dataclass(frozen=True)
class DraftChoice:
    """One answer to "Add the test to which draft?".

    Attributes:
        label: the words the person reads ("Ada Lovelace · 2 tests · changed 12:03").
        draft_id: the open draft to add to; None: a new draft.
        patient_id: the new draft's patient (None: chosen later); unused for an open draft.
    """

    label: str
    draft_id: str | None = None
    patient_id: str | None = None


class DraftChooser(Protocol):
    """Asks the person which draft a test goes to (the drafts pane's dialog)."""

    async def choose(self, question: str, choices: Sequence[DraftChoice]) -> DraftChoice | None:
        """The choice made, or None when the person cancelled."""


class OrderSource(Protocol):
    """Where "Order again" reads a past order with its tests' names (`RupaClient`)."""

    async def get_order(self, order_id: str, *, include: Sequence[str] = ...) -> Order:
        """One order; `include` names the related resources to resolve."""


#: What "Order again" asks Rupa for: the order's tests, each with its lab test (its name
#: even when it has left the catalog).
ORDER_AGAIN_INCLUDE: Final = ("ordered_tests", "ordered_tests.lab_test")


class DraftsPresenter(QObject):
    """Drafts for the pane, the catalog's "Add to draft", and the ways an order starts
    elsewhere: "New order" on a patient, "Order again" on a past order.

    Args:
        store: the account's database.
        outbox: sends drafts to Rupa.
        linker: links checked-out orders to drafts.
        launcher: the embedded checkout (loads the web engine, `ui/web`, only when first used).
        listener: the loopback endpoint the system browser returns to.
        bridge: messages to the user.
        tasks: the account's background tasks (linking after the embedded checkout, the
            sending of queued drafts).
        connectivity: told whether Rupa answered each send; when it is reachable again,
            queued drafts are sent at once.
        open_url: opens a URL in the system browser; False when it could not.
        resend_waits_s: the backoff between automatic sends of queued drafts.
        chooser: asks which draft a catalog test goes to when that is not clear (the drafts
            pane sets its dialog with `set_chooser`); without one the person is told to
            choose the draft first.
        orders: reads a past order from Rupa for "Order again" (None, or Rupa unreachable:
            the order as saved on this computer).

    Signals:
        drafts_changed(): drafts were added or deleted (read the list again).
        draft_changed(str): one draft changed (its id): update its row and the editor.
        current_changed(str): the draft shown in the editor changed (its id).
        open_requested(str): the person asked to work on this draft now ("New order",
            "Order again"): bring the Draft orders pane forward, ready to add tests.
    """

    drafts_changed = Signal()
    draft_changed = Signal(str)
    current_changed = Signal(str)
    open_requested = Signal(str)

    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        linker: CheckoutLinker,
        launcher: CheckoutLauncher,
        listener: CheckoutReturnListener,
        bridge: MessageBridge,
        tasks: BackgroundTasks,
        connectivity: Connectivity,
        *,
        open_url: Callable[[str], bool] = webbrowser.open,
        resend_waits_s: Sequence[float] = RESEND_WAITS_S,
        chooser: DraftChooser | None = None,
        orders: OrderSource | None = None,
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
        self._connectivity = connectivity
        self._open_url = open_url
        self._current: str | None = None
        self._selected_patient: str | None = None
        # Which the person chose last, a draft or a patient in Patients (an order of events).
        self._choices_made = 0
        self._draft_chosen_at = 0
        self._patient_chosen_at = 0
        self._chooser = chooser
        self._order_source = orders
        self._sender = QueuedDraftSender(
            outbox, store.drafts, on_sent=self._on_sender_sent, waits_s=resend_waits_s
        )
        launcher.returned.connect(self._on_launcher_returned)
        launcher.load_failed.connect(self._on_launcher_load_failed)
        launcher.closed.connect(self._on_launcher_closed)
        launcher.browser_requested.connect(self._on_launcher_browser_requested)
        connectivity.online_changed.connect(self._on_connectivity_online_changed)

    def start(self) -> None:
        """Start sending queued drafts by themselves (a background task of the account)."""
        self._tasks.spawn(self._sender.run(), name="send-queued-drafts")

    def close(self) -> None:
        """Stop listening to the app (the account's tasks are cancelled by its owner)."""
        self._connectivity.online_changed.disconnect(self._on_connectivity_online_changed)

    # -- reading -------------------------------------------------------------------------------

    def listing(self) -> list[DraftListing]:
        """The drafts the list shows, most recently changed first: not the checked-out
        ones (each is found from the order it became)."""
        return self._store.drafts.listing(open_only=True)

    def hidden_count(self) -> int:
        """How many checked-out drafts the list leaves out."""
        return self._store.drafts.count_in_state(DraftState.CHECKED_OUT)

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
        """Show a draft in the editor (None: none); the person's latest choice of draft."""
        if draft_id is not None:
            self._choices_made += 1
            self._draft_chosen_at = self._choices_made
        if draft_id != self._current:
            self._current = draft_id
            self.current_changed.emit(draft_id or "")

    def set_chooser(self, chooser: DraftChooser | None) -> None:
        """Who asks which draft a catalog test goes to when that is not clear."""
        self._chooser = chooser

    @property
    def selected_patient(self) -> str | None:
        """The patient selected in the Patients pane (a new draft is for her)."""
        return self._selected_patient

    def set_selected_patient(self, patient_id: str | None) -> None:
        """The Patients pane's selection changed ("" or None: nobody selected)."""
        self._selected_patient = patient_id or None
        self._choices_made += 1
        self._patient_chosen_at = self._choices_made

    def patient_name(self, patient_id: str) -> str:
        """A patient's name as the panes show it (no id where a person reads: words for a
        patient this computer has not downloaded yet)."""
        try:
            return self._store.patients.get(patient_id).full_name
        except UnknownPatientError:
            return "a patient not on this computer yet"

    # -- editing: saved before anything else happens ------------------------------------------

    def new_draft(self, patient_id: str | None = None) -> bool:
        """A new draft, shown in the editor: for `patient_id`, else for the patient selected
        in the Patients pane, else without a patient yet.

        Returns:
            True when it was made; False when the database refused it (the user was told).
        """
        try:
            draft_id = self._store.drafts.create(patient_id=patient_id or self._selected_patient)
        except StoreError as exc:
            self._bridge.known_error(exc, not_done="The new draft was not saved.")
            return False
        self.drafts_changed.emit()
        self.set_current(draft_id)
        return True

    def new_order(self, patient_id: str) -> bool:
        """ "New order" for a patient: a draft for her, opened in the Draft orders pane.

        A draft of hers that is still empty (local, no tests, no notes) is opened instead of
        making another empty one.

        Returns:
            True when a draft is open for her; False when it could not be saved (told).
        """
        empty = self._empty_draft_of(patient_id)
        if empty is not None:
            self.set_current(empty)
        elif not self.new_draft(patient_id):
            return False
        self.open_requested.emit(self._current or "")
        return True

    def open_draft(self, draft_id: str) -> None:
        """Show a draft in the Draft orders pane (from a patient's detail)."""
        self.set_current(draft_id)
        self.open_requested.emit(draft_id)

    def _empty_draft_of(self, patient_id: str) -> str | None:
        for summary in self._store.drafts.open_drafts(patient_id):
            if summary.test_count == 0:
                draft = self._store.drafts.get(summary.id)
                if draft.state is DraftState.LOCAL and not (draft.notes or draft.internal_note):
                    return draft.id
        return None

    def set_patient(self, draft_id: str, patient_id: str) -> None:
        self._edit(draft_id, lambda: self._store.drafts.edit(draft_id, patient_id=patient_id))

    def set_notes(self, draft_id: str, notes: str) -> None:
        """Change the note to the patient (sent to Rupa, shown on the patient's order)."""
        self._edit(draft_id, lambda: self._store.drafts.edit(draft_id, notes=notes))

    def set_internal_note(self, draft_id: str, internal_note: str) -> None:
        """Change the internal note (kept on this computer, never sent)."""
        self._edit(draft_id, lambda: self._store.drafts.set_internal_note(draft_id, internal_note))

    def add_test(self, draft_id: str, hit: SearchHit) -> bool:
        """Add a catalog test; False when it was on the draft already (or refused)."""
        added = False

        def add() -> None:
            nonlocal added
            added = self._store.drafts.add_test(draft_id, hit.id, name=hit.name, price=hit.price)

        self._edit(draft_id, add)
        return added

    def remove_test(self, draft_id: str, lab_test_id: str) -> None:
        self._edit(draft_id, lambda: self._store.drafts.remove_test(draft_id, lab_test_id))

    def deletion_warning(self, draft_id: str) -> str:
        """What deleting the draft means, for the confirmation the user answers first."""
        draft = self._store.drafts.get(draft_id)
        name = self._draft_name(draft)
        if draft.patient_id is None:  # never sent: a patient comes first
            return "Delete this draft? It has no patient yet and exists only on this computer."
        if draft.state is DraftState.CHECKED_OUT:
            return (
                f"Delete the draft for {name}? It became an order, which stays in Orders and "
                "on Rupa."
            )
        if draft.intent_id is not None:
            return (
                f"Delete the draft for {name}? It was sent to Rupa: deleting it here leaves "
                "it on Rupa, and Rupa Desk can no longer update or check it out."
            )
        return f"Delete the draft for {name}? It exists only on this computer."

    def delete_draft(self, draft_id: str) -> None:
        """Delete a draft (the pane asks the user first)."""
        try:
            self._store.drafts.delete(draft_id)
        except InvalidDraftTransition as exc:
            self._bridge.known_error(exc, level=Level.WARNING)
            return
        except StoreError as exc:
            self._bridge.known_error(exc, not_done="The draft was not deleted.")
            return
        if self._current == draft_id:
            self.set_current(None)
        self.drafts_changed.emit()

    def _edit(self, draft_id: str, change: Callable[[], object]) -> None:
        """Apply a change; a refused one is told (anything else is a bug and propagates)."""
        try:
            change()
        except (ActionNotAllowed, InvalidInput) as exc:
            self._bridge.known_error(exc, level=Level.WARNING)
        except StoreError as exc:
            self._bridge.known_error(exc, not_done="The change was not saved.")
        self.draft_changed.emit(draft_id)

    # -- "Order again" -------------------------------------------------------------------------

    async def order_again(self, order_id: str) -> bool:
        """A new draft for the order's patient with the order's tests, opened in Draft orders.

        The order is read from Rupa (its tests with their names), else as saved here. Tests
        no longer in the catalog (or no longer orderable) are not added, and are named in
        the message: nothing is dropped silently.

        Returns:
            True when the draft was made.
        """
        past = await self._past_order(order_id)
        if past is None:
            return False
        patient_id, submitted, wanted = past
        if patient_id is None:
            self._bridge.warning("This order has no patient Rupa Desk knows: nothing to repeat.")
            return False
        available: list[str] = []
        missing: list[str] = []
        for lab_test_id, name in wanted:
            try:
                test = self._store.catalog.get_test(lab_test_id) if lab_test_id else None
            except UnknownLabTestError:
                test = None
            if test is not None and test.is_active:
                available.append(test.id)
            else:
                missing.append(name or (test.name if test else "") or "a test without a name")
        available = list(dict.fromkeys(available))
        who = self.patient_name(patient_id)
        left = f"no longer in the catalog: {', '.join(missing)}." if missing else ""
        if not available:
            self._bridge.warning(
                f"No draft was made for {who}: the tests of this order are {left}"
                if left
                else f"No draft was made for {who}: this order lists no tests."
            )
            return False
        try:
            draft_id = self._store.drafts.create(patient_id=patient_id, lab_test_ids=available)
        except StoreError as exc:
            self._bridge.known_error(exc, not_done="The new draft was not saved.")
            return False
        self.drafts_changed.emit()
        self.set_current(draft_id)
        self.open_requested.emit(draft_id)
        tests = tests_count(len(available))
        of = f" from the order of {submitted.astimezone():%d %b %Y}" if submitted else ""
        text = f"New draft for {who} with {tests}{of}."
        if missing:
            self._bridge.warning(f"{text} Not added, {left} Choose another test if needed.")
        else:
            self._bridge.info(f"{text} Check it, then send it to Rupa.")
        return True

    async def _past_order(
        self, order_id: str
    ) -> tuple[str | None, datetime | None, list[tuple[str | None, str]]] | None:
        """(patient, submitted, [(lab test, name)]) of a past order: from Rupa (names of
        tests that left the catalog included), else as saved here; None when neither (told)."""
        problem: RupaError | None = None
        if self._order_source is not None:
            try:
                order = await self._order_source.get_order(order_id, include=ORDER_AGAIN_INCLUDE)
            except RupaError as exc:
                problem = exc
            else:
                self._connectivity.answered()
                kept = self._kept_names(order_id)
                wanted = [
                    (
                        t.lab_test_id,
                        (t.lab_test.name if t.lab_test else "")
                        or kept.get(t.lab_test_id or "", ""),
                    )
                    for t in order.ordered_tests
                ]
                return order.patient_id, order.date_submitted, wanted
        if problem is not None:
            self._connectivity.failed(problem)
        try:
            detail = self._store.orders.detail(order_id)
        except UnknownOrderError:
            if problem is not None:
                self._bridge.known_error(problem, not_done="The order could not be repeated.")
            else:
                self._bridge.warning("This order is not on this computer: refresh Orders first.")
            return None
        if problem is not None and not detail.ordered_tests:  # its tests were never read
            self._bridge.known_error(problem, not_done="The order could not be repeated.")
            return None
        kept = self._kept_names(order_id)
        wanted = [
            (t.lab_test_id, t.name or kept.get(t.lab_test_id or "", ""))
            for t in detail.ordered_tests
        ]
        row = detail.row
        return row.patient_id, row.date_submitted, wanted

    def _kept_names(self, order_id: str) -> dict[str, str]:
        """Test names the draft that became the order kept (empty: made elsewhere)."""
        made_from = self._store.drafts.find_by_order(order_id)
        if made_from is None:
            return {}
        return {t.lab_test_id: t.name for t in self._store.drafts.tests(made_from.id) if t.name}

    # -- "Add to draft" from the catalog (a DraftTarget) ---------------------------------------

    async def add_lab_test(self, test: LabTest) -> str | None:
        """Add a catalog test to a draft, and say which.

        The draft shown in the Draft orders pane, unless the person has since selected
        another patient in Patients; with none shown, the only open draft when it has a
        patient (and is hers, when a patient is selected), or a new draft for the selected
        patient when there is no open draft. Otherwise it is not clear, and the person is
        asked (never a "No patient" draft made behind their back).

        Returns:
            The sentence for the person; None when nothing was added (they cancelled, or
            were told to choose a draft first).
        """
        draft_id = self._current
        current = None if draft_id is None else self._store.drafts.get(draft_id)
        if current is not None and not current.is_editable:
            current = draft_id = None
        selected = self._selected_patient
        if (
            current is not None
            and selected is not None
            and current.patient_id != selected
            and self._patient_chosen_at > self._draft_chosen_at
        ):
            draft_id = None  # another patient was selected since: ask, this draft first
        if draft_id is None:
            choice = await self._choose_target(test, current)
            if choice is None:
                return None
            draft_id = choice.draft_id
            if draft_id is None:
                draft_id = self._store.drafts.create(patient_id=choice.patient_id)
                self.drafts_changed.emit()
            self.set_current(draft_id)
        added = self._store.drafts.add_test(draft_id, test.id, name=test.name, price=test.price)
        self.draft_changed.emit(draft_id)
        draft = self._store.drafts.get(draft_id)
        count = len(draft.lab_test_ids)
        tests = tests_count(count)
        where = self._draft_words(draft)
        if not added:
            return f"“{test.name}” is already on {where} ({tests})."
        return f"Added “{test.name}” to {where} ({tests})."

    async def _choose_target(self, test: LabTest, shown: Draft | None) -> DraftChoice | None:
        """Where a test goes when the draft shown (if any) may not be the one meant: clear
        cases at once, else asked (the draft shown first)."""
        selected = self._selected_patient
        open_drafts = self._store.drafts.open_drafts()
        if shown is None:
            only = open_drafts[0] if len(open_drafts) == 1 else None
            if (
                only is not None
                and only.patient_id is not None
                and selected in (None, only.patient_id)
            ):
                return DraftChoice("", draft_id=only.id)
            if not open_drafts and selected is not None:
                return DraftChoice("", patient_id=selected)
        else:
            open_drafts.sort(key=lambda d: d.id != shown.id)  # stable: the shown one first
        choices = [DraftChoice(self._summary_words(d), draft_id=d.id) for d in open_drafts]
        if selected is not None:
            choices.append(
                DraftChoice(f"A new draft for {self.patient_name(selected)}", patient_id=selected)
            )
        choices.append(DraftChoice("A new draft (choose the patient afterwards)"))
        if self._chooser is None:
            self._bridge.warning(
                f"“{test.name}” was not added: select a draft in Draft orders first, then "
                "add the test again."
            )
            return None
        return await self._chooser.choose(f"Add “{test.name}” to which draft?", choices)

    def _summary_words(self, summary: DraftSummary) -> str:
        who = self.patient_name(summary.patient_id) if summary.patient_id else "No patient yet"
        tests = tests_count(summary.test_count)
        changed = summary.updated_at.astimezone().strftime("%d %b %H:%M")
        return f"{who} · {tests} · changed {changed}"

    def _draft_words(self, draft: Draft) -> str:
        """A draft as a sentence names it: "the draft for Ada Lovelace"."""
        if draft.patient_id is None:
            return "the draft without a patient"
        return f"the draft for {self.patient_name(draft.patient_id)}"

    # -- Rupa ----------------------------------------------------------------------------------

    def on_draft_saved(self, draft: Draft) -> None:
        """The outbox saved a step of a send (sending, sent, queued…): update its row."""
        if draft.state is DraftState.QUEUED:
            self._sender.draft_queued()
        self.draft_changed.emit(draft.id)

    def on_send_outcome(self, error: RupaError | None) -> None:
        """The outbox's requests were answered (None) or failed: tell `Connectivity`."""
        if error is None:
            self._connectivity.answered()
        else:
            self._connectivity.failed(error)

    async def send(self, draft_id: str) -> Draft:
        """Send (or update, or retry) a draft; the outcome is saved in it and told.

        Returns:
            The draft afterwards (unchanged when it could not be sent: the user was told why).
        """
        try:
            draft = await self._outbox.send(draft_id)
        except (DraftNotReady, InvalidDraftTransition) as exc:
            self._bridge.known_error(exc, level=Level.WARNING)
            return self._store.drafts.get(draft_id)
        if draft.state is DraftState.SENT:
            self._bridge.info(
                "The draft was sent to Rupa. Next: press Check out to place the order on "
                "Rupa's page."
            )
        elif draft.state is DraftState.QUEUED:
            self._bridge.warning(
                f"{draft.failure_reason} The draft is saved and will be sent by itself when "
                "Rupa is reachable again."
            )
        elif draft.state is DraftState.FAILED:
            self._bridge.error(f"The draft was not sent: {draft.failure_reason}")
        return draft

    async def send_queued(self) -> list[Draft]:
        """Send the drafts waiting for the network now; say which were sent."""
        sent = await self._outbox.send_queued()
        self._on_sender_sent(sent)
        return sent

    def _on_sender_sent(self, sent: list[Draft]) -> None:
        if sent:
            names = [self._draft_name(d) for d in sent]
            self._bridge.info(f"Sent {len(sent)} waiting draft(s) to Rupa ({', '.join(names)}).")

    async def send_and_check_out(self, draft_id: str) -> None:
        """Send a draft never sent, then open its checkout page ("Send and check out"): the
        checkout needs the draft on Rupa, and checking it out is what sending it is for. When
        it could not be sent, `send` has said why and nothing opens."""
        draft = await self.send(draft_id)
        if draft.state is DraftState.SENT and draft.can_check_out:
            self.check_out(draft_id)

    def check_out(self, draft_id: str) -> None:
        """Open the draft's checkout page in the embedded view.

        When the checkout returns to an address this run of the app cannot catch (a
        browser listener of an earlier run), it is pointed back at the embedded view's
        address first.
        """
        draft = self._store.drafts.get(draft_id)
        if not draft.can_check_out or draft.checkout_url is None:
            self._bridge.warning("Send the draft to Rupa first; then check it out.")
            return
        if draft.needs_update:
            self._bridge.warning(
                "This draft changed since it was sent: send the update first, or Rupa's "
                "checkout shows the draft as it was."
            )
        if draft.return_url is not None and not self._catchable(draft.return_url):
            self._tasks.spawn(self._check_out_embedded(draft_id), name="checkout-embedded")
            return
        self._open_view(draft)

    async def _check_out_embedded(self, draft_id: str) -> None:
        try:
            await self._outbox.use_return_url(draft_id, None)
        except RupaError as exc:
            self._bridge.known_error(exc, not_done="The checkout could not be opened.")
            return
        self._open_view(self._store.drafts.get(draft_id))

    def _open_view(self, draft: Draft) -> None:
        if draft.checkout_url is not None:
            self._launcher.open(
                draft.id, draft.checkout_url, title=f"Rupa checkout — {self._draft_name(draft)}"
            )

    def _catchable(self, return_url: str) -> bool:
        try:
            return parse_return_url(return_url, self._launcher.endpoints) is not None
        except InvalidReturnUrl:
            return False

    async def open_in_browser(self, draft_id: str) -> bool:
        """Check out in the system browser; it returns to the app's loopback listener."""
        draft = self._store.drafts.get(draft_id)
        if draft.checkout_url is None:
            self._bridge.warning("Send the draft to Rupa first; then check it out.")
            return False
        try:
            self._launcher.origins.check(draft.checkout_url)
        except NavigationRefused as exc:
            self._bridge.error(str(exc))
            return False
        try:
            endpoint = await self._listener.start()
            self._launcher.set_endpoints([ReturnEndpoint.embedded(), endpoint])
            await self._outbox.use_return_url(draft_id, endpoint.url_for(draft_id))
        except RupaError as exc:
            self._bridge.known_error(exc, not_done="The checkout could not be opened.")
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

    async def link_return(self, result: CheckoutReturn) -> None:
        """The embedded checkout came back: link the order to the draft (or say why not)."""
        try:
            linked = await self._linker.link(result)
        except RupaError as exc:
            self._bridge.known_error(exc, level=Level.WARNING)
            return
        except StoreError as exc:
            self._bridge.known_error(exc, not_done="The order was not linked to its draft.")
            return
        finally:
            self.draft_changed.emit(result.draft_id)
        self._bridge.info(
            f"Order placed for {self._draft_name(linked.draft)}; follow it in Orders."
        )

    def on_linked(self, linked: LinkedOrder) -> None:
        """Any link (embedded, browser, or found in the order list): update the draft."""
        self.draft_changed.emit(linked.draft.id)

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

    def _on_connectivity_online_changed(self, online: bool) -> None:
        if online:
            self._sender.rupa_reachable()
