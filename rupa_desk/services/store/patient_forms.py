"""The unsent new-patient form, saved as it is typed: a crash or a kill loses nothing.

The Patients pane has one New patient form, so an account database keeps at most one (the
row with `id` 1). Each save is a single-row upsert in one transaction, small enough to run on
every keystroke even with `synchronous=FULL` (`tests/bench/bench_patient_form.py` measures
it). An empty form is not kept: saving one removes the row.

While another connection writes (another Rupa Desk window, say; the catalog sync writes its
own files and holds this database's write lock only for a few tiny transactions), a save on
the UI thread would wait for it. `save(..., wait=False)` does
not wait: it raises `PatientFormBusyError` at once, and the caller tries again shortly.

`status` says where the form is on its way to Rupa:
- editing: being typed (an edit after a failed attempt comes back here);
- sending: "Create" was pressed and `POST /patients` may be in flight. If the app dies now,
  the next "Create" looks the patient up on Rupa first, so it is not created twice;
- failed: the last attempt failed; the problems it had are kept with the form.

Nothing here is logged: the form is patient data.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Final

from sqlite_utils import Database

from rupa_desk.core.validation import PatientForm
from rupa_desk.services.store.errors import DatabaseBusyError, StoreError, StoreWriteError
from rupa_desk.services.store.sync_state import to_iso, utc_now

_FORM_ID: Final = 1
_FIELDS: Final[tuple[str, ...]] = tuple(f.name for f in fields(PatientForm))
_COLUMNS: Final = ", ".join(_FIELDS)
_UPSERT: Final = (
    f"INSERT INTO patient_forms (id, {_COLUMNS}, status, field_errors, general_errors,"
    f" created_at, updated_at) VALUES (?, {', '.join('?' * len(_FIELDS))}, ?, ?, ?, ?, ?)"
    " ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(
        f"{name} = excluded.{name}"
        for name in (*_FIELDS, "status", "field_errors", "general_errors", "updated_at")
    )
)
_SELECT: Final = (
    f"SELECT {_COLUMNS}, status, field_errors, general_errors, created_at, updated_at"
    " FROM patient_forms WHERE id = ?"
)


class PatientFormStatus(StrEnum):
    """Where the unsent new-patient form is on its way to Rupa."""

    EDITING = "editing"
    SENDING = "sending"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class SavedPatientForm:
    """The unsent new-patient form as the database holds it.

    Attributes:
        form: every field as typed.
        status: see `PatientFormStatus`.
        field_errors: field name → the message the last attempt left under that field.
        general_errors: the last attempt's messages for the whole form.
        created_at: when the form was first saved.
        updated_at: when it last changed.
    """

    form: PatientForm
    status: PatientFormStatus
    created_at: datetime
    updated_at: datetime
    field_errors: Mapping[str, str] = field(default_factory=dict)
    general_errors: tuple[str, ...] = ()


class PatientFormNotSavedError(StoreError):
    """The form could not be written (disk full, database locked or read-only)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(
            f"The new patient form could not be saved on this computer ({reason}). What you "
            "typed is still in the form; check that the disk has free space, then try again."
        )


class PatientFormBusyError(PatientFormNotSavedError):
    """Another connection is writing right now; a save that does not wait tries again later."""

    def __init__(self) -> None:
        super().__init__("the database is busy with another change")


class PatientForms:
    """The `patient_forms` table: save, load and clear the unsent new-patient form."""

    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._db = db
        self._clock = clock

    def save(
        self,
        form: PatientForm,
        *,
        status: PatientFormStatus = PatientFormStatus.EDITING,
        field_errors: Mapping[str, str] | None = None,
        general_errors: tuple[str, ...] = (),
        wait: bool = True,
    ) -> None:
        """Write the form as typed, with its status and problems, in one transaction.

        The problems of an earlier attempt are replaced (an edit saves none: they were about
        what was sent then). An empty form is not kept: saving one clears the row.

        Args:
            form: what is typed.
            status: where the form is on its way to Rupa.
            field_errors: field name → the message to keep under that field.
            general_errors: messages to keep for the whole form.
            wait: wait (up to the connection's busy timeout) while another connection writes;
                False: do not wait, raise `PatientFormBusyError`.

        Raises:
            PatientFormBusyError: `wait` is False and another connection is writing.
            PatientFormNotSavedError: SQLite could not write it; nothing was changed.
        """
        if form.is_empty():
            self.clear(wait=wait)
            return
        now = to_iso(self._clock())
        values = [getattr(form, name) for name in _FIELDS]
        problems = [json.dumps(dict(field_errors or {})), json.dumps(list(general_errors))]
        with self._writing(wait):
            self._db.execute(_UPSERT, [_FORM_ID, *values, status.value, *problems, now, now])

    def load(self) -> SavedPatientForm | None:
        """The unsent form, or None when there is none."""
        row = self._db.execute(_SELECT, [_FORM_ID]).fetchone()
        if row is None:
            return None
        values = dict(zip(_FIELDS, (str(v) for v in row[: len(_FIELDS)]), strict=True))
        status, field_errors, general_errors, created_at, updated_at = row[len(_FIELDS) :]
        return SavedPatientForm(
            form=PatientForm(**values),
            status=PatientFormStatus(status),
            created_at=datetime.fromisoformat(created_at),
            updated_at=datetime.fromisoformat(updated_at),
            field_errors={str(k): str(v) for k, v in json.loads(field_errors).items()},
            general_errors=tuple(str(m) for m in json.loads(general_errors)),
        )

    def clear(self, *, wait: bool = True) -> None:
        """Forget the unsent form (it was created on Rupa, or the user discarded it).

        Raises:
            PatientFormBusyError: `wait` is False and another connection is writing.
            PatientFormNotSavedError: SQLite could not write; the form is still there.
        """
        with self._writing(wait):
            self._db.execute("DELETE FROM patient_forms WHERE id = ?", [_FORM_ID])

    @contextlib.contextmanager
    def _writing(self, wait: bool) -> Iterator[None]:
        """One write transaction; without `wait`, one that fails at once if the lock is taken."""
        waits_ms = int(self._db.execute("PRAGMA busy_timeout").fetchone()[0])
        if not wait:
            self._db.execute("PRAGMA busy_timeout = 0")
        try:
            with self._db.atomic():
                yield
        except DatabaseBusyError as exc:  # atomic() types SQLite's environmental failures
            if not wait:
                raise PatientFormBusyError() from exc
            raise PatientFormNotSavedError(exc.reason) from exc
        except StoreWriteError as exc:
            raise PatientFormNotSavedError(exc.reason) from exc
        except sqlite3.OperationalError as exc:
            raise PatientFormNotSavedError(str(exc)) from exc
        finally:
            if not wait:
                self._db.execute(f"PRAGMA busy_timeout = {waits_ms}")
