"""The simulator's patients and today's schedule.

Epic publishes a handful of synthetic patients for its sandbox (fhir.epic.com, "Test
Patients"): their names, FHIR ids and MRNs are seeded as published. Camila Lopez's birth date
is the one Epic's tutorials show; the other details (the others' birth dates, addresses,
phones) are the simulator's own. Generated patients fill the chart beside them, several
sharing a last name, so that a search by last name alone would be ambiguous.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from rupa_desk.epic_sandbox.config import EpicConfig


@dataclass(frozen=True)
class PatientRecord:
    """One patient in the simulated chart."""

    id: str
    mrn: str
    family: str
    given: tuple[str, ...]
    birth_date: date
    gender: str
    phone: str
    email: str
    line: str
    city: str
    state: str
    postal_code: str


@dataclass(frozen=True)
class AppointmentRecord:
    """One appointment on the simulated schedule."""

    id: str
    patient_id: str
    start: datetime
    minutes: int
    status: str
    reason: str


#: Epic's published sandbox patients: (FHIR id, MRN, family, given, birth date, gender).
PUBLISHED_PATIENTS: tuple[tuple[str, str, str, tuple[str, ...], date, str], ...] = (
    ("erXuFYUfucBZaryVksYEcMg3", "203713", "Lopez", ("Camila",), date(1987, 9, 12), "female"),
    ("eq081-VQEgP8drUUqCWzHfw3", "203711", "Lin", ("Derrick",), date(1973, 6, 3), "male"),
    ("eAB3mDIBBcyUKviyzrxsnAw3", "203714", "Powell", ("Desiree",), date(1985, 11, 2), "female"),
    ("egqBHVfQlt4Bw3XGXoxVxHg3", "203709", "Davis", ("Elijah",), date(1993, 1, 24), "male"),
    ("eIXesllypH3M9tAA5WdJftQ3", "203712", "Ross", ("Linda",), date(1969, 4, 8), "female"),
    ("eh2xYHuzl9nkSFVvV3osUHg3", "203715", "Roberts", ("Olivia",), date(2001, 8, 17), "female"),
    ("e0w0LEDCYtfckT6N.CkJKCw3", "203710", "McGinnis", ("Warren",), date(1958, 2, 27), "male"),
)

_FAMILIES = (
    "Lopez",
    "Nguyen",
    "Patel",
    "Garcia",
    "Smith",
    "Johnson",
    "Kim",
    "Okafor",
    "Rossi",
    "Novak",
    "Haddad",
    "Silva",
    "Murphy",
    "Tanaka",
    "Fischer",
    "Davis",
    "Lin",
    "Cohen",
    "Walker",
    "Ali",
)
_GIVEN_F = ("Ana", "Maria", "Grace", "Priya", "Sofia", "Emma", "Aisha", "Hana", "Lena", "Chloe")
_GIVEN_M = ("Luis", "David", "Omar", "Kenji", "Marco", "Noah", "Samuel", "Ivan", "Tomas", "Eli")
_STREETS = ("Oak St", "Maple Ave", "Cedar Rd", "Pine Ln", "Elm St", "Lake Dr", "Hill Rd")
_CITIES = (("Madison", "WI", "53703"), ("Verona", "WI", "53593"), ("Middleton", "WI", "53562"))
_REASONS = (
    "Annual physical",
    "Follow-up: thyroid panel",
    "Fatigue",
    "Gut health consult",
    "Lab review",
    "New patient visit",
    "Hormone panel follow-up",
)
_SLOTS_PER_DAY = 30  # 8:00 to 18:00, every 20 minutes
_STATUSES = ("booked", "booked", "booked", "arrived", "fulfilled", "cancelled", "noshow")


def build_patients(config: EpicConfig) -> list[PatientRecord]:
    """Epic's published patients, then `config.generated_patients` generated ones."""
    rng = random.Random(config.seed)
    patients: list[PatientRecord] = []
    for index, (pid, mrn, family, given, born, gender) in enumerate(PUBLISHED_PATIENTS):
        city, state, postal = _CITIES[index % len(_CITIES)]
        patients.append(
            PatientRecord(
                pid,
                mrn,
                family,
                given,
                born,
                gender,
                phone=f"608-555-{1000 + index:04d}",
                email=f"{given[0].lower()}.{family.lower()}@example.com",
                line=f"{100 + index} {_STREETS[index % len(_STREETS)]}",
                city=city,
                state=state,
                postal_code=postal,
            )
        )
    for index in range(config.generated_patients):
        gender = rng.choice(("female", "male"))
        first = rng.choice(_GIVEN_F if gender == "female" else _GIVEN_M)
        family = rng.choice(_FAMILIES)
        city, state, postal = rng.choice(_CITIES)
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 65))
        patients.append(
            PatientRecord(
                f"eSim{index:05d}x{rng.randrange(16**6):06x}",
                str(300000 + index),
                family,
                (first,),
                born,
                gender,
                phone=f"608-555-{2000 + index:04d}",
                email=f"{first.lower()}.{family.lower()}{index}@example.com",
                line=f"{rng.randrange(1, 9999)} {rng.choice(_STREETS)}",
                city=city,
                state=state,
                postal_code=postal,
            )
        )
    return patients


def build_schedule(
    config: EpicConfig, patients: list[PatientRecord], today: date
) -> list[AppointmentRecord]:
    """Today's appointments from 8:00, every 20 minutes until 18:00 (more than that: several
    rooms at once), in order of time: Epic's published patients first."""
    rng = random.Random(config.seed + 1)
    zone = datetime.now().astimezone().tzinfo
    first = datetime.combine(today, time(8, 0), tzinfo=zone)
    schedule = []
    for index in range(config.appointments_today):
        patient = patients[index % len(patients)]
        schedule.append(
            AppointmentRecord(
                id=f"eAppt{index:05d}",
                patient_id=patient.id,
                start=first + timedelta(minutes=20 * (index % _SLOTS_PER_DAY)),
                minutes=20,
                status="booked" if index == 0 else rng.choice(_STATUSES),
                reason=rng.choice(_REASONS),
            )
        )
    return sorted(schedule, key=lambda a: (a.start, a.id))
