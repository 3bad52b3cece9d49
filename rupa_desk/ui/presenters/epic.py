"""The Epic connection as the desk uses it: connect, find a patient in Epic, link her.

`EpicPresenter` owns the search (newest wins), says what it found in words for the front
desk (a bare last name finding nobody is explained, not an error), connects first when there
is no Epic session, and records which Rupa patient an Epic patient became.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from PySide6.QtCore import QObject, Signal

from rupa_desk.core.fhir import EhrPatient, ScheduledVisit
from rupa_desk.core.models import Patient
from rupa_desk.services.epic.client import EpicClient
from rupa_desk.services.epic.connection import EpicConnection, EpicStatus
from rupa_desk.services.epic.errors import EpicError
from rupa_desk.services.store.epic_links import EpicLinks
from rupa_desk.services.store.errors import StoreError
from rupa_desk.services.store.patients import UnknownPatientError
from rupa_desk.ui.messages import MessageBridge
from rupa_desk.ui.tasks import LatestTask, Superseded

log = logging.getLogger(__name__)

HOW_EPIC_FINDS = (
    "Epic finds a patient only by last name, first name and birth date together, by MRN, "
    "or by phone."
)


class RupaPatients(Protocol):
    """The Rupa patients on this computer (`rupa_desk.services.store.PatientCache`)."""

    def get(self, patient_id: str) -> Patient: ...


@dataclass(frozen=True)
class EpicSearch:
    """What the desk typed to find a patient in Epic (empty fields are left out)."""

    family: str = ""
    given: str = ""
    birth_date: date | None = None
    mrn: str = ""
    phone: str = ""

    def is_strong(self) -> bool:
        """Enough for Epic to find someone: name and birth date together, an MRN or a phone."""
        named = bool(self.family.strip() and self.given.strip() and self.birth_date)
        return named or bool(self.mrn.strip() or self.phone.strip())


def epic_status_text(status: EpicStatus) -> str:
    """The status bar's words for the Epic connection."""
    if not status.connected:
        return "Epic: not connected"
    if status.ends_at is not None:
        return f"Epic: connected until {status.ends_at:%H:%M}"
    return "Epic: connected"


