"""Drafts in the database: the state machine saved as it changes, listings, migrations."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlite_utils import Database

from rupa_desk.core.drafts import DraftNotReady, DraftState, InvalidDraftTransition
from rupa_desk.services.store import Store, UnknownDraftError
from rupa_desk.services.store.drafts import Drafts
from rupa_desk.services.store.migrations import MIGRATIONS

URL = "https://labs.example/checkout/ordin_AAAAAAA"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2024, 6, 13, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def store() -> Iterator[Store]:
    with Store.in_memory() as store:
        store.drafts = Drafts(store.db, clock=Clock())
        yield store


def add_catalog_test(store: Store, test_id: str, name: str, cents: int, active: int = 1) -> None:
    store.db.execute(
        "INSERT INTO lab_tests (id, name, name_key, price_cents, is_active) VALUES (?, ?, ?, ?, ?)",
        [test_id, name, name.lower(), cents, active],
    )


def add_patient(store: Store, patient_id: str, first: str, last: str) -> None:
    store.db.execute(
        "INSERT INTO patients (id, first_name, last_name, email, first_key, last_key, email_key,"
        " cached_at) VALUES (?, ?, ?, 'x@example.com', ?, ?, 'x@example.com', '2024-01-01')",
        [patient_id, first, last, first.lower(), last.lower()],
    )


def test_a_new_draft_round_trips(store: Store) -> None:
    draft = store.drafts.new(patient_id="pat_0000001", notes="fasting")
    assert store.drafts.get(draft.id) == draft
    assert draft.state is DraftState.LOCAL
    with pytest.raises(UnknownDraftError):
        store.drafts.get("draft_" + "0" * 32)


def test_edits_are_saved_with_their_revision_and_tests_in_order(store: Store) -> None:
    draft_id = store.drafts.create()
    add_catalog_test(store, "labts_cat0001", "Lipid Panel", 4900)
    assert store.drafts.add_test(draft_id, "labts_0000002", name="HbA1c", price=Decimal("25.50"))
    assert store.drafts.add_test(draft_id, "labts_cat0001", name="Lipid", price=None)
    assert not store.drafts.add_test(draft_id, "labts_0000002", name="HbA1c", price=None)
    store.drafts.edit(draft_id, patient_id="pat_0000001", notes="call first")
    draft = store.drafts.get(draft_id)
    assert draft.lab_test_ids == ("labts_0000002", "labts_cat0001")
    assert (draft.patient_id, draft.notes, draft.revision) == ("pat_0000001", "call first", 3)
    # replacing the list keeps what was known about tests still on it, and looks up the rest
    store.drafts.edit(draft_id, lab_test_ids=["labts_cat0001", "labts_0000002"])
    tests = store.drafts.tests(draft_id)
    assert [(t.lab_test_id, t.name, t.price) for t in tests] == [
        ("labts_cat0001", "Lipid", None),
        ("labts_0000002", "HbA1c", Decimal("25.50")),
    ]
    store.drafts.remove_test(draft_id, "labts_cat0001")
    store.drafts.edit(draft_id, lab_test_ids=["labts_0000002", "labts_cat0001"])
    assert store.drafts.tests(draft_id)[1].name == "Lipid Panel"  # from the catalog


def test_a_refused_change_writes_nothing(store: Store) -> None:
    draft_id = store.drafts.create()
    before = store.drafts.get(draft_id)
    with pytest.raises(DraftNotReady):
        store.drafts.update(draft_id, lambda d: d.send_started(d.updated_at))
    assert store.drafts.get(draft_id) == before


def sent(store: Store) -> str:
    draft_id = store.drafts.create(patient_id="pat_0000001")
    store.drafts.add_test(draft_id, "labts_0000001", name="A", price=None)
    now = datetime.now(UTC)
    store.drafts.update(draft_id, lambda d: d.send_started(now).create_requested())
    store.drafts.update(
        draft_id,
        lambda d: d.send_succeeded(
            now, intent_id="ordin_AAAAAAA", checkout_url=URL, revision=d.revision
        ),
    )
    return draft_id


def test_the_whole_state_is_saved(store: Store) -> None:
    draft_id = sent(store)
    draft = store.drafts.get(draft_id)
    assert draft.state is DraftState.SENT
    assert (draft.intent_id, draft.checkout_url, draft.sent_revision) == (
        "ordin_AAAAAAA",
        URL,
        draft.revision,
    )
    assert store.drafts.find_by_intent("ordin_AAAAAAA") == draft
    assert store.drafts.find_by_intent("ordin_BBBBBBB") is None
    store.drafts.edit(draft_id, notes="changed after sending")
    assert store.drafts.get(draft_id).needs_update
    out = store.drafts.update(draft_id, lambda d: d.checked_out(datetime.now(UTC), "ord_CCCCCCC"))
    assert store.drafts.get(draft_id) == out
    with pytest.raises(InvalidDraftTransition):
        store.drafts.add_test(draft_id, "labts_0000009", name="late", price=None)
    assert store.drafts.get(draft_id).lab_test_ids == ("labts_0000001",)
    assert draft_id not in [s.id for s in store.drafts.open_drafts()]


def test_drafts_left_sending_by_a_crash_are_queued(store: Store) -> None:
    draft_id = store.drafts.create(patient_id="pat_0000001")
    other = store.drafts.create(patient_id="pat_0000001")
    store.drafts.update(draft_id, lambda d: d.send_started(d.updated_at).create_requested())
    [recovered] = store.drafts.recover_interrupted()
    assert recovered.id == draft_id
    assert recovered.state is DraftState.QUEUED
    assert recovered.unconfirmed_create
    assert [d.id for d in store.drafts.in_state(DraftState.QUEUED)] == [draft_id]
    assert store.drafts.get(other).state is DraftState.LOCAL


def test_delete_unless_being_sent(store: Store) -> None:
    draft_id = store.drafts.create(patient_id="pat_0000001")
    store.drafts.add_test(draft_id, "labts_0000001", name="A", price=None)
    store.drafts.update(draft_id, lambda d: d.send_started(d.updated_at))
    with pytest.raises(InvalidDraftTransition):
        store.drafts.delete(draft_id)
    store.drafts.update(draft_id, lambda d: d.send_failed(d.updated_at, "no"))
    store.drafts.delete(draft_id)
    with pytest.raises(UnknownDraftError):
        store.drafts.get(draft_id)
    assert store.db.execute("SELECT count(*) FROM draft_tests").fetchone()[0] == 0


def test_listing_shows_patient_current_prices_total_and_tests_that_left(store: Store) -> None:
    add_patient(store, "pat_0000001", "Ada", "Lovelace")
    draft_id = store.drafts.create(patient_id="pat_0000001")
    store.drafts.add_test(draft_id, "labts_cat0001", name="Lipid", price=Decimal("10"))
    store.drafts.add_test(draft_id, "labts_gone001", name="Old test", price=Decimal("5"))
    store.drafts.add_test(draft_id, "labts_off0001", name="Paused", price=None)
    store.drafts.add_test(draft_id, "labts_free001", name="No price", price=None)
    empty = store.drafts.create()

    # before any catalog is downloaded, nothing is flagged
    [listing, _] = store.drafts.listing()
    assert not any(line.left_catalog for line in listing.lines)

    add_catalog_test(store, "labts_cat0001", "Lipid Panel", 4900)
    add_catalog_test(store, "labts_off0001", "Paused test", 1000, active=0)
    add_catalog_test(store, "labts_other01", "Unrelated", 100)
    listings = store.drafts.listing()
    assert [entry.draft.id for entry in listings] == [empty, draft_id]
    listing = listings[1]
    assert listing.patient_name == "Ada Lovelace"
    assert [(line.name, line.price, line.left_catalog) for line in listing.lines] == [
        ("Lipid Panel", Decimal(49), False),
        ("Old test", Decimal(5), True),
        ("Paused test", Decimal(10), True),
        ("No price", None, True),
    ]
    assert listing.estimated_total == Decimal(64)
    assert listing.unpriced == 1
    assert listings[0].estimated_total is None
    assert listings[0].patient_name is None
    assert store.drafts.listing([empty])[0].draft.id == empty


def test_migrating_drafts_to_states_keeps_every_draft(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with Database(path) as old:
        MIGRATIONS.apply(old, stop_before="m006_draft_states")
        for draft_id, intent, order in (
            ("draft_" + "1" * 32, None, None),
            ("draft_" + "2" * 32, "ordin_AAAAAAA", None),
            ("draft_" + "3" * 32, "ordin_BBBBBBB", "ord_CCCCCCC"),
        ):
            old.execute(
                "INSERT INTO drafts (id, patient_id, notes, order_intent_id, order_id,"
                " created_at, updated_at) VALUES (?, 'pat_0000001', 'keep', ?, ?,"
                " '2024-01-01T00:00:00+00:00', '2024-01-01T00:00:00+00:00')",
                [draft_id, intent, order],
            )
            old.execute(
                "INSERT INTO draft_tests (draft_id, lab_test_id, position, name, added_at)"
                " VALUES (?, 'labts_0000001', 0, 'A', '2024-01-01T00:00:00+00:00')",
                [draft_id],
            )
        old.execute(
            "INSERT INTO orders (id, status, raw) VALUES ('ord_CCCCCCC', 'Paid', ?)",
            [json.dumps({"relationships": {"patients_practitioner": {"data": {"id": "pra_1"}}}})],
        )
    with Store.open(path) as store:
        drafts = {d.id: d for d in store.drafts.all()}
        states = [drafts["draft_" + c * 32].state for c in "123"]
        assert states == [DraftState.LOCAL, DraftState.SENT, DraftState.CHECKED_OUT]
        assert all(
            d.notes == "keep" and d.lab_test_ids == ("labts_0000001",) for d in drafts.values()
        )
        assert not drafts["draft_" + "2" * 32].needs_update
        assert store.db.execute("SELECT practitioner_id FROM orders").fetchone() == ("pra_1",)


def test_the_listing_of_one_draft_reads_only_that_draft(store: Store) -> None:
    """Typing a draft's notes re-reads that draft after each keystroke: not every draft."""
    add_catalog_test(store, "labts_cat0001", "Lipid Panel", 4900)
    store.db.execute("UPDATE lab_tests SET lab_company_name = 'Access' WHERE id = 'labts_cat0001'")
    wanted = store.drafts.create(patient_id="pat_0000001")
    store.drafts.add_test(wanted, "labts_cat0001", name="Lipid", price=None)
    for _ in range(5):
        store.drafts.add_test(store.drafts.create(), "labts_cat0001", name="Lipid", price=None)
    statements: list[str] = []
    store.db.conn.set_trace_callback(statements.append)
    try:
        [listing] = store.drafts.listing([wanted])
    finally:
        store.db.conn.set_trace_callback(None)
    assert listing.draft.id == wanted
    assert listing.draft.lab_test_ids == ("labts_cat0001",)
    assert [(line.name, line.lab_company) for line in listing.lines] == [("Lipid Panel", "Access")]
    reads = [s for s in statements if "FROM drafts" in s]
    assert reads
    assert all("WHERE" in s and "id IN" in s for s in reads), reads
    assert store.drafts.listing([]) == []


