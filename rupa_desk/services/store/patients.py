"""The patients cache: offline search and the duplicate check before creating a patient.

Rupa is the system of record; this table mirrors the practitioner's patients so the patients
pane works offline. Names, emails and birthdays are patient data: never log them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlite_utils import Database

from rupa_desk.core.models import Address, Patient
from rupa_desk.services.store.errors import StoreError
from rupa_desk.services.store.sync_state import to_iso, utc_now

_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m-%d-%Y", "%d.%m.%Y")


class UnknownPatientError(StoreError, LookupError):
    """No patient with this id is in the local cache."""

    def __init__(self, patient_id: str) -> None:
        self.patient_id = patient_id
        super().__init__(
            "This patient is not in the list on this computer. Refresh the patients list "
            "(“Refresh from Rupa”), then try again."
        )


class DuplicateReason(StrEnum):
    """Why an existing patient may be the one being created."""

    EMAIL = "email"
    NAME_AND_BIRTHDAY = "name_and_birthday"
    NAME = "name"  # same name, and the birthday is unknown on one side


@dataclass(frozen=True, slots=True)
class PossibleDuplicate:
    patient: Patient
    reasons: frozenset[DuplicateReason]


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def parse_birthday(text: str) -> date | None:
    """A date typed in a search box (2024-06-13, 06/13/2024, …), or None if it is not one."""
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


class PatientCache:
    """The `patients` table."""

    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._db = db
        self._clock = clock

    def upsert(self, patients: Iterable[Patient]) -> int:
        """Insert or update patients (in one transaction); returns how many were written."""
        cached_at = to_iso(self._clock())
        rows = [
            {
                "id": p.id,
                "first_name": p.first_name,
                "last_name": p.last_name,
                "email": p.email,
                "birthday": p.birthday.isoformat() if p.birthday else None,
                "phone": p.phone,
                "gender": p.gender,
                "address": json.dumps(asdict(p.address)) if p.address else None,
                "first_key": _key(p.first_name),
                "last_key": _key(p.last_name),
                "email_key": _key(p.email),
                "raw": json.dumps(dict(p.raw), default=str),
                "cached_at": cached_at,
            }
            for p in patients
        ]
        with self._db.atomic():
            self._db.table("patients").upsert_all(rows, pk="id")
        return len(rows)

    def get(self, patient_id: str) -> Patient:
        rows = self._select("WHERE id = ?", [patient_id])
        if not rows:
            raise UnknownPatientError(patient_id)
        return rows[0]

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM patients").fetchone()[0])

    def search(self, text: str, *, limit: int = 50) -> list[Patient]:
        """Patients matching every word of `text`, sorted by last then first name.

        A word matches the start of the first name, the last name or the email, or, when it
        reads as a date (2024-06-13, 06/13/2024), the birthday. Empty text lists everyone.
        """
        clauses: list[str] = []
        params: list[object] = []
        for word in text.split():
            birthday = parse_birthday(word)
            if birthday is not None:
                clauses.append("birthday = ?")
                params.append(birthday.isoformat())
                continue
            pattern = _like_prefix(word.casefold())
            clauses.append(
                "(first_key LIKE ? ESCAPE '\\' OR last_key LIKE ? ESCAPE '\\'"
                " OR email_key LIKE ? ESCAPE '\\')"
            )
            params.extend([pattern, pattern, pattern])
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        return self._select(f"{where} ORDER BY last_key, first_key, id LIMIT ?", [*params, limit])

    def find_possible_duplicates(
        self, email: str, first_name: str, last_name: str, birthday: date | None
    ) -> list[PossibleDuplicate]:
        """Existing patients that may be the one about to be created (lookup before create).

        A match by email, or by first and last name with the same birthday; same names count
        too when either birthday is unknown.
        """
        email_key, first_key, last_key = _key(email), _key(first_name), _key(last_name)
        candidates = self._select(
            "WHERE (email_key = ? AND email_key != '') OR (first_key = ? AND last_key = ?)"
            " ORDER BY last_key, first_key, id",
            [email_key, first_key, last_key],
        )
        found: list[PossibleDuplicate] = []
        for patient in candidates:
            reasons: set[DuplicateReason] = set()
            if email_key and _key(patient.email) == email_key:
                reasons.add(DuplicateReason.EMAIL)
            if _key(patient.first_name) == first_key and _key(patient.last_name) == last_key:
                if birthday is not None and patient.birthday == birthday:
                    reasons.add(DuplicateReason.NAME_AND_BIRTHDAY)
                elif birthday is None or patient.birthday is None:
                    reasons.add(DuplicateReason.NAME)
            if reasons:
                found.append(PossibleDuplicate(patient, frozenset(reasons)))
        return found

    def _select(self, tail: str, params: list[object]) -> list[Patient]:
        cursor = self._db.execute(
            "SELECT id, first_name, last_name, email, birthday, phone, gender, address, raw"
            f" FROM patients {tail}",
            params,
        )
        return [_patient_from_row(row) for row in cursor.fetchall()]


def _patient_from_row(row: tuple[object, ...]) -> Patient:
    pid, first, last, email, birthday, phone, gender, address, raw = row
    return Patient(
        id=str(pid),
        first_name=str(first),
        last_name=str(last),
        email=str(email),
        birthday=date.fromisoformat(str(birthday)) if birthday else None,
        phone=None if phone is None else str(phone),
        gender=None if gender is None else str(gender),
        address=Address(**json.loads(str(address))) if address else None,
        raw=json.loads(str(raw)),
    )
