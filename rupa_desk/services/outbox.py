"""The outbox: drafts go to Rupa as order intents, without duplicates and without loss.

"Send to Rupa" creates the draft's order intent, or updates the one it already has (patient,
tests, notes). Each step is saved in the draft before the next happens:

1. the draft is marked *sending* (in the database);
2. before a create, it is marked as having an unconfirmed create; if an earlier create's answer
   was lost (timeout, dropped connection, the app killed), the intent is first looked up by
   the draft id Rupa Desk put in its metadata (`order_intents_for_draft`) and adopted;
3. the intent id is saved the moment Rupa returns it;
4. a failure is saved with its reason: *queued* when the connection failed or Rupa was busy,
   *failed* when Rupa refused the draft.

Queued drafts are sent again by `QueuedDraftSender` without anyone asking: on a backoff
schedule while any wait, and at once when Rupa is reachable again. Every send's outcome is
reported (`on_outcome`), so the app knows whether Rupa answered.

The request carries the draft as it was when sending began; edits made meanwhile stay in the
draft, which then needs an update, and are sent right after. An update keeps the checkout's
return URL where the user last pointed it ("Open in browser").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, Protocol

from rupa_desk.core.drafts import Draft, DraftState, InvalidDraftTransition
from rupa_desk.core.models import OrderIntent
from rupa_desk.services.errors import (
    NetworkError,
    NotSignedIn,
    OutcomeUnknown,
    RateLimited,
    RupaError,
    ServerError,
)
from rupa_desk.services.store.drafts import Drafts
from rupa_desk.services.store.sync_state import utc_now

log = logging.getLogger(__name__)

#: How many times one `send` follows up with an update for edits made while it was sending.
MAX_FOLLOW_UPS = 3
INTERRUPTED = "Sending was interrupted (Rupa Desk was closing); it will be sent again."
UNEXPECTED = "Sending failed because of an error in Rupa Desk; it has been reported. Try again."
#: Waits between automatic sends of queued drafts while they stay queued (the last repeats).
RESEND_WAITS_S: Final = (5.0, 15.0, 30.0, 60.0, 120.0, 300.0)
#: The least time between two automatic sends, however often Rupa is found reachable.
RESEND_MIN_GAP_S: Final = 2.0


class OrderIntentApi(Protocol):
    """The part of `RupaClient` the outbox uses."""

    async def create_order_intent(
        self,
        patient_id: str,
        lab_test_ids: Sequence[str],
        return_url: str,
        metadata: Mapping[str, Any] | None = None,
        notes: str | None = None,
    ) -> OrderIntent: ...

    async def update_order_intent(
        self,
        order_intent_id: str,
        *,
        patient_id: str | None = None,
        lab_test_ids: Sequence[str] | None = None,
        return_url: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        notes: str | None = None,
    ) -> OrderIntent: ...

    async def order_intents_for_draft(self, draft_id: str) -> list[OrderIntent]: ...


DraftListener = Callable[[Draft], None]
#: Told the outcome of each send's requests: None when Rupa answered, else the error.
OutcomeListener = Callable[[RupaError | None], None]


def sends_again_by_itself(error: RupaError) -> bool:
    """True when the connection (or Rupa being busy, or the session) failed, not the draft:
    the draft is queued and sent again when the network (or the session) is back."""
    return isinstance(
        error, NetworkError | OutcomeUnknown | ServerError | RateLimited | NotSignedIn
    )


class Outbox:
    """Sends drafts to Rupa as order intents.

    Args:
        client: the Rupa API (a `RupaClient`).
        drafts: the drafts in the database.
        return_url_for: the checkout return URL of a draft (it names the draft).
        draft_id_key: the metadata key that carries the draft id (`ApiPaths`).
        clock: the wall clock (aware datetimes).
        on_change: called with each saved change of a draft (the UI refreshes its row).
        on_outcome: called after each send with None (Rupa answered, even with a refusal)
            or the error that stopped it (the app tracks whether Rupa is reachable).
    """

    def __init__(
        self,
        client: OrderIntentApi,
        drafts: Drafts,
        *,
        return_url_for: Callable[[str], str],
        draft_id_key: str,
        clock: Callable[[], datetime] = utc_now,
        on_change: DraftListener | None = None,
        on_outcome: OutcomeListener | None = None,
    ) -> None:
        self._client = client
        self._drafts = drafts
        self._return_url_for = return_url_for
        self._draft_id_key = draft_id_key
        self._clock = clock
        self._on_change = on_change
        self._on_outcome = on_outcome
        self._queue_lock = asyncio.Lock()

    async def send(self, draft_id: str) -> Draft:
        """Send one draft now (create or update its order intent).

        Returns:
            The draft afterwards: sent, or queued/failed with the reason (a Rupa error is
            saved in the draft, not raised).

        Raises:
            DraftNotReady: the draft lacks a patient (nothing was sent).
            InvalidDraftTransition: it is being sent already, or checked out.
            UnknownDraftError: there is no such draft.
        """
        draft = self._save(draft_id, lambda d: d.send_started(self._clock()))
        for _ in range(MAX_FOLLOW_UPS):
            draft = await self._send_started(draft)
            if not (draft.state is DraftState.SENT and draft.needs_update):
                return draft
            draft = self._save(draft_id, lambda d: d.send_started(self._clock()))
        return await self._send_started(draft)

    async def send_queued(self) -> list[Draft]:
        """Send the drafts waiting for the network, oldest first; stop at the first that
        finds the network still down. Returns the drafts that were sent."""
        sent: list[Draft] = []
        async with self._queue_lock:
            for queued in self._drafts.in_state(DraftState.QUEUED):
                try:
                    draft = await self.send(queued.id)
                except InvalidDraftTransition:
                    continue  # the user sent or changed it meanwhile
                if draft.state is DraftState.SENT:
                    sent.append(draft)
                elif draft.state is DraftState.QUEUED:
                    break
        return sent

    async def use_return_url(self, draft_id: str, return_url: str | None) -> None:
        """Point the draft's order intent at another return URL and remember it, so that
        later updates keep it ("Open in browser"; None: back to the embedded view's).

        Raises:
            InvalidDraftTransition: the draft has no order intent yet.
            RupaError: the update failed (the draft keeps the return URL it had).
        """
        draft = self._drafts.get(draft_id)
        if draft.intent_id is None:
            raise InvalidDraftTransition("Send the draft to Rupa before checking it out.")
        try:
            await self._client.update_order_intent(
                draft.intent_id, return_url=return_url or self._return_url_for(draft_id)
            )
        except RupaError as exc:
            self._report(exc)
            raise
        self._report(None)
        self._save(draft_id, lambda d: d.returning_to(return_url))

    def return_url_of(self, draft: Draft) -> str:
        """Where the draft's checkout returns to (the embedded view's unless changed)."""
        return draft.return_url or self._return_url_for(draft.id)

    # -- one send ------------------------------------------------------------------------------

    async def _send_started(self, draft: Draft) -> Draft:
        """Do the requests of a draft already marked sending; save the outcome."""
        carried = draft
        try:
            intent = await self._create_or_update(carried)
        except RupaError as exc:
            log.info("sending a draft failed: %s", type(exc).__name__)
            self._report(exc)
            reason, retry = exc.user_message, sends_again_by_itself(exc)
            return self._save(
                carried.id,
                lambda d: d.send_failed(self._clock(), reason, retry_automatically=retry),
            )
        except asyncio.CancelledError:
            self._settle(carried.id, INTERRUPTED, retry=True)
            raise
        except Exception:
            self._settle(carried.id, UNEXPECTED, retry=False)
            raise
        self._report(None)
        return self._finish(carried, intent)

    async def _create_or_update(self, draft: Draft) -> OrderIntent:
        if draft.intent_id is None and draft.unconfirmed_create:
            found = await self._client.order_intents_for_draft(draft.id)
            if found:
                intent = min(found, key=lambda i: (i.created_at is None, i.created_at, i.id))
                log.info("adopted the order intent of an earlier, unanswered create")
                draft = self._save(
                    draft.id, lambda d: d.intent_found(intent.id, intent.checkout_url)
                )
        if draft.intent_id is None:
            self._save(draft.id, lambda d: d.create_requested())
            if draft.patient_id is None:  # send_started checked; keeps mypy sure
                raise InvalidDraftTransition("A draft without a patient cannot be sent.")
            try:
                return await self._client.create_order_intent(
                    draft.patient_id,
                    draft.lab_test_ids,
                    self._return_url_for(draft.id),
                    metadata={self._draft_id_key: draft.id},
                    notes=draft.notes,
                )
            except NetworkError as exc:
                if not exc.request_sent:  # it never left: no intent to look for next time
                    self._save(draft.id, lambda d: d.create_not_sent())
                raise
        return await self._client.update_order_intent(
            draft.intent_id,
            patient_id=draft.patient_id,
            lab_test_ids=draft.lab_test_ids,
            notes=draft.notes,
            return_url=self.return_url_of(draft),
            metadata={self._draft_id_key: draft.id},
        )

    def _finish(self, carried: Draft, intent: OrderIntent) -> Draft:
        now = self._clock()
        try:
            return self._save(
                carried.id,
                lambda d: d.send_succeeded(
                    now,
                    intent_id=intent.id,
                    checkout_url=intent.checkout_url,
                    revision=carried.revision,
                ),
            )
        except InvalidDraftTransition:
            current = self._drafts.get(carried.id)
            if current.state is DraftState.CHECKED_OUT:
                return current  # checked out (in the browser) while the update was on its way
            raise

    def _settle(self, draft_id: str, reason: str, *, retry: bool) -> None:
        """Leave a draft queued or failed after an interruption (never stuck in sending)."""
        with contextlib.suppress(InvalidDraftTransition):
            self._save(
                draft_id,
                lambda d: d.send_failed(self._clock(), reason, retry_automatically=retry),
            )

    def _report(self, error: RupaError | None) -> None:
        if self._on_outcome is not None:
            self._on_outcome(error)

    def _save(self, draft_id: str, change: Callable[[Draft], Draft]) -> Draft:
        draft = self._drafts.update(draft_id, change)
        if self._on_change is not None:
            self._on_change(draft)
        return draft


class QueuedDraftSender:
    """Sends queued drafts again by itself, so that no draft waits for a user who was told
    "it will be sent when Rupa is reachable".

    While any draft is queued it tries `Outbox.send_queued` on a backoff schedule (`waits_s`,
    the last wait repeating), and sooner when told Rupa is reachable again
    (`rupa_reachable`, at most every `min_gap_s`). A queue that empties resets the backoff.

    Args:
        outbox: sends the drafts.
        drafts: the drafts in the database.
        on_sent: called with the drafts each attempt sent (the UI tells the user which).
        waits_s: the backoff between attempts while drafts stay queued.
        min_gap_s: the least time between two attempts.
        clock: monotonic seconds.
    """

    def __init__(
        self,
        outbox: Outbox,
        drafts: Drafts,
        *,
        on_sent: Callable[[list[Draft]], None],
        waits_s: Sequence[float] = RESEND_WAITS_S,
        min_gap_s: float = RESEND_MIN_GAP_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._outbox = outbox
        self._drafts = drafts
        self._on_sent = on_sent
        self._waits = tuple(waits_s) or (RESEND_WAITS_S[-1],)
        self._min_gap = min_gap_s
        self._clock = clock
        self._wake = asyncio.Event()
        self._reachable = False
        self._attempt = 0
        self._due: float | None = None
        self._last_attempt = -float("inf")
        self.attempts = 0

    def draft_queued(self) -> None:
        """A draft was queued: start the backoff if it was not running (no attempt now)."""
        self._wake.set()

    def rupa_reachable(self) -> None:
        """Rupa answered again: send the queued drafts now (or after the minimum gap)."""
        self._reachable = True
        self._wake.set()

    async def run(self) -> None:
        """Send queued drafts until cancelled."""
        while True:
            if not self._drafts.in_state(DraftState.QUEUED):
                self._attempt, self._due, self._reachable = 0, None, False
                await self._sleep(None)
                continue
            now = self._clock()
            if self._due is None:
                self._due = now + self._waits[min(self._attempt, len(self._waits) - 1)]
            if self._reachable:
                self._reachable = False
                self._due = min(self._due, max(now, self._last_attempt + self._min_gap))
            if self._due > now:
                await self._sleep(self._due - now)
                continue
            await self._attempt_now()

    async def _attempt_now(self) -> None:
        self._last_attempt, self._due = self._clock(), None
        self.attempts += 1
        sent = await self._outbox.send_queued()
        still_queued = bool(self._drafts.in_state(DraftState.QUEUED))
        self._attempt = self._attempt + 1 if still_queued else 0
        if sent:
            self._on_sent(sent)

    async def _sleep(self, seconds: float | None) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()
