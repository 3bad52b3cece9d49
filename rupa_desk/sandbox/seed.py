"""Build a fresh simulated Rupa from a `SandboxConfig`: deterministic for a given seed.

The demo clinic has the demo practitioner and a few colleagues, patients, and orders in every
status (results included where the status has them). A second clinic exists so that requests
for another clinic's resources can be refused (403).
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Final

from rupa_desk.sandbox import history, lifecycle
from rupa_desk.sandbox.catalog_data import make_lab_companies, make_lab_tests
from rupa_desk.sandbox.clock import SimClock, wall_now
from rupa_desk.sandbox.config import (
    DEMO_LOGIN_EMAIL,
    DEMO_LOGIN_PASSWORD,
    SEEDED_PASSWORD,
    SandboxConfig,
)
from rupa_desk.sandbox.ids import CLINIC, PATIENT, PRACTITIONER, IdFactory
from rupa_desk.sandbox.state import (
    ALL_STATUSES,
    CANCELED,
    LIFECYCLE,
    Clinic,
    Patient,
    Practitioner,
    SandboxState,
)

FIRST_NAMES: Final = (
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas",
    "Mia", "Mateo", "Amelia", "Benjamin", "Harper", "Ethan", "Evelyn", "Daniel", "Abigail",
    "Henry", "Emily", "Sebastian", "Camila", "Jack", "Aria", "Owen", "Scarlett", "Samuel",
    "Priya", "Wei", "Aisha", "Diego", "Fatima", "Kenji", "Zoe", "Omar", "Leah", "Ravi",
    "Nora", "Tomas", "Grace", "Malik", "Hana", "Andre", "Chloe", "Ibrahim", "Maya", "Jonah",
)  # fmt: skip
LAST_NAMES: Final = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Nguyen", "Patel", "Kim", "Chen", "Okafor", "Haddad", "Kowalski", "Silva", "Novak",
    "Rossi", "Tanaka", "Schmidt", "O'Brien", "Fischer", "Ali", "Cohen", "Murphy", "Reyes",
)  # fmt: skip
CITIES: Final = (
    ("Portland", "OR", "972"), ("Boulder", "CO", "803"), ("Austin", "TX", "787"),
    ("Asheville", "NC", "288"), ("San Diego", "CA", "921"), ("Seattle", "WA", "981"),
    ("Santa Fe", "NM", "875"), ("Madison", "WI", "537"), ("Burlington", "VT", "054"),
    ("Scottsdale", "AZ", "852"), ("Brooklyn", "NY", "112"), ("Evanston", "IL", "602"),
)  # fmt: skip
STREETS: Final = (
    "Oak St", "Maple Ave", "Cedar Ln", "Pine Rd", "Elm St", "Willow Way", "Birch Dr",
    "Juniper Ct", "Aspen Pl", "Sycamore Blvd", "Magnolia St", "Hawthorne Ave",
)  # fmt: skip
#: (first name, last name, title) of the demo clinic's other practitioners
COLLEAGUES: Final = (
    ("Priya", "Raman", "Dr."),
    ("Elena", "Ortiz", "ND"),
    ("Samuel", "Okafor", "DC"),
    ("Hannah", "Lee", "NP"),
    ("Marcus", "Bell", "Dr."),
    ("Ingrid", "Holm", "ND"),
    ("Tariq", "Aziz", "MD"),
)
PAYERS: Final = ("patient", "patient", "patient", "clinic")
NOTES: Final = (
    "",
    "Please fast for 12 hours before your blood draw.",
    "Collect the first morning urine sample.",
    "Avoid supplements containing biotin for 3 days before the test.",
    "",
    "Return the kit within 2 days of collection.",
)


def build_state(config: SandboxConfig) -> SandboxState:
    """A complete simulated Rupa for `config`."""
    rng = random.Random(config.seed)
    ids = IdFactory(random.Random(rng.random()))
    state = SandboxState(
        config=config,
        ids=ids,
        faults=config.fault_settings(),
        clock=SimClock(config.clock_speed),
        fault_rng=random.Random(config.seed * 7919 + 1),
        data_rng=random.Random(config.seed * 7919 + 2),
    )
    state.clients = {client.client_id: client for client in config.clients}

    companies = make_lab_companies(config.lab_companies, ids)
    for company in companies:
        state.lab_companies[company.id] = company
    for test in make_lab_tests(config.lab_tests, companies, ids, random.Random(rng.random())):
        state.add_lab_test(test)

    people_rng = random.Random(rng.random())
    demo_clinic = Clinic(id=ids.new(CLINIC), name="Evergreen Integrative Health")
    other_clinic = Clinic(id=ids.new(CLINIC), name="Lakeside Functional Medicine")
    state.clinics = {demo_clinic.id: demo_clinic, other_clinic.id: other_clinic}
    state.demo_clinic_id = demo_clinic.id
    state.other_clinic_id = other_clinic.id

    demo = Practitioner(
        id=ids.new(PRACTITIONER),
        clinic_id=demo_clinic.id,
        first_name="Morgan",
        last_name="Demo",
        title="Dr.",
        email=DEMO_LOGIN_EMAIL,
        phone="(503) 555-0100",
        password=DEMO_LOGIN_PASSWORD,
    )
    state.practitioners[demo.id] = demo
    state.demo_practitioner_id = demo.id
    for index in range(config.practitioners - 1):
        first, last, title = COLLEAGUES[index % len(COLLEAGUES)]
        suffix = "" if index < len(COLLEAGUES) else str(index // len(COLLEAGUES) + 1)
        colleague = Practitioner(
            id=ids.new(PRACTITIONER),
            clinic_id=demo_clinic.id,
            first_name=first,
            last_name=last + suffix,
            title=title,
            email=f"{first}.{last}{suffix}@rupa-desk.test".lower(),
            phone=f"(503) 555-01{index + 1:02d}",
            password=SEEDED_PASSWORD,
        )
        state.practitioners[colleague.id] = colleague
    other = Practitioner(
        id=ids.new(PRACTITIONER),
        clinic_id=other_clinic.id,
        first_name="Robin",
        last_name="Other",
        title="ND",
        email="other@rupa-desk.test",
        phone="(206) 555-0199",
        password=SEEDED_PASSWORD,
    )
    state.practitioners[other.id] = other

    now = wall_now()
    for index in range(config.patients):
        patient = _patient(ids, people_rng, demo_clinic.id, index, now)
        state.patients[patient.id] = patient
    for index in range(3):
        patient = _patient(ids, people_rng, other_clinic.id, config.patients + index, now)
        state.patients[patient.id] = patient

    _seed_orders(state, people_rng, now, config.orders, demo_clinic.id, ALL_STATUSES)
    _seed_orders(state, people_rng, now, config.open_orders, demo_clinic.id, LIFECYCLE[:-1])
    _seed_orders(state, people_rng, now, 2, other_clinic.id, ALL_STATUSES[:2])
    if config.history_orders:
        # its own random stream: the data above is the same with or without a history
        history.seed_history(
            state,
            random.Random(config.seed * 7919 + 3),
            now,
            clinic_id=demo_clinic.id,
            count=config.history_orders,
            days=config.history_days,
        )
    return state


def _patient(
    ids: IdFactory, rng: random.Random, clinic_id: str, index: int, now: datetime
) -> Patient:
    first = rng.choice(FIRST_NAMES)
    last = rng.choice(LAST_NAMES)
    city, state_code, zip_prefix = rng.choice(CITIES)
    birthday = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 70 * 365))
    local_part = f"{first}.{last}".lower().replace("'", "")
    return Patient(
        id=ids.new(PATIENT),
        clinic_id=clinic_id,
        first_name=first,
        last_name=last,
        email=f"{local_part}{index + 1}@example.com",
        birthday=birthday.isoformat(),
        phone=f"({rng.randint(201, 989)}) 555-{rng.randint(100, 199):04d}",
        gender=rng.choice(("female", "male", "female", "male", "other")),
        address={
            "street_1": f"{rng.randint(10, 9999)} {rng.choice(STREETS)}",
            "street_2": rng.choice(("", "", "", f"Apt {rng.randint(1, 40)}")),
            "city": city,
            "state": state_code,
            "zip": f"{zip_prefix}{rng.randint(0, 99):02d}",
        },
        created_at=now - timedelta(days=400 - index * 0.5, seconds=rng.randint(0, 80000)),
    )


def _seed_orders(
    state: SandboxState,
    rng: random.Random,
    now: datetime,
    count: int,
    clinic_id: str,
    statuses: tuple[str, ...],
) -> None:
    """`count` orders of `clinic_id`, cycling through `statuses`, oldest first."""
    patients = [p.id for p in state.patients.values() if p.clinic_id == clinic_id]
    practitioners = [p.id for p in state.practitioners.values() if p.clinic_id == clinic_id]
    active_tests = [t.id for t in state.lab_tests.values() if t.is_active]
    if not patients or not active_tests:
        return
    demo_id = state.demo_practitioner_id
    for index in range(count):
        status = statuses[index % len(statuses)]
        # Later statuses were submitted longer ago; everything within the last ~60 days.
        rank = LIFECYCLE.index(status) if status in LIFECYCLE else 2
        submitted = now - timedelta(
            days=2 + rank * 8 + rng.random() * 12, seconds=rng.randint(0, 86000)
        )
        practitioner = (
            demo_id
            if demo_id in practitioners and rng.random() < 0.6
            else rng.choice(practitioners)
        )
        tests = rng.sample(active_tests, k=min(len(active_tests), rng.choice((1, 1, 2, 2, 3, 4))))
        order = lifecycle.create_order(
            state,
            clinic_id=clinic_id,
            patient_id=rng.choice(patients),
            patients_practitioner_id=practitioner,
            signing_practitioner_id=practitioner,
            lab_test_ids=tests,
            payer=rng.choice(PAYERS),
            notes_to_patient=rng.choice(NOTES),
            order_intent_id=None,
            at=submitted,
            pace=0.6 + rng.random() * 0.8,
        )
        steps = rng.randint(0, 2) if status == CANCELED else LIFECYCLE.index(status)
        span = (now - submitted) / (steps + 1.5)
        for step in range(steps):
            lifecycle.advance(state, order, submitted + span * (step + 1))
        if status == CANCELED:
            lifecycle.cancel(state, order, submitted + span * (steps + 1))
