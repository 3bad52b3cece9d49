"""The patients cache (offline search, duplicate check) and the drafts "Add to draft" needs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest

from rupa_desk.core.models import Address, Patient
from rupa_desk.services.store import DuplicateReason, Store, UnknownDraftError, UnknownPatientError

PATIENTS = (
    Patient("pat_0000001", "Ada", "Lovelace", "ada@example.com", date(1815, 12, 10)),
    Patient(
        "pat_0000002",
        "Grace",
        "Hopper",
        "grace@example.com",
        date(1906, 12, 9),
        phone="555-0100",
        address=Address(street_1="1 Navy Way", city="Arlington", state="VA", zip="22202"),
        raw={"id": "pat_0000002", "type": "patient"},
    ),
    Patient("pat_0000003", "Alan", "Turing", "alan@example.com", None),
    Patient("pat_0000004", "Ada", "Byron", "byron@example.com", date(1815, 12, 10)),
)


@pytest.fixture
def store() -> Iterator[Store]:
    with Store.in_memory() as store:
        store.patients.upsert(PATIENTS)
        yield store


def test_upsert_stores_and_updates_patients(store: Store) -> None:
    assert store.patients.count() == 4
    assert store.patients.get("pat_0000002") == PATIENTS[1]
    assert store.patients.get("pat_0000002").raw == {"id": "pat_0000002", "type": "patient"}
    renamed = Patient("pat_0000003", "Alan", "Mathison-Turing", "alan@example.com")
    store.patients.upsert([renamed])
    assert store.patients.count() == 4
    assert store.patients.get("pat_0000003").last_name == "Mathison-Turing"
    with pytest.raises(UnknownPatientError):
        store.patients.get("pat_nope")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ada", ["pat_0000004", "pat_0000001"]),
        ("ADA love", ["pat_0000001"]),
        ("grace@", ["pat_0000002"]),
        ("hop", ["pat_0000002"]),
        ("1815-12-10", ["pat_0000004", "pat_0000001"]),
        ("12/10/1815 byron", ["pat_0000004"]),
        ("", ["pat_0000004", "pat_0000002", "pat_0000001", "pat_0000003"]),
        ("100%_", []),
        ("zzz", []),
    ],
)
def test_search_by_name_email_or_birthday(store: Store, text: str, expected: list[str]) -> None:
    assert [p.id for p in store.patients.search(text)] == expected


def test_possible_duplicates_by_email_or_name_and_birthday(store: Store) -> None:
    by_email = store.patients.find_possible_duplicates(" ADA@example.com ", "Someone", "Else", None)
    assert [(d.patient.id, d.reasons) for d in by_email] == [
        ("pat_0000001", frozenset({DuplicateReason.EMAIL}))
    ]
    by_name = store.patients.find_possible_duplicates(
        "new@example.com", "grace", "HOPPER", date(1906, 12, 9)
    )
    assert [(d.patient.id, d.reasons) for d in by_name] == [
        ("pat_0000002", frozenset({DuplicateReason.NAME_AND_BIRTHDAY}))
    ]
    other_birthday = store.patients.find_possible_duplicates(
        "new@example.com", "Grace", "Hopper", date(2000, 1, 1)
    )
    assert other_birthday == []
    unknown_birthday = store.patients.find_possible_duplicates(
        "new@example.com", "Alan", "Turing", date(1912, 6, 23)
    )
    assert [d.reasons for d in unknown_birthday] == [frozenset({DuplicateReason.NAME})]
    assert store.patients.find_possible_duplicates("", "No", "One", None) == []


def test_add_to_draft_keeps_order_name_and_price_and_ignores_repeats() -> None:
    with Store.in_memory() as store:
        draft_id = store.drafts.create(patient_id="pat_0000001")
        assert store.drafts.add_test(draft_id, "labts_1", name="Lipid Panel", price=Decimal("49"))
        assert store.drafts.add_test(draft_id, "labts_2", name="HbA1c", price=None)
        assert not store.drafts.add_test(draft_id, "labts_1", name="Lipid Panel", price=None)
        tests = store.drafts.tests(draft_id)
        assert [(t.lab_test_id, t.name, t.price) for t in tests] == [
            ("labts_1", "Lipid Panel", Decimal("49")),
            ("labts_2", "HbA1c", None),
        ]
        store.drafts.remove_test(draft_id, "labts_1")
        assert [t.lab_test_id for t in store.drafts.tests(draft_id)] == ["labts_2"]
        [summary] = store.drafts.open_drafts()
        assert (summary.id, summary.patient_id, summary.test_count) == (
            draft_id,
            "pat_0000001",
            1,
        )
        with pytest.raises(UnknownDraftError):
            store.drafts.add_test("draft_nope", "labts_1", name="x", price=None)