class EpicPresenter(QObject):
    """Find in Epic, and the Epic connection's state.

    Args:
        connection: Epic sign-in and tokens.
        client: Epic's FHIR API.
        links: where Rupa patients are linked to Epic patients.
        bridge: messages to the user.
        patients: the Rupa patients on this computer, to name the one an Epic patient is
            linked to (None: linked patients are not named).

    Signals:
        results_changed(list): the Epic patients the last search found.
        searching_changed(bool): a search (or the connect before it) is running.
        summary_changed(str): what the last search came to, in words.
        status_changed(str): the connection's state in words (for the status bar).
        schedule_changed(list): the day's `ScheduledVisit`s, in Epic's order.
        schedule_summary_changed(str): what loading the day's schedule came to, in words.
    """

    results_changed = Signal(list)
    searching_changed = Signal(bool)
    summary_changed = Signal(str)
    status_changed = Signal(str)
    schedule_changed = Signal(list)
    schedule_summary_changed = Signal(str)

    def __init__(
        self,
        connection: EpicConnection,
        client: EpicClient,
        links: EpicLinks,
        bridge: MessageBridge,
        *,
        patients: RupaPatients | None = None,
    ) -> None:
        super().__init__()
        self._connection = connection
        self._client = client
        self._links = links
        self._bridge = bridge
        self._patients = patients
        self._search = LatestTask("epic-search")
        self._schedule = LatestTask("epic-schedule")
        self._patient = LatestTask("epic-patient")

    def status_text(self) -> str:
        return epic_status_text(self._connection.status())

    async def search(self, criteria: EpicSearch) -> list[EhrPatient]:
        """Search Epic (connecting first when needed); the newest search wins."""
        if not criteria.is_strong():
            self.results_changed.emit([])
            self.summary_changed.emit(f"Not enough to search. {HOW_EPIC_FINDS}")
            return []
        self.searching_changed.emit(True)
        try:
            found = await self._search.run(self._find(criteria))
        except Superseded:
            return []
        except EpicError as exc:
            self.searching_changed.emit(False)
            self.summary_changed.emit("")
            self._bridge.known_error(exc, not_done="Nothing was found in Epic.")
            self.status_changed.emit(self.status_text())
            return []
        self.searching_changed.emit(False)
        self.status_changed.emit(self.status_text())
        self.results_changed.emit(found)
        if found:
            self.summary_changed.emit(f"{len(found)} patient(s) found in Epic.")
        else:
            self.summary_changed.emit(f"No patient found in Epic. {HOW_EPIC_FINDS}")
        return found

    async def _find(self, criteria: EpicSearch) -> list[EhrPatient]:
        if not self._connection.status().connected:
            self.summary_changed.emit("Connect to Epic in the browser window that opened…")
            await self._connection.connect()
            self.status_changed.emit(self.status_text())
        return await self._client.search_patients(
            family=criteria.family.strip() or None,
            given=criteria.given.strip() or None,
            birth_date=criteria.birth_date,
            mrn=criteria.mrn.strip() or None,
            phone=criteria.phone.strip() or None,
        )

    async def load_schedule(self, day: date) -> list[ScheduledVisit]:
        """The appointments of `day` (connecting first when needed); the newest load wins."""
        self.schedule_summary_changed.emit("Loading the schedule from Epic…")
        try:
            visits = await self._schedule.run(self._day(day))
        except Superseded:
            return []
        except EpicError as exc:
            self.schedule_summary_changed.emit(exc.user_message)
            self.status_changed.emit(self.status_text())
            return []
        self.status_changed.emit(self.status_text())
        self.schedule_changed.emit(visits)
        count = f"{len(visits)} appointment(s)" if visits else "No appointments"
        self.schedule_summary_changed.emit(f"{count} on {day:%A %d %B}.")
        return visits

    async def _day(self, day: date) -> list[ScheduledVisit]:
        if not self._connection.status().connected:
            self.schedule_summary_changed.emit("Connect to Epic in the browser window that opened…")
            await self._connection.connect()
        return await self._client.schedule(day)

    async def patient(self, epic_patient_id: str) -> EhrPatient | None:
        """An appointment's patient as Epic has her; None (and a message) when Epic fails."""
        try:
            return await self._patient.run(self._client.patient(epic_patient_id))
        except Superseded:
            return None
        except EpicError as exc:
            self._bridge.known_error(exc, not_done="The patient was not loaded from Epic.")
            return None

    def rupa_patient_for(self, epic_patient_id: str) -> str | None:
        """The Rupa patient this Epic patient was linked to, if any."""
        return self._links.rupa_patient_for(epic_patient_id)

    def linked_epic_patients(self) -> frozenset[str]:
        """The Epic patients linked to a Rupa patient (one query for a whole schedule)."""
        return self._links.linked_epic_patients()

    def in_rupa_text(self, epic_patient_id: str) -> str:
        """ "Already in Rupa Desk as …" for a linked Epic patient; "" when she is not linked."""
        rupa_id = self.rupa_patient_for(epic_patient_id)
        if rupa_id is None:
            return ""
        name = ""
        if self._patients is not None:
            try:
                name = self._patients.get(rupa_id).full_name
            except UnknownPatientError:
                name = ""
        return f"Already in Rupa Desk as {name}" if name else "Already in Rupa Desk"

    def link(self, rupa_patient_id: str, patient: EhrPatient) -> None:
        """Remember that the Rupa patient is this Epic patient (for later orders and filing)."""
        try:
            self._links.link(rupa_patient_id, patient.id, patient.mrn)
        except StoreError as exc:
            self._bridge.known_error(exc, not_done="The link to Epic was not saved.")

    async def close(self) -> None:
        for task in (self._search, self._schedule, self._patient):
            task.cancel()
