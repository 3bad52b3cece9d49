"""Draft orders and their state machine (pure: no I/O, no clock of its own).

A draft is what a front-desk user builds before Rupa knows about it: a patient, some lab
tests, a note to the patient (sent: Rupa shows it on the patient's order) and an internal
note (kept on this computer only, never sent). It lives in the local database first
(autosaved) and is sent to Rupa as an order intent, then checked out into an order::

    local ──send──▶ sending ──ok──▶ sent (intent id) ──checkout──▶ checked out (order id)
                     │  ▲  ▲               │  ▲
               failed│  │  │ network   edit │  │ send (an update)
                     ▼  │  │ back           ▼  │
          failed (reason)  queued (reason)  sent, needs an update

A failure the user must act on (Rupa refused the draft) leaves it *failed*, with the reason
and a Retry; a failure of the connection (offline, timeout, Rupa busy) leaves it *queued*:
sent again automatically when the network is back.

Edits bump `revision`; a send remembers the revision it carried, so "needs an update" is
derived (the last sent revision is not the current one) rather than stored. Transitions that
make no sense (editing a checked-out draft, sending twice at once) raise
`InvalidDraftTransition`.

No duplicates (DESIGN.md): before the create request is sent, `create_requested()` marks the
draft as having an unconfirmed create. Until Rupa's answer is seen (`send_succeeded`) or the
intent is found again (`intent_found`), the next send must look the intent up by draft id
before creating one — whether the first attempt timed out, failed oddly, or the app was
killed half-way.
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Final

from rupa_desk.core.errors import ActionNotAllowed, InvalidInput

_DRAFT_ID_RE: Final = re.compile(r"draft_[0-9a-f]{32}")

#: The most text a draft keeps in each of its notes (Rupa's own limit is not documented;
#: this is generous).
MAX_NOTES_CHARS: Final = 10_000
#: What `recover_interrupted` records when the app stopped while a send was in flight.
INTERRUPTED_REASON: Final = (
    "Rupa Desk closed while this draft was being sent; it will be sent again."
)


class DraftState(enum.StrEnum):
    """Where a draft is on its way to becoming a Rupa order."""

    LOCAL = "local"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    QUEUED = "queued"
    CHECKED_OUT = "checked_out"


class InvalidDraftTransition(ActionNotAllowed):
    """A change that the draft's current state does not allow; the message says why."""


class DraftNotReady(InvalidInput):
    """The draft cannot be sent yet; the message says what is missing."""


def new_draft_id() -> str:
    """A fresh, unguessable draft id (`draft_` + 32 hex digits)."""
    return f"draft_{uuid.uuid4().hex}"


