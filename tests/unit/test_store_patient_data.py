"""Removing patient data (sign-out with "remove patient data"): rows, and the bytes on disk."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from rupa_desk.core.drafts import DraftState
from rupa_desk.core.models import Order, OrderedTest, Patient
from rupa_desk.core.validation import PatientForm
from rupa_desk.paths import AppPaths
from rupa_desk.services.store import Store, vacuum_file
from tests.fixtures.catalog_data import iter_tests, load_catalog, synthetic_companies

#: Strings that must not be found anywhere in the database files after the removal.
SECRETS = (b"Wilhelmina", b"Quarterfield", b"wilhelmina.q@example.com", b"1931-02-17")

PATIENT = Patient(
    id="pat_Secr001",
    first_name="Wilhelmina",
    last_name="Quarterfield",
    email="wilhelmina.q@example.com",
    birthday=date(1931, 2, 17),
    phone="(555) 010-4242",
)
SUBMITTED = datetime(2024, 6, 13, 9, 0, tzinfo=UTC)


def an_order(order_id: str, status: str = "In Progress") -> Order:
    """An order of PATIENT whose raw JSON (as Rupa sent it) names the patient."""
    return Order(
        id=order_id,
        status=status,
        patient_id=PATIENT.id,
        total_price=Decimal("99.00"),
        date_submitted=SUBMITTED,
        patients_practitioner_id="pra_0000001",
        ordered_tests=(
            OrderedTest(
                id=f"ordt_{order_id[-3:]}",
                lab_test_id="labts_0000001",
                results_pdf="https://rupa.test/results.pdf",
                raw={"attributes": {"patient_email": PATIENT.email}},
            ),
        ),
        raw={
            "id": order_id,
            "attributes": {"status": status, "patient_name": "Wilhelmina Quarterfield"},
        },
    )


def fill(store: Store) -> dict[str, str]:
    """A patient, two orders (with history), and drafts in every interesting state."""
    store.patients.upsert([PATIENT])
    store.patient_forms.save(  # the next new patient, typed and not sent yet
        PatientForm(first_name="Wilhelmina", last_name="Quarterfield", birthday="1931-02-17")
    )
    store.orders.save(an_order("ord_AAA0001", "Pending Payment"))
    store.orders.save(an_order("ord_AAA0001", "In Progress"))  # a status change: history
    store.orders.save(an_order("ord_BBB0002"))
    store.lab_results.save(  # structured results: the message names the patient
        "ord_BBB0002",
        "ordt_002",
        SUBMITTED,
        "MSH|^~\\&|LAB|ACME|||20240613||ORU^R01|1|P|2.5.1\r"
        "PID|1||pat_Secr001||Quarterfield^Wilhelmina||19310217\r"
        "OBR|1|||X^Lipid Panel\rOBX|1|NM|2093-3^Total Cholesterol^LN||240|mg/dL|125-200|H|||F",
    )
    drafts = {
        "local": store.drafts.create(patient_id=PATIENT.id, notes="fasting, morning draw"),
        "no patient": store.drafts.create(notes="for the next walk-in"),
        "checked out": store.drafts.create(patient_id=PATIENT.id, notes="done"),
    }
    store.drafts.add_test(drafts["checked out"], "labts_0000001", name="Lipid Panel", price=None)
    store.db.execute(
        "UPDATE drafts SET status = ?, order_intent_id = 'ordin_1', order_id = 'ord_AAA0001'"
        " WHERE id = ?",
        [DraftState.CHECKED_OUT.value, drafts["checked out"]],
    )
    return drafts


def count(store: Store, table: str) -> int:
    return int(store.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def database_bytes(path: Path) -> bytes:
    """The database file and whatever write-ahead log and shared memory files are beside it."""
    found = b""
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists():
            found += file.read_bytes()
    return found


@pytest.fixture
def path(app_paths: AppPaths) -> Path:
    return app_paths.database_file("demo", "pra_0000001")


def test_every_patient_row_goes_and_unsent_drafts_stay(path: Path) -> None:
    with Store.open(path) as store:
        load_catalog(store, synthetic_companies(), iter_tests(50))
        drafts = fill(store)
        assert count(store, "order_status_history") == 3
        assert count(store, "lab_results") == 1

        removed = store.remove_patient_data()

        assert (removed.patients, removed.orders, removed.checked_out_drafts) == (1, 2, 1)
        assert removed.drafts_kept == 2
        for table in (
            "patients",
            "patient_forms",
            "orders",
            "ordered_tests",
            "order_status_history",
            "result_reports",
            "lab_results",
        ):
            assert count(store, table) == 0, table
        kept = {d.id: d for d in store.drafts.all()}
        assert set(kept) == {drafts["local"], drafts["no patient"]}
        # The unsent draft keeps its work and the patient's Rupa id, nothing else of the patient.
        assert kept[drafts["local"]].notes == "fasting, morning draw"
        assert kept[drafts["local"]].patient_id == PATIENT.id
        assert count(store, "draft_tests") == 0  # the checked-out draft's tests went with it
        assert store.catalog.test_count() == 50  # the catalog is not patient data


def test_removed_data_is_not_left_in_the_files(path: Path) -> None:
    with Store.open(path) as store:
        fill(store)
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert all(secret in database_bytes(path) for secret in SECRETS)  # the test can fail
        store.remove_patient_data()
        # secure_delete has overwritten the freed pages; the log was truncated.
        assert not [s for s in SECRETS if s in database_bytes(path)]
    vacuum_file(path)
    assert not [s for s in SECRETS if s in database_bytes(path)]
    with Store.open(path) as reopened:
        assert reopened.patients.count() == 0
        assert len(reopened.drafts.all()) == 2


def test_a_rebuild_also_clears_rows_deleted_before_secure_delete_was_on(path: Path) -> None:
    with Store.open(path) as store:
        store.db.execute("PRAGMA secure_delete = OFF")  # as a database of an older version
        store.patients.upsert([PATIENT])
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        store.db.execute("DELETE FROM patients")
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert store.patients.count() == 0
        assert SECRETS[2] in database_bytes(path)  # the freed page still holds the patient
    vacuum_file(path)
    assert not [s for s in SECRETS if s in database_bytes(path)]
