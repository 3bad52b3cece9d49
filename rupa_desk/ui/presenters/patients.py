"""The patients pane's presenter: offline search, refresh from Rupa, lookup-first creation.

The new-patient form is saved in the database on every edit (`form_edited`: a single-row
write, small enough for every keystroke), so a crash or a kill loses at most the last
keystroke; opening the form again restores it (`unsent_form`). While another connection holds
the write lock (the catalog sync's build) a keystroke does not
wait for it: the latest form is saved as soon as the lock is free (retried every
`FORM_RETRY_MS`), and always before anything is sent.

Creating a patient goes: save the form → check it (field by field, before anything is sent) →
look for a possible duplicate (same email, or same name and birthday) in the local list and,
when Rupa is reachable, on Rupa by email → if there is one, show it with "Use this patient" as
the default → only then mark the form "sending" and `POST /patients`. Rupa's own validation
errors come back on the field they name. On success the patient is cached and the saved form
cleared; on failure the form stays saved with its problems. Patient data never goes to the log.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Protocol, TypeVar

from PySide6.QtCore import QObject, QTimer, Signal

from rupa_desk.core.models import Address, Order, Page, Patient
from rupa_desk.core.validation import (
    InvalidPatientForm,
    PatientForm,
    field_for_attribute,
    new_patient,
    parse_birthday,
)
from rupa_desk.services import listings
from rupa_desk.services.errors import NetworkError, RupaError, ValidationFailed
from rupa_desk.services.listings import Listing
from rupa_desk.services.store import (
    Drafts,
    DraftSummary,
    PatientCache,
    PatientFormBusyError,
    PatientForms,
    PatientFormStatus,
    PossibleDuplicate,
    StoreError,
    UnknownDraftError,
)
from rupa_desk.services.store.patient_forms import SavedPatientForm
from rupa_desk.ui.messages import MessageBridge
from rupa_desk.ui.presenters.connectivity import Connectivity
from rupa_desk.ui.tasks import LatestTask, Superseded

log = logging.getLogger(__name__)

T = TypeVar("T")

SEARCH_LIMIT = 500
LOADING_ORDERS = "Loading orders from Rupa…"
REFRESH_BATCH = 200
#: How soon a keystroke's save that found the database busy is tried again.
FORM_RETRY_MS = 100


class PatientSource(Protocol):
    """What the presenter needs of `RupaClient`."""

    def iterate(self, listing: Listing[T]) -> AsyncIterator[T]:
        """Every item of a list (here: patients, all or by email)."""

    async def create_patient(
        self,
        first_name: str,
        last_name: str,
        email: str,
        *,
        birthday: date | None = None,
        phone: str | None = None,
        gender: str | None = None,
        address: Address | None = None,
    ) -> tuple[Patient, bool]:
        """Create a patient (or get Rupa's existing one); True when created now."""

    async def first_page(self, listing: Listing[T]) -> Page[T]:
        """The first page of a list (here: one patient's orders)."""


@dataclass(frozen=True)
class PatientDetail:
    """What the detail panel shows about one patient.

    Attributes:
        patient: the patient (from the local list).
        drafts: this patient's open drafts on this computer.
        orders: this patient's orders on Rupa, newest first (empty when not loaded).
        orders_problem: why the orders could not be loaded (e.g. offline), or "".
    """

    patient: Patient
    drafts: tuple[DraftSummary, ...] = ()
    orders: tuple[Order, ...] = ()
    orders_problem: str = ""


@dataclass(frozen=True)
class FormProblems:
    """What is wrong with the new-patient form.

    Attributes:
        fields: field name → message (shown under the field).
        general: messages for the whole form.
    """

    fields: dict[str, str] = field(default_factory=dict)
    general: tuple[str, ...] = ()


@dataclass(frozen=True)
class RestoredForm:
    """An unsent new-patient form found in the database, ready to show again.

    Attributes:
        form: every field as it was typed.
        notice: tells the user the form was restored (and what happened to it last).
        problems: what the last attempt to create the patient ran into.
    """

    form: PatientForm
    notice: str
    problems: FormProblems


class PatientsPresenter(QObject):
    """Runs the patients pane's requests.

    Args:
        cache: the local patients list.
        drafts: the local drafts (a patient's drafts in the detail panel).
        forms: where the unsent new-patient form is saved as it is typed.
        source: the API client.
        bridge: messages to the user.
        connectivity: told whether Rupa answered.

    Signals:
        results_changed(list): the patients matching the search (a list of `Patient`).
        detail_changed(object): the `PatientDetail` to show (None: nothing selected).
        refresh_started(): "Refresh from Rupa" began.
        refresh_finished(bool): it ended (True: the list is up to date).
        form_problems(FormProblems): the new-patient form must show these.
        duplicates_found(list): possible duplicates (`PossibleDuplicate`) of the form's patient;
            nothing was created.
        patient_created(object, bool): the patient now on Rupa, and whether it is new (False:
            Rupa already had this first+last+email).
        patient_chosen(object): show this existing patient (a `Patient`; "Use this patient").
        creating_changed(bool): a patient is being created (True) or no longer (False).
        selection_changed(str): the patient shown in the detail changed (her id; "" for
            nobody): a new draft is for her.
    """

    results_changed = Signal(list)
    detail_changed = Signal(object)
    refresh_started = Signal()
    refresh_finished = Signal(bool)
    form_problems = Signal(object)
    duplicates_found = Signal(list)
    patient_created = Signal(object, bool)
    patient_chosen = Signal(object)
    creating_changed = Signal(bool)
    selection_changed = Signal(str)

    def __init__(
        self,
        cache: PatientCache,
        drafts: Drafts,
        forms: PatientForms,
        source: PatientSource,
        bridge: MessageBridge,
        connectivity: Connectivity,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._cache = cache
        self._drafts = drafts
        self._forms = forms
        self._source = source
        self._bridge = bridge
        self._connectivity = connectivity
        self._text = ""
        self._searches = LatestTask("patient-search")
        self._details = LatestTask("patient-detail")
        self._refreshes = LatestTask("patient-refresh")
        self._creating = False
        self._selected: str | None = None
        self._shown: PatientDetail | None = None
        self._form_save_failed = False
        self._unsaved: PatientForm | None = None
        self._form_retry = QTimer(self)
        self._form_retry.setSingleShot(True)
        self._form_retry.setInterval(FORM_RETRY_MS)
        self._form_retry.timeout.connect(self._on_form_retry_timeout)

    @property
    def search_text(self) -> str:
        """The text the list is filtered by."""
        return self._text

    def count(self) -> int:
        """How many patients the local list holds."""
        return self._cache.count()

    # -- search and refresh ----------------------------------------------------------------------

    async def search(self, text: str) -> None:
        """Search the local list by name, email or birthday (works offline)."""
        self._text = text
        with contextlib.suppress(Superseded):
            found = await self._searches.run(self._search(text))
            self.results_changed.emit(found)

    async def _search(self, text: str) -> list[Patient]:
        return self._cache.search(text, limit=SEARCH_LIMIT)

    async def refresh(self) -> bool:
        """Download the patients from Rupa into the local list ("Refresh from Rupa").

        Returns:
            True when the list is up to date; False when it failed (the user was told).
        """
        self.refresh_started.emit()
        try:
            count = await self._refreshes.run(self._download())
        except Superseded:
            return False
        except RupaError as exc:
            self._connectivity.failed(exc)
            self._bridge.known_error(exc, not_done="The patients could not be refreshed.")
            self.refresh_finished.emit(False)
            return False
        self._connectivity.answered()
        self.refresh_finished.emit(True)
        self._bridge.info(f"Patients refreshed from Rupa: {count:,}.")
        await self.search(self._text)
        return True

    async def _download(self) -> int:
        batch: list[Patient] = []
        count = 0
        async for patient in self._source.iterate(listings.patients()):
            batch.append(patient)
            if len(batch) >= REFRESH_BATCH:
                count += self._cache.upsert(batch)
                batch = []
        count += self._cache.upsert(batch)
        return count

    # -- detail ------------------------------------------------------------------------------

    @property
    def selected_patient_id(self) -> str | None:
        """The patient shown in the detail (None: nobody)."""
        return self._selected

    async def show_detail(self, patient_id: str | None) -> None:
        """Show a patient's demographics, drafts and orders (None: clear the panel)."""
        if patient_id != self._selected:
            self._selected = patient_id
            self.selection_changed.emit(patient_id or "")
        with contextlib.suppress(Superseded):
            await self._details.run(self._load_detail(patient_id))

    async def refresh_detail(self) -> None:
        """Her orders changed (a poll, a checkout): read the detail shown again, keeping
        what is shown until Rupa's answer is in (no "loading" in between)."""
        if self._selected is None:
            return
        with contextlib.suppress(Superseded):
            await self._details.run(self._load_detail(self._selected, quietly=True))

    def drafts_changed(self, draft_id: str | None = None) -> None:
        """Drafts changed (None: any; else this one): the detail shown lists the patient's
        drafts again when it may be one of hers (local only, no request)."""
        shown = self._shown
        if shown is None or shown.patient.id != self._selected:
            return
        if draft_id is not None and all(d.id != draft_id for d in shown.drafts):
            try:
                if self._drafts.get(draft_id).patient_id != shown.patient.id:
                    return
            except UnknownDraftError:
                return
        drafts = self._drafts_of(shown.patient.id)
        if _as_listed(drafts) != _as_listed(shown.drafts):  # not at each keystroke of a note
            self._emit_detail(replace(shown, drafts=drafts))

    def _drafts_of(self, patient_id: str) -> tuple[DraftSummary, ...]:
        return tuple(self._drafts.open_drafts(patient_id))

    def _emit_detail(self, detail: PatientDetail | None) -> None:
        self._shown = detail
        self.detail_changed.emit(detail)

    async def _load_detail(self, patient_id: str | None, *, quietly: bool = False) -> None:
        if patient_id is None:
            self._emit_detail(None)
            return
        patient = self._cache.get(patient_id)
        drafts = self._drafts_of(patient_id)
        if not quietly:
            self._emit_detail(PatientDetail(patient, drafts, orders_problem=LOADING_ORDERS))
        try:
            page = await self._source.first_page(listings.orders(patient=patient_id))
        except RupaError as exc:
            self._connectivity.failed(exc)
            problem = (
                "Orders are not shown while Rupa cannot be reached."
                if isinstance(exc, NetworkError)
                else f"Orders could not be loaded. {exc.user_message}"
            )
            self._emit_detail(PatientDetail(patient, drafts, orders_problem=problem))
            return
        self._connectivity.answered()
        self._emit_detail(PatientDetail(patient, self._drafts_of(patient_id), page.items))

    # -- the new-patient form: saved as it is typed ---------------------------------------------

    def form_edited(self, form: PatientForm) -> bool:
        """Save the form as it is now (called on every edit; an empty form is forgotten).

        Does not wait while another connection writes: the latest form is then saved as soon
        as the database is free.

        Returns:
            True when it is saved now; False when it waits for a busy database, or the
            database refused it (the user was told once).
        """
        self._unsaved = form
        return self._save_unsaved()

    @property
    def form_saved(self) -> bool:
        """False while an edit waits for a busy database."""
        return self._unsaved is None

    def _on_form_retry_timeout(self) -> None:
        self._save_unsaved()

    def _save_unsaved(self) -> bool:
        if self._unsaved is None:
            return True
        try:
            self._forms.save(self._unsaved, wait=False)
        except PatientFormBusyError:
            self._form_retry.start()
            return False
        except StoreError as exc:
            self._tell_form_not_saved(exc)
            return False
        self._unsaved = None
        self._form_save_failed = False
        return True

    def _tell_form_not_saved(self, exc: StoreError) -> None:
        if not self._form_save_failed:
            self._bridge.known_error(exc)
        self._form_save_failed = True

    def unsent_form(self) -> RestoredForm | None:
        """The new-patient form saved earlier and not sent yet (None: there is none)."""
        saved = self._forms.load()
        if saved is None:
            return None
        log.info("restoring an unsent new-patient form (%s)", saved.status.value)
        problems = FormProblems(fields=dict(saved.field_errors), general=saved.general_errors)
        return RestoredForm(saved.form, _restored_notice(saved), problems)

    def discard_form(self) -> None:
        """Forget the saved new-patient form (the user discarded it)."""
        self._clear_form()

    def _save_form(
        self,
        form: PatientForm,
        status: PatientFormStatus = PatientFormStatus.EDITING,
        problems: FormProblems | None = None,
    ) -> bool:
        """Save now, waiting for a busy database (before a request, and on a failure)."""
        self._unsaved = None
        self._form_retry.stop()
        problems = problems or FormProblems()
        try:
            self._forms.save(
                form, status=status, field_errors=problems.fields, general_errors=problems.general
            )
        except StoreError as exc:
            self._tell_form_not_saved(exc)
            return False
        self._form_save_failed = False
        return True

    def _clear_form(self) -> None:
        self._unsaved = None
        self._form_retry.stop()
        try:
            self._forms.clear()
        except StoreError as exc:
            self._bridge.known_error(exc, not_done="The saved form was not cleared.")

    def _not_sent(self, form: PatientForm, problems: FormProblems) -> bool:
        """Keep the form saved with why it was not sent, and show that; always False."""
        self._save_form(form, PatientFormStatus.FAILED, problems)
        self.form_problems.emit(problems)
        return False

    # -- creation ----------------------------------------------------------------------------

    async def create_patient(self, form: PatientForm, *, allow_duplicates: bool = False) -> bool:
        """Save the form, check it, look for duplicates, then create the patient on Rupa.

        Args:
            form: what was typed.
            allow_duplicates: the user saw the possible duplicates and chose to create anyway.

        Returns:
            True when the patient is on Rupa (created or found); False when the form has
            problems, possible duplicates were found, or Rupa could not be reached.
        """
        if self._creating:
            return False
        self._creating = True
        self.creating_changed.emit(True)
        try:
            return await self._create(form, allow_duplicates=allow_duplicates)
        finally:
            self._creating = False
            self.creating_changed.emit(False)

    async def use_existing(self, patient: Patient) -> None:
        """ "Use this patient": forget the form, and show the existing patient instead."""
        self._clear_form()
        await self.search("")
        self.patient_chosen.emit(patient)
        await self.show_detail(patient.id)

    async def _create(self, form: PatientForm, *, allow_duplicates: bool) -> bool:
        if not self._save_form(form):
            self.form_problems.emit(FormProblems(general=(_NOT_SAVED,)))
            return False
        try:
            attributes = new_patient(form, today=date.today())
        except InvalidPatientForm as exc:
            return self._not_sent(form, FormProblems(fields=exc.errors))
        if not allow_duplicates:
            duplicates = await self.possible_duplicates(form)
            if duplicates:
                self.duplicates_found.emit(duplicates)
                return False
        if not self._save_form(form, PatientFormStatus.SENDING):
            self.form_problems.emit(FormProblems(general=(_NOT_SAVED,)))
            return False
        address = attributes.get("address")
        try:
            patient, created = await self._source.create_patient(
                attributes["first_name"],
                attributes["last_name"],
                attributes["email"],
                birthday=date.fromisoformat(attributes["birthday"])
                if "birthday" in attributes
                else None,
                phone=attributes.get("phone"),
                gender=attributes.get("gender"),
                address=Address(**address) if address else None,
            )
        except ValidationFailed as exc:
            self._connectivity.answered()
            return self._not_sent(form, _server_problems(exc))
        except RupaError as exc:
            self._connectivity.failed(exc)
            return self._not_sent(form, FormProblems(general=(_not_created(exc),)))
        self._connectivity.answered()
        self._cache.upsert([patient])
        self._clear_form()
        self._bridge.info(
            f"Created the patient {patient.full_name}."
            if created
            else f"Rupa already had {patient.full_name} with this email; using that record."
        )
        await self.search(self._text)
        self.patient_created.emit(patient, created)
        await self.show_detail(patient.id)
        return True

    async def possible_duplicates(self, form: PatientForm) -> list[PossibleDuplicate]:
        """Patients that may be the one in `form`: in the local list, and on Rupa by email.

        Rupa is asked only when reachable; offline, the local list answers alone.
        """
        email = form.value("email")
        if email:
            try:
                found = [p async for p in self._source.iterate(listings.patients(email))]
            except RupaError as exc:
                # Unreachable, or any error answer (5xx, 429, session ended): the local list
                # answers alone, and creating the patient says what is wrong, if anything.
                self._connectivity.failed(exc)
                log.info(
                    "duplicate check by email: %s from Rupa, local list only", type(exc).__name__
                )
            else:
                self._connectivity.answered()
                self._cache.upsert(found)
        birthday: date | None = None
        if form.value("birthday"):
            with contextlib.suppress(ValueError):
                birthday = parse_birthday(form.value("birthday"))
        return self._cache.find_possible_duplicates(
            email, form.value("first_name"), form.value("last_name"), birthday
        )

    async def close(self) -> None:
        """Stop whatever runs; save an edit still waiting for a busy database."""
        for task in (self._searches, self._details, self._refreshes):
            await task.wait_cancelled()
        self._form_retry.stop()
        if self._unsaved is not None:
            self._save_form(self._unsaved)


def _as_listed(drafts: tuple[DraftSummary, ...]) -> list[tuple[str, int, str]]:
    """The drafts as the detail panel lists them (to the minute)."""
    return [(d.id, d.test_count, f"{d.updated_at:%Y-%m-%d %H:%M}") for d in drafts]


_NOT_SAVED = (
    "The patient was not sent: the form could not be saved on this computer first. Check that "
    "the disk has free space, then try again."
)


def _not_created(error: RupaError) -> str:
    """What the form says when creating the patient failed with `error`."""
    if isinstance(error, NetworkError) and error.request_sent:
        return (
            f"Rupa did not confirm the new patient. {error.user_message} It may have been "
            "created. The form is saved on this computer; “Create patient” again looks for the "
            "patient first, and Rupa keeps one patient per email, so it is not created twice."
        )
    return f"The patient was not created. {error.user_message} The form is saved on this computer."


def _restored_notice(saved: SavedPatientForm) -> str:
    when = saved.updated_at.astimezone().strftime("%d %b %Y, %H:%M")
    notice = f"Restored the new patient you had not sent yet (last changed {when})."
    if saved.status is PatientFormStatus.SENDING:
        notice += (
            " Rupa Desk closed while creating this patient, so it may already be on Rupa: "
            "“Create patient” looks for it first and offers to use it."
        )
    elif saved.status is PatientFormStatus.FAILED:
        notice += " The last attempt to create it did not succeed (see below)."
    return notice


def _server_problems(exc: ValidationFailed) -> FormProblems:
    fields: dict[str, str] = {}
    general = list(exc.general_errors)
    for attribute, messages in exc.field_errors.items():
        name = field_for_attribute(attribute)
        text = " ".join(messages) or "Rupa did not accept this value."
        if name is None:
            general.append(f"{attribute}: {text}")
        else:
            fields[name] = text
    if not fields and not general:
        general.append(exc.user_message)
    return FormProblems(fields=fields, general=tuple(general))