def is_draft_id(value: str) -> bool:
    """True when `value` has the shape of a draft id."""
    return _DRAFT_ID_RE.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class Draft:
    """One draft order. Immutable: each transition returns a new draft.

    Attributes:
        id: the local draft id; also put in the order intent's metadata and return URL.
        created_at: when the draft was made (wall clock, with offset).
        updated_at: when it last changed.
        patient_id: the Rupa patient (`pat_…`), or None until chosen.
        lab_test_ids: the lab tests, in the order they were added, without repeats.
        notes: the note to the patient, sent with the order intent (Rupa shows it to the
            patient as the order's `notes_to_patient`).
        state: see `DraftState`.
        revision: bumped by every edit.
        sent_revision: the revision Rupa last accepted, None before the first success.
        intent_id: the order intent (`ordin_…`) once Rupa returned it.
        checkout_url: the intent's checkout page.
        order_id: the order (`ord_…`) once checked out.
        failure_reason: why the last send failed (states FAILED and QUEUED), for the user.
        unconfirmed_create: a create request went out whose answer was never seen; the next
            send must look the intent up first.
        return_url: where Rupa's checkout returns to, as last set on the order intent by
            "Open in browser" (the app's loopback listener); None: the embedded view's
            address, the one every send uses unless the user chose the browser.
        internal_note: the front desk's own note, kept on this computer and never sent, so
            a change to it never makes the draft need an update on Rupa.
    """

    id: str
    created_at: datetime
    updated_at: datetime
    patient_id: str | None = None
    lab_test_ids: tuple[str, ...] = ()
    notes: str = ""
    state: DraftState = DraftState.LOCAL
    revision: int = 0
    sent_revision: int | None = None
    intent_id: str | None = None
    checkout_url: str | None = None
    order_id: str | None = None
    failure_reason: str | None = None
    unconfirmed_create: bool = field(default=False)
    return_url: str | None = None
    internal_note: str = ""

    def __post_init__(self) -> None:
        if not is_draft_id(self.id):
            raise ValueError(f"not a draft id: {self.id!r}")
        if len(set(self.lab_test_ids)) != len(self.lab_test_ids):
            raise ValueError("a draft lists each lab test once")
        if self.state in (DraftState.FAILED, DraftState.QUEUED) and not self.failure_reason:
            raise ValueError("a failed or queued draft says why")
        if self.state is DraftState.SENT and self.intent_id is None:
            raise ValueError("a sent draft has an order intent id")
        if self.state is DraftState.CHECKED_OUT and self.order_id is None:
            raise ValueError("a checked-out draft has an order id")

    @classmethod
    def new(
        cls,
        now: datetime,
        *,
        patient_id: str | None = None,
        lab_test_ids: Iterable[str] = (),
        notes: str = "",
        internal_note: str = "",
        draft_id: str | None = None,
    ) -> Draft:
        """A new local-only draft."""
        return cls(
            id=draft_id or new_draft_id(),
            created_at=now,
            updated_at=now,
            patient_id=patient_id,
            lab_test_ids=_unique(lab_test_ids),
            notes=_clean_notes(notes),
            internal_note=_clean_notes(internal_note, "The internal note"),
        )

    # -- derived -------------------------------------------------------------------------------

    @property
    def needs_update(self) -> bool:
        """True when Rupa has an order intent but not the latest edits of the draft."""
        return (
            self.intent_id is not None
            and self.state is not DraftState.CHECKED_OUT
            and self.sent_revision != self.revision
        )

    @property
    def is_editable(self) -> bool:
        """False once checked out: the order is Rupa's now."""
        return self.state is not DraftState.CHECKED_OUT

    @property
    def can_send(self) -> bool:
        """True when "Send to Rupa" (or Retry) makes sense now."""
        return self.state in (DraftState.LOCAL, DraftState.FAILED, DraftState.QUEUED) or (
            self.state is DraftState.SENT and self.needs_update
        )

    @property
    def can_check_out(self) -> bool:
        """True when the draft has an order intent whose checkout page can be opened."""
        return self.checkout_url is not None and self.state in (
            DraftState.SENT,
            DraftState.FAILED,
            DraftState.QUEUED,
        )

    def missing_for_send(self) -> list[str]:
        """What the user must add before sending (empty when ready)."""
        missing = []
        if self.patient_id is None:
            missing.append("Choose a patient.")
        return missing

    # -- edits ---------------------------------------------------------------------------------

    def edited(
        self,
        now: datetime,
        *,
        patient_id: str | None = None,
        lab_test_ids: Iterable[str] | None = None,
        notes: str | None = None,
    ) -> Draft:
        """The draft with new content. Any state but checked out; sent drafts then need an
        update. Arguments left as None keep their current value."""
        if not self.is_editable:
            raise InvalidDraftTransition("A checked-out draft cannot be changed.")
        new_patient = self.patient_id if patient_id is None else patient_id
        new_tests = self.lab_test_ids if lab_test_ids is None else _unique(lab_test_ids)
        new_notes = self.notes if notes is None else _clean_notes(notes)
        if (new_patient, new_tests, new_notes) == (self.patient_id, self.lab_test_ids, self.notes):
            return self
        return replace(
            self,
            patient_id=new_patient,
            lab_test_ids=new_tests,
            notes=new_notes,
            revision=self.revision + 1,
            updated_at=now,
        )

    def with_internal_note(self, now: datetime, internal_note: str) -> Draft:
        """The draft with another internal note, in any state (checked out too): the note
        stays on this computer, so Rupa's copy is not out of date (`revision` is kept)."""
        note = _clean_notes(internal_note, "The internal note")
        if note == self.internal_note:
            return self
        return replace(self, internal_note=note, updated_at=now)

    def with_test_added(self, now: datetime, lab_test_id: str) -> Draft:
        """The draft with one more lab test (a test already there is not added twice)."""
        return self.edited(now, lab_test_ids=(*self.lab_test_ids, lab_test_id))

    def with_test_removed(self, now: datetime, lab_test_id: str) -> Draft:
        """The draft without this lab test (no change when it was not there)."""
        return self.edited(now, lab_test_ids=[t for t in self.lab_test_ids if t != lab_test_id])

    # -- sending -------------------------------------------------------------------------------

    def send_started(self, now: datetime) -> Draft:
        """Sending begins (first send, retry, or an update of the existing intent)."""
        if self.state is DraftState.SENDING:
            raise InvalidDraftTransition("This draft is already being sent.")
        if self.state is DraftState.CHECKED_OUT:
            raise InvalidDraftTransition("A checked-out draft is not sent again.")
        missing = self.missing_for_send()
        if missing:
            raise DraftNotReady(" ".join(missing))
        return replace(self, state=DraftState.SENDING, failure_reason=None, updated_at=now)

    def create_requested(self) -> Draft:
        """Recorded (and saved) just before the create request goes out."""
        self._require(DraftState.SENDING, "create an order intent")
        if self.intent_id is not None:
            raise InvalidDraftTransition("This draft has an order intent already; update it.")
        return replace(self, unconfirmed_create=True)

    def create_not_sent(self) -> Draft:
        """The create request surely never reached Rupa (no connection): nothing to look up."""
        self._require(DraftState.SENDING, "withdraw a create")
        return replace(self, unconfirmed_create=False)

    def intent_found(self, intent_id: str, checkout_url: str) -> Draft:
        """A lookup found the intent an earlier, unanswered create made; still sending (the
        caller updates it with the current content next)."""
        self._require(DraftState.SENDING, "adopt an order intent")
        self._check_same_intent(intent_id)
        return replace(
            self, intent_id=intent_id, checkout_url=checkout_url, unconfirmed_create=False
        )

    def send_succeeded(
        self, now: datetime, *, intent_id: str, checkout_url: str, revision: int
    ) -> Draft:
        """Rupa accepted the draft as it was at `revision` (the revision the request carried)."""
        self._require(DraftState.SENDING, "finish sending")
        self._check_same_intent(intent_id)
        if not 0 <= revision <= self.revision:
            raise InvalidDraftTransition(f"Revision {revision} was never part of this draft.")
        return replace(
            self,
            state=DraftState.SENT,
            intent_id=intent_id,
            checkout_url=checkout_url,
            sent_revision=revision,
            failure_reason=None,
            unconfirmed_create=False,
            updated_at=now,
        )

    def send_failed(
        self, now: datetime, reason: str, *, retry_automatically: bool = False
    ) -> Draft:
        """The send did not go through; the user sees `reason`.

        Args:
            now: the time of the failure.
            reason: for the user: what happened and what to do.
            retry_automatically: the connection failed, not the draft: queue it to be sent
                when the network is back (QUEUED) rather than wait for the user (FAILED).
        """
        self._require(DraftState.SENDING, "fail sending")
        if not reason.strip():
            raise ValueError("a failure has a reason")
        state = DraftState.QUEUED if retry_automatically else DraftState.FAILED
        return replace(self, state=state, failure_reason=reason, updated_at=now)

    def recover_interrupted(self, now: datetime) -> Draft:
        """At start-up: a draft left `sending` by a crash or kill is queued to be sent again.

        Any create it may have sent stays unconfirmed, so the next send looks it up first.
        """
        if self.state is not DraftState.SENDING:
            return self
        return self.send_failed(now, INTERRUPTED_REASON, retry_automatically=True)

    # -- checkout ------------------------------------------------------------------------------

    def checked_out(self, now: datetime, order_id: str) -> Draft:
        """The practitioner submitted the checkout: the draft became order `order_id`.

        Idempotent for the same order (the return URL and the poller may both report it).
        """
        if self.state is DraftState.CHECKED_OUT:
            if self.order_id == order_id:
                return self
            raise InvalidDraftTransition(
                "This draft already became another order: find it in the Orders pane."
            )
        if self.intent_id is None:
            raise InvalidDraftTransition("A draft without an order intent cannot be checked out.")
        return replace(
            self,
            state=DraftState.CHECKED_OUT,
            order_id=order_id,
            failure_reason=None,
            updated_at=now,
        )

    def returning_to(self, return_url: str | None) -> Draft:
        """The order intent now returns to `return_url` (None: the embedded view's address).

        Kept so that a later "Send update" leaves the checkout where the user opened it.
        """
        if self.intent_id is None:
            raise InvalidDraftTransition("Send the draft to Rupa before checking it out.")
        return replace(self, return_url=return_url)

    def ensure_deletable(self) -> None:
        """Raise when the draft cannot be deleted now (while a send is in flight)."""
        if self.state is DraftState.SENDING:
            raise InvalidDraftTransition("Wait until this draft has been sent, then delete it.")

    # -- internals -----------------------------------------------------------------------------

    def _require(self, state: DraftState, action: str) -> None:
        if self.state is not state:
            raise InvalidDraftTransition(f"Cannot {action}: the draft is {self.state.value}.")

    def _check_same_intent(self, intent_id: str) -> None:
        if self.intent_id is not None and self.intent_id != intent_id:
            raise InvalidDraftTransition(
                "This draft was sent to Rupa as another order: check it out from the "
                "Draft orders pane."
            )


def _unique(ids: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for i in ids if i))


def _clean_notes(notes: str, what: str = "The note to the patient") -> str:
    if len(notes) > MAX_NOTES_CHARS:
        raise InvalidInput(f"{what} is limited to {MAX_NOTES_CHARS:,} characters.")
    return notes
