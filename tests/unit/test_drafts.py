"""The draft state machine: local → sending → sent → checked out, failures and retries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rupa_desk.core.drafts import (
    INTERRUPTED_REASON,
    MAX_NOTES_CHARS,
    Draft,
    DraftNotReady,
    DraftState,
    InvalidDraftTransition,
    is_draft_id,
    new_draft_id,
)
from rupa_desk.core.errors import InvalidInput

T0 = datetime(2024, 6, 13, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=1)
T2 = T0 + timedelta(minutes=2)
T3 = T0 + timedelta(minutes=3)
URL = "https://labs.example/checkout/ordin_AAAAAAA"


def ready() -> Draft:
    return Draft.new(T0, patient_id="pat_abcdefg", lab_test_ids=["labts_1234567"])


def sent() -> Draft:
    draft = ready().send_started(T1).create_requested()
    return draft.send_succeeded(
        T2, intent_id="ordin_AAAAAAA", checkout_url=URL, revision=draft.revision
    )


def test_a_new_draft_is_local_with_a_fresh_id() -> None:
    a, b = Draft.new(T0), Draft.new(T0)
    assert a.state is DraftState.LOCAL
    assert a.id != b.id
    assert is_draft_id(a.id)
    assert is_draft_id(new_draft_id())
    assert not a.needs_update
    assert a.is_editable
    assert a.can_send
    assert not a.can_check_out


def test_draft_ids_are_validated() -> None:
    with pytest.raises(ValueError, match="not a draft id"):
        Draft.new(T0, draft_id="draft_../../etc")
    assert not is_draft_id("draft_" + "G" * 32)
    assert not is_draft_id("drf_" + "0" * 32)
    assert not is_draft_id("")


def test_edits_bump_the_revision_and_keep_tests_unique_and_ordered() -> None:
    draft = Draft.new(T0).with_test_added(T1, "labts_b").with_test_added(T1, "labts_a")
    assert draft.lab_test_ids == ("labts_b", "labts_a")
    again = draft.with_test_added(T2, "labts_b")
    assert again is draft  # nothing changed, nothing to save
    removed = draft.with_test_removed(T2, "labts_b")
    assert removed.lab_test_ids == ("labts_a",)
    assert removed.revision == draft.revision + 1 == 3
    assert removed.updated_at == T2
    assert removed.with_test_removed(T3, "labts_zzz") is removed


def test_notes_and_patient_edits() -> None:
    draft = Draft.new(T0).edited(T1, patient_id="pat_1234567", notes="fasting")
    assert (draft.patient_id, draft.notes, draft.revision) == ("pat_1234567", "fasting", 1)
    with pytest.raises(InvalidInput, match="limited"):
        draft.edited(T2, notes="x" * (MAX_NOTES_CHARS + 1))


def test_a_draft_without_patient_is_not_ready() -> None:
    draft = Draft.new(T0, lab_test_ids=["labts_1234567"])
    assert draft.missing_for_send() == ["Choose a patient."]
    with pytest.raises(DraftNotReady, match="patient"):
        draft.send_started(T1)


def test_happy_path_local_sending_sent_checked_out() -> None:
    draft = ready()
    sending = draft.send_started(T1)
    assert sending.state is DraftState.SENDING
    asked = sending.create_requested()
    assert asked.unconfirmed_create
    done = asked.send_succeeded(
        T2, intent_id="ordin_AAAAAAA", checkout_url=URL, revision=asked.revision
    )
    assert done.state is DraftState.SENT
    assert (done.intent_id, done.checkout_url) == ("ordin_AAAAAAA", URL)
    assert not done.unconfirmed_create
    assert not done.needs_update
    assert done.can_check_out
    assert not done.can_send
    out = done.checked_out(T3, "ord_BBBBBBB")
    assert out.state is DraftState.CHECKED_OUT
    assert out.order_id == "ord_BBBBBBB"
    assert not out.is_editable
    assert not out.can_send
    assert not out.can_check_out


def test_edit_after_sending_needs_an_update_and_the_update_clears_it() -> None:
    draft = sent().with_test_added(T3, "labts_7654321")
    assert draft.state is DraftState.SENT
    assert draft.needs_update
    assert draft.can_send
    sending = draft.send_started(T3)
    with pytest.raises(InvalidDraftTransition, match="update it"):
        sending.create_requested()
    updated = sending.send_succeeded(
        T3, intent_id="ordin_AAAAAAA", checkout_url=URL, revision=sending.revision
    )
    assert not updated.needs_update


def test_an_edit_made_while_sending_still_needs_an_update_afterwards() -> None:
    sending = ready().send_started(T1)
    carried = sending.revision
    edited = sending.edited(T1, notes="added while the request was in flight")
    done = edited.send_succeeded(T2, intent_id="ordin_AAAAAAA", checkout_url=URL, revision=carried)
    assert done.needs_update


def test_failure_keeps_the_reason_and_retry_goes_back_to_sending() -> None:
    failed = ready().send_started(T1).send_failed(T2, "Rupa could not be reached.")
    assert failed.state is DraftState.FAILED
    assert failed.failure_reason == "Rupa could not be reached."
    assert failed.can_send
    assert not failed.can_check_out
    retry = failed.send_started(T3)
    assert retry.state is DraftState.SENDING
    assert retry.failure_reason is None
    with pytest.raises(ValueError, match="reason"):
        retry.send_failed(T3, "  ")


def test_a_connection_failure_queues_the_draft_to_be_sent_again() -> None:
    queued = ready().send_started(T1).send_failed(T2, "Offline", retry_automatically=True)
    assert queued.state is DraftState.QUEUED
    assert queued.failure_reason == "Offline"
    assert queued.can_send
    assert queued.is_editable
    edited = queued.with_test_added(T3, "labts_7654321")
    assert edited.state is DraftState.QUEUED
    assert edited.send_started(T3).state is DraftState.SENDING
    update_queued = (
        sent().edited(T3, notes="x").send_started(T3).send_failed(T3, "x", retry_automatically=True)
    )
    assert update_queued.can_check_out


def test_a_create_without_an_answer_stays_unconfirmed_until_resolved() -> None:
    lost = ready().send_started(T1).create_requested().send_failed(T2, "timed out")
    assert lost.unconfirmed_create  # the retry must look the intent up first
    retry = lost.send_started(T3)
    assert retry.unconfirmed_create
    adopted = retry.intent_found("ordin_AAAAAAA", URL)
    assert not adopted.unconfirmed_create
    assert adopted.state is DraftState.SENDING
    assert adopted.intent_id == "ordin_AAAAAAA"
    done = adopted.send_succeeded(
        T3, intent_id="ordin_AAAAAAA", checkout_url=URL, revision=adopted.revision
    )
    assert done.state is DraftState.SENT


def test_a_create_that_never_left_needs_no_lookup() -> None:
    asked = ready().send_started(T1).create_requested()
    assert not asked.create_not_sent().unconfirmed_create
    with pytest.raises(InvalidDraftTransition):
        ready().create_not_sent()


def test_a_draft_interrupted_while_sending_becomes_failed_and_retryable() -> None:
    sending = ready().send_started(T1).create_requested()
    recovered = sending.recover_interrupted(T2)
    assert recovered.state is DraftState.QUEUED
    assert recovered.failure_reason == INTERRUPTED_REASON
    assert recovered.unconfirmed_create
    local = ready()
    assert local.recover_interrupted(T2) is local
    assert sent().recover_interrupted(T3).state is DraftState.SENT


@pytest.mark.parametrize(
    ("draft", "action"),
    [
        (ready(), lambda d: d.create_requested()),
        (ready(), lambda d: d.send_failed(T1, "x")),
        (ready(), lambda d: d.intent_found("ordin_AAAAAAA", URL)),
        (
            ready(),
            lambda d: d.send_succeeded(T1, intent_id="ordin_A", checkout_url=URL, revision=0),
        ),
        (ready(), lambda d: d.checked_out(T1, "ord_BBBBBBB")),
        (ready().send_started(T1), lambda d: d.send_started(T1)),
        (sent().checked_out(T3, "ord_BBBBBBB"), lambda d: d.send_started(T3)),
        (sent().checked_out(T3, "ord_BBBBBBB"), lambda d: d.edited(T3, notes="late")),
        (sent().checked_out(T3, "ord_BBBBBBB"), lambda d: d.with_test_added(T3, "labts_x")),
        (sent().checked_out(T3, "ord_BBBBBBB"), lambda d: d.checked_out(T3, "ord_CCCCCCC")),
        (sent().send_started(T3), lambda d: d.intent_found("ordin_ZZZZZZZ", URL)),
        (
            sent().send_started(T3),
            lambda d: d.send_succeeded(T3, intent_id="ordin_ZZZZZZZ", checkout_url=URL, revision=0),
        ),
        (
            ready().send_started(T1),
            lambda d: d.send_succeeded(T1, intent_id="ordin_A", checkout_url=URL, revision=99),
        ),
    ],
)
def test_invalid_transitions_raise(draft: Draft, action: object) -> None:
    with pytest.raises(InvalidDraftTransition):
        action(draft)  # type: ignore[operator]


def test_checking_out_twice_with_the_same_order_is_harmless() -> None:
    out = sent().checked_out(T3, "ord_BBBBBBB")
    assert out.checked_out(T3, "ord_BBBBBBB") is out


def test_a_failed_update_still_allows_checkout_of_the_existing_intent() -> None:
    failed = sent().edited(T3, notes="x").send_started(T3).send_failed(T3, "offline")
    assert failed.can_check_out
    assert failed.needs_update
    assert failed.checked_out(T3, "ord_BBBBBBB").state is DraftState.CHECKED_OUT


def test_a_draft_being_sent_cannot_be_deleted() -> None:
    ready().ensure_deletable()
    sent().ensure_deletable()
    with pytest.raises(InvalidDraftTransition, match="Wait"):
        ready().send_started(T1).ensure_deletable()


def test_inconsistent_drafts_cannot_be_built() -> None:
    with pytest.raises(ValueError, match="says why"):
        Draft(id=new_draft_id(), created_at=T0, updated_at=T0, state=DraftState.FAILED)
    with pytest.raises(ValueError, match="says why"):
        Draft(id=new_draft_id(), created_at=T0, updated_at=T0, state=DraftState.QUEUED)
    with pytest.raises(ValueError, match="intent"):
        Draft(id=new_draft_id(), created_at=T0, updated_at=T0, state=DraftState.SENT)
    with pytest.raises(ValueError, match="order id"):
        Draft(id=new_draft_id(), created_at=T0, updated_at=T0, state=DraftState.CHECKED_OUT)
    with pytest.raises(ValueError, match="once"):
        Draft(id=new_draft_id(), created_at=T0, updated_at=T0, lab_test_ids=("a", "a"))


_ACTIONS = st.sampled_from(
    ["add", "remove", "notes", "start", "create", "ok", "fail", "queue", "checkout", "recover"]
)


@given(st.lists(_ACTIONS, max_size=30))
def test_any_sequence_of_actions_keeps_the_draft_consistent(actions: list[str]) -> None:
    """Random use: each step either applies or raises a known error; invariants hold."""
    draft = ready()
    for step, action in enumerate(actions):
        now = T0 + timedelta(seconds=step)
        try:
            if action == "add":
                draft = draft.with_test_added(now, f"labts_{step:07d}")
            elif action == "remove" and draft.lab_test_ids:
                draft = draft.with_test_removed(now, draft.lab_test_ids[0])
            elif action == "notes":
                draft = draft.edited(now, notes=f"note {step}")
            elif action == "start":
                draft = draft.send_started(now)
            elif action == "create":
                draft = draft.create_requested()
            elif action == "ok":
                draft = draft.send_succeeded(
                    now, intent_id="ordin_AAAAAAA", checkout_url=URL, revision=draft.revision
                )
            elif action == "fail":
                draft = draft.send_failed(now, "boom")
            elif action == "queue":
                draft = draft.send_failed(now, "offline", retry_automatically=True)
            elif action == "checkout":
                draft = draft.checked_out(now, "ord_BBBBBBB")
            elif action == "recover":
                draft = draft.recover_interrupted(now)
        except (InvalidDraftTransition, DraftNotReady):
            pass
        assert draft.sent_revision is None or draft.sent_revision <= draft.revision
        if draft.state is DraftState.SENT:
            assert draft.intent_id == "ordin_AAAAAAA"
            assert not draft.unconfirmed_create
        if draft.state is DraftState.CHECKED_OUT:
            assert draft.intent_id is not None
            assert not draft.needs_update
        assert len(set(draft.lab_test_ids)) == len(draft.lab_test_ids)
        if draft.state in (DraftState.FAILED, DraftState.QUEUED):
            assert draft.failure_reason


def test_the_internal_note_changes_in_any_state_without_needing_an_update() -> None:
    sent = (
        Draft.new(T0, patient_id="pat_1234567", notes="fasting")
        .send_started(T1)
        .send_succeeded(T1, intent_id="ordin_1234567", checkout_url="https://x", revision=0)
    )
    noted = sent.with_internal_note(T2, "called the husband")
    assert noted.internal_note == "called the husband"
    assert (noted.revision, noted.needs_update, noted.notes) == (0, False, "fasting")
    assert noted.updated_at == T2
    placed = noted.checked_out(T2, "ord_1234567").with_internal_note(T2, "paid by card")
    assert placed.internal_note == "paid by card"
    assert placed.with_internal_note(T2, "paid by card") is placed
    with pytest.raises(InvalidInput, match="internal note is limited"):
        sent.with_internal_note(T2, "x" * (MAX_NOTES_CHARS + 1))
