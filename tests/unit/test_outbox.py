"""The outbox against a small in-memory Rupa: create or update, no duplicates, no loss."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest

from rupa_desk.core.checkout_return import ReturnEndpoint
from rupa_desk.core.drafts import DraftNotReady, DraftState, InvalidDraftTransition
from rupa_desk.services.errors import (
    Offline,
    OutcomeUnknown,
    RequestTimeout,
    ServerError,
    ValidationFailed,
)
from rupa_desk.services.outbox import Outbox, QueuedDraftSender
from rupa_desk.services.store import Store
from tests.fixtures.fake_intents import KEY, FakeIntents


@pytest.fixture
def store() -> Iterator[Store]:
    with Store.in_memory() as store:
        yield store


@pytest.fixture
def rupa() -> FakeIntents:
    return FakeIntents()


@pytest.fixture
def changes() -> list[str]:
    return []


@pytest.fixture
def outbox(rupa: FakeIntents, store: Store, changes: list[str]) -> Outbox:
    return Outbox(
        rupa,
        store.drafts,
        return_url_for=ReturnEndpoint.embedded().url_for,
        draft_id_key=KEY,
        on_change=lambda d: changes.append(d.state.value),
    )


def new_draft(store: Store, *tests: str) -> str:
    draft_id = store.drafts.create(patient_id="pat_0000001", notes="fasting")
    for test in tests or ("labts_0000001",):
        store.drafts.add_test(draft_id, test, name=test, price=None)
    return draft_id


async def test_first_send_creates_the_intent_with_the_draft_id_in_it(
    outbox: Outbox, rupa: FakeIntents, store: Store, changes: list[str]
) -> None:
    draft_id = new_draft(store, "labts_0000001", "labts_0000002")
    draft = await outbox.send(draft_id)
    assert draft.state is DraftState.SENT
    [intent] = rupa.intents.values()
    assert draft.intent_id == intent.id
    assert draft.checkout_url == intent.checkout_url
    assert intent.metadata == {KEY: draft_id}
    assert draft_id in intent.return_url
    assert intent.lab_test_ids == ("labts_0000001", "labts_0000002")
    assert intent.notes == "fasting"
    assert store.drafts.get(draft_id) == draft
    assert changes == ["sending", "sending", "sent"]


async def test_sending_again_updates_the_same_intent(
    outbox: Outbox, rupa: FakeIntents, store: Store
) -> None:
    draft_id = new_draft(store)
    await outbox.send(draft_id)
    store.drafts.add_test(draft_id, "labts_0000009", name="x", price=None)
    store.drafts.edit(draft_id, notes="new notes")
    draft = await outbox.send(draft_id)
    assert rupa.calls == ["create", "update"]
    [intent] = rupa.intents.values()
    assert intent.lab_test_ids == ("labts_0000001", "labts_0000009")
    assert intent.notes == "new notes"
    assert not draft.needs_update


async def test_a_lost_create_answer_is_resolved_by_lookup_not_a_second_create(
    outbox: Outbox, rupa: FakeIntents, store: Store
) -> None:
    draft_id = new_draft(store)
    rupa.lose_next_create_answer = True
    failed = await outbox.send(draft_id)
    assert failed.state is DraftState.QUEUED
    assert failed.unconfirmed_create
    assert "not known whether it arrived" in (failed.failure_reason or "")
    assert len(rupa.intents) == 1  # it did arrive
    draft = await outbox.send(draft_id)
    assert draft.state is DraftState.SENT
    assert len(rupa.intents) == 1
    assert rupa.calls == ["create", "lookup", "update"]
    assert draft.intent_id == next(iter(rupa.intents))


async def test_a_lost_create_that_never_arrived_is_created_after_the_lookup(
    outbox: Outbox, rupa: FakeIntents, store: Store
) -> None:
    draft_id = new_draft(store)
    rupa.fail = [OutcomeUnknown(RequestTimeout())]  # raised before anything was created
    assert (await outbox.send(draft_id)).state is DraftState.QUEUED
    draft = await outbox.send(draft_id)
    assert rupa.calls == ["create", "lookup", "create"]
    assert draft.state is DraftState.SENT
    assert len(rupa.intents) == 1


async def test_offline_queues_and_send_queued_sends_when_back(
    outbox: Outbox, rupa: FakeIntents, store: Store
) -> None:
    first, second, third = new_draft(store), new_draft(store), new_draft(store)
    rupa.fail = [Offline(), Offline()]
    assert (await outbox.send(first)).state is DraftState.QUEUED
    assert (await outbox.send(second)).state is DraftState.QUEUED
    assert store.drafts.get(third).state is DraftState.LOCAL  # never sent: stays local
    rupa.fail = [Offline()]
    assert await outbox.send_queued() == []  # still offline: stops at the first
    assert rupa.calls[-1:] == ["create"]
    sent = await outbox.send_queued()
    assert [d.id for d in sent] == [first, second]
    assert store.drafts.get(third).state is DraftState.LOCAL
    assert len(rupa.intents) == 2


async def test_rupa_refusing_the_draft_fails_it_for_the_user(
    outbox: Outbox, rupa: FakeIntents, store: Store
) -> None:
    draft_id = new_draft(store)
    rupa.fail = [ValidationFailed({"lab_tests": ("labts_0000001 is not orderable.",)})]
    draft = await outbox.send(draft_id)
    assert draft.state is DraftState.FAILED
    assert "not orderable" in (draft.failure_reason or "")
    assert await outbox.send_queued() == []  # failed drafts wait for the user
    rupa.fail = [ServerError(503)]
    assert (await outbox.send(draft_id)).state is DraftState.QUEUED
    assert (await outbox.send(draft_id)).state is DraftState.SENT


async def test_a_draft_without_patient_is_refused_before_any_request(
    outbox: Outbox, rupa: FakeIntents, store: Store
) -> None:
    draft_id = store.drafts.create()
    with pytest.raises(DraftNotReady):
        await outbox.send(draft_id)
    assert rupa.calls == []
    assert store.drafts.get(draft_id).state is DraftState.LOCAL


async def test_edits_made_while_sending_are_sent_right_after(
    outbox: Outbox, rupa: FakeIntents, store: Store
) -> None:
    draft_id = new_draft(store)
    rupa.gate = asyncio.Event()
    task = asyncio.create_task(outbox.send(draft_id))
    await asyncio.sleep(0)
    assert rupa.calls == ["create"]
    store.drafts.edit(draft_id, notes="typed while sending")
    with pytest.raises(InvalidDraftTransition):
        await outbox.send(draft_id)  # one send at a time
    rupa.gate.set()
    draft = await task
    assert rupa.calls == ["create", "update"]
    assert draft.state is DraftState.SENT
    assert not draft.needs_update
    assert next(iter(rupa.intents.values())).notes == "typed while sending"


async def test_a_cancelled_send_leaves_the_draft_queued_not_sending(
    outbox: Outbox, rupa: FakeIntents, store: Store
) -> None:
    draft_id = new_draft(store)
    rupa.gate = asyncio.Event()
    task = asyncio.create_task(outbox.send(draft_id))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    draft = store.drafts.get(draft_id)
    assert draft.state is DraftState.QUEUED
    assert draft.unconfirmed_create  # the next send looks it up first
    rupa.gate = None
    await outbox.send(draft_id)
    assert rupa.calls == ["create", "lookup", "create"]


async def test_open_in_browser_changes_the_return_url(
    outbox: Outbox, rupa: FakeIntents, store: Store
) -> None:
    draft_id = new_draft(store)
    with pytest.raises(InvalidDraftTransition):
        await outbox.use_return_url(draft_id, "http://127.0.0.1:5000/x")
    await outbox.send(draft_id)
    loopback = ReturnEndpoint.loopback(5000).url_for(draft_id)
    await outbox.use_return_url(draft_id, loopback)
    assert next(iter(rupa.intents.values())).return_url == loopback
    assert store.drafts.get(draft_id).return_url == loopback


async def test_an_update_keeps_the_return_url_the_user_chose(
    outbox: Outbox, rupa: FakeIntents, store: Store
) -> None:
    """After "Open in browser", "Send update" must not point the checkout back at the
    embedded view: the checkout still open in the browser would return nowhere."""
    draft_id = new_draft(store)
    await outbox.send(draft_id)
    loopback = ReturnEndpoint.loopback(5000).url_for(draft_id)
    await outbox.use_return_url(draft_id, loopback)
    store.drafts.edit(draft_id, notes="changed after opening the browser")
    await outbox.send(draft_id)
    [intent] = rupa.intents.values()
    assert rupa.calls == ["create", "update", "update"]
    assert intent.notes == "changed after opening the browser"
    assert intent.return_url == loopback
    await outbox.use_return_url(draft_id, None)  # back to the embedded view
    assert rupa.intents[intent.id].return_url == ReturnEndpoint.embedded().url_for(draft_id)
    assert store.drafts.get(draft_id).return_url is None


async def test_every_send_reports_whether_rupa_answered(rupa: FakeIntents, store: Store) -> None:
    outcomes: list[str] = []
    outbox = Outbox(
        rupa,
        store.drafts,
        return_url_for=ReturnEndpoint.embedded().url_for,
        draft_id_key=KEY,
        on_outcome=lambda error: outcomes.append(type(error).__name__),
    )
    draft_id = new_draft(store)
    rupa.fail = [Offline()]
    await outbox.send(draft_id)
    rupa.fail = [ServerError(503)]
    await outbox.send(draft_id)
    rupa.fail = [ValidationFailed({"lab_tests": ("no",)})]
    await outbox.send(draft_id)
    await outbox.send(draft_id)
    assert outcomes == ["Offline", "ServerError", "ValidationFailed", "NoneType"]


# -- queued drafts are sent again by themselves ---------------------------------------------


def sender_for(
    outbox: Outbox, store: Store, sent: list[str], waits_s: tuple[float, ...]
) -> QueuedDraftSender:
    return QueuedDraftSender(
        outbox,
        store.drafts,
        on_sent=lambda drafts: sent.extend(d.id for d in drafts),
        waits_s=waits_s,
        min_gap_s=0.0,
    )


async def wait_for(condition: Callable[[], object], within: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_a_draft_queued_by_a_server_error_is_sent_again_without_anyone_asking(
    outbox: Outbox, rupa: FakeIntents, store: Store
) -> None:
    """A 5xx leaves Rupa reachable (no offline→online transition ever comes): the backoff
    alone must send the draft."""
    draft_id = new_draft(store)
    sent: list[str] = []
    sender = sender_for(outbox, store, sent, (0.05,))
    running = asyncio.create_task(sender.run())
    try:
        rupa.fail = [ServerError(503), ServerError(502)]
        assert (await outbox.send(draft_id)).state is DraftState.QUEUED
        sender.draft_queued()
        await wait_for(lambda: store.drafts.get(draft_id).state is DraftState.SENT)
        assert sent == [draft_id]
        assert sender.attempts == 2  # the 502 kept it queued; the next attempt sent it
        assert len(rupa.intents) == 1
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


async def test_the_sender_backs_off_and_rupa_answering_again_sends_at_once(
    outbox: Outbox, rupa: FakeIntents, store: Store
) -> None:
    draft_id = new_draft(store)
    sent: list[str] = []
    sender = sender_for(outbox, store, sent, (0.05, 60.0))
    running = asyncio.create_task(sender.run())
    try:
        await asyncio.sleep(0.1)
        assert sender.attempts == 0  # nothing queued: idle
        rupa.fail = [Offline(), Offline()]
        await outbox.send(draft_id)
        sender.draft_queued()
        await wait_for(lambda: sender.attempts == 1)  # after the first wait; still offline
        await asyncio.sleep(0.3)
        assert sender.attempts == 1  # the next wait is a minute
        assert store.drafts.get(draft_id).state is DraftState.QUEUED
        sender.rupa_reachable()  # e.g. the order poller got an answer again
        await wait_for(lambda: store.drafts.get(draft_id).state is DraftState.SENT)
        assert sender.attempts == 2
        assert sent == [draft_id]
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