def test_drafts_checked_out_long_ago_can_be_left_out_of_the_listing(store: Store) -> None:
    old = store.drafts.create(patient_id="pat_0000001")
    store.drafts.update(
        old,
        lambda d: d.send_started(d.updated_at).send_succeeded(
            d.updated_at, intent_id="ordin_AAAAAAA", checkout_url=URL, revision=d.revision
        ),
    )
    store.drafts.update(old, lambda d: d.checked_out(d.updated_at, "ord_AAAAAAA"))
    cutoff = store.drafts.get(old).updated_at + timedelta(seconds=1)
    recent_open = store.drafts.create()
    assert [entry.draft.id for entry in store.drafts.listing()] == [recent_open, old]
    shown = store.drafts.listing(checked_out_since=cutoff)
    assert [entry.draft.id for entry in shown] == [recent_open]
    assert store.drafts.count_checked_out_before(cutoff) == 1
    # an open draft is listed however old it is
    assert store.drafts.listing(checked_out_since=cutoff + timedelta(days=365)) == shown


def test_queued_drafts_are_read_by_state(store: Store) -> None:
    local = store.drafts.create(patient_id="pat_0000001")
    queued = store.drafts.create(patient_id="pat_0000001")
    store.drafts.update(
        queued,
        lambda d: d.send_started(d.updated_at).send_failed(
            d.updated_at, "offline", retry_automatically=True
        ),
    )
    assert [d.id for d in store.drafts.in_state(DraftState.QUEUED)] == [queued]
    assert [d.id for d in store.drafts.in_state(DraftState.LOCAL)] == [local]
    assert store.drafts.in_state() == []


def test_migrating_to_internal_notes_keeps_each_note_as_the_note_to_the_patient(
    tmp_path: Path,
) -> None:
    path = tmp_path / "before-internal-notes.sqlite3"
    with Database(path) as old:
        MIGRATIONS.apply(old, stop_before="m011_draft_internal_notes")
        old.execute(
            "INSERT INTO drafts (id, patient_id, notes, status, created_at, updated_at)"
            " VALUES (?, 'pat_0000001', 'Fast for 12 hours', 'sent',"
            " '2024-01-01T00:00:00+00:00', '2024-01-01T00:00:00+00:00')",
            ["draft_" + "4" * 32],
        )
        old.execute(
            "UPDATE drafts SET order_intent_id = 'ordin_AAAAAAA', sent_revision = 0,"
            " checkout_url = 'https://x'"
        )
    with Store.open(path) as store:
        [draft] = store.drafts.all()
        assert (draft.notes, draft.internal_note) == ("Fast for 12 hours", "")
        assert not draft.needs_update  # nothing changed on its way to Rupa
        store.drafts.set_internal_note(draft.id, "called first")
        again = store.drafts.get(draft.id)
        assert (again.notes, again.internal_note) == ("Fast for 12 hours", "called first")
        assert not again.needs_update


def test_open_drafts_of_one_patient(store: Store) -> None:
    ada = store.drafts.create(patient_id="pat_0000001")
    store.drafts.add_test(ada, "labts_0000001", name="A", price=None)
    store.drafts.create(patient_id="pat_0000002")
    store.drafts.create()
    [summary] = store.drafts.open_drafts("pat_0000001")
    assert (summary.id, summary.patient_id, summary.test_count) == (ada, "pat_0000001", 1)
    assert len(store.drafts.open_drafts()) == 3
