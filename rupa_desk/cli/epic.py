"""`rupa-desk epic connect | whoami | search | schedule`: Epic on FHIR for admins.

    rupa-desk epic connect  [--fhir-base URL --client-id ID]
    rupa-desk epic whoami   [--fhir-base URL --client-id ID]
    rupa-desk epic search   --family F --given G --birthdate YYYY-MM-DD [--json]
    rupa-desk epic search   --mrn M | --phone P [--json]
    rupa-desk epic schedule [--date YYYY-MM-DD] [--json]

The FHIR base and client id come from the saved settings (the clinic's managed ones win), or
from the options. A session Epic gave a refresh token is kept in the OS keychain and serves
the next commands; without one, a command that needs Epic connects again in the browser.
Exit codes: see `rupa_desk.cli.exit_codes`.
"""

from __future__ import annotations

import argparse
import json
import sys
import webbrowser
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any, TextIO

import keyring.backend

from rupa_desk.cli.exit_codes import EXIT_OK, UsageError, run_command
from rupa_desk.core.fhir import EhrPatient, ScheduledVisit
from rupa_desk.paths import AppPaths
from rupa_desk.services.auth import BrowserOpener, PendingSignIn
from rupa_desk.services.epic.client import EpicClient
from rupa_desk.services.epic.connection import EpicConnection
from rupa_desk.services.epic.errors import EpicError, EpicNotConnected
from rupa_desk.services.secrets import SecretStoreChoice, SecretStoreMode, probe_secret_store
from rupa_desk.settings import (
    DEFAULT_EPIC_SCOPES,
    EpicSettings,
    SettingsError,
    check_fhir_base,
    load_settings,
)

NO_MATCH = (
    "No patient found. Epic finds a patient only by last name, first name and birth date "
    "together, by MRN, or by phone."
)


def run(
    args: argparse.Namespace,
    *,
    paths: AppPaths | None = None,
    opener: BrowserOpener | None = None,
    out: TextIO | None = None,
    keyring_backend: keyring.backend.KeyringBackend | None = None,
) -> int:
    """Run one `epic` action; returns the exit code."""
    stdout = out if out is not None else sys.stdout
    return run_command(
        lambda: _run(args, paths, opener, stdout, keyring_backend), failures=(EpicError,)
    )


def epic_settings_from_args(args: argparse.Namespace, paths: AppPaths) -> EpicSettings:
    """The Epic connection the options name, else the saved (and managed) settings.

    Raises:
        SettingsError: a settings file is unusable, or Epic is not set up.
    """
    loaded = load_settings(paths.settings_file, paths.managed_settings_file)
    if loaded.managed_problem:
        raise SettingsError(loaded.managed_problem)
    settings = loaded.settings
    base = args.fhir_base or settings.epic_fhir_base
    client_id = args.client_id or settings.epic_client_id
    locked = loaded.managed.locked
    if args.fhir_base and "epic_fhir_base" in locked and args.fhir_base != base:
        raise SettingsError("Your clinic set the Epic address: --fhir-base cannot be used here.")
    if not base.strip() or not client_id.strip():
        raise SettingsError(
            "Epic is not set up: set Epic's FHIR address and client id in Settings, or pass "
            "--fhir-base and --client-id."
        )
    check_fhir_base(base.strip())
    return EpicSettings(
        base.strip().rstrip("/"),
        client_id.strip(),
        " ".join(settings.epic_scopes.split()) or DEFAULT_EPIC_SCOPES,
        redirect_ports=settings.redirect_ports,
    )


@dataclass
class _Session:
    settings: EpicSettings
    secrets: SecretStoreChoice
    connection: EpicConnection
    client: EpicClient
    out: TextIO

    def command(self, action: str) -> str:
        return (
            f"rupa-desk epic {action} --fhir-base {self.settings.fhir_base} "
            f"--client-id {self.settings.client_id}"
        )

    async def connect(self) -> None:
        out = self.out

        def show_waiting(pending: PendingSignIn) -> None:
            if pending.browser_opened:
                print("Connect to Epic in the browser window that opened.", file=out)
            else:
                print("No browser could be opened. Open this link in a browser:", file=out)
                print(f"  {pending.authorize_url}", file=out)
            print("Waiting… (Ctrl+C cancels)", file=out, flush=True)

        await self.connection.connect(on_waiting=show_waiting)

    async def ensure_connected(self) -> None:
        if not self.connection.status().connected:
            await self.connect()


@asynccontextmanager
async def _open(
    args: argparse.Namespace,
    paths: AppPaths | None,
    opener: BrowserOpener | None,
    out: TextIO,
    keyring_backend: keyring.backend.KeyringBackend | None,
) -> AsyncIterator[_Session]:
    paths = paths if paths is not None else AppPaths.for_user()
    settings = epic_settings_from_args(args, paths)
    secrets = await probe_secret_store(keyring_backend)
    connection = EpicConnection(
        settings, secrets.store, opener=opener if opener is not None else webbrowser.open
    )
    client = EpicClient(settings, connection)
    try:
        await connection.restore()
        yield _Session(settings, secrets, connection, client, out)
    finally:
        await client.aclose()
        await connection.aclose()


async def _run(
    args: argparse.Namespace,
    paths: AppPaths | None,
    opener: BrowserOpener | None,
    out: TextIO,
    keyring_backend: keyring.backend.KeyringBackend | None,
) -> int:
    async with _open(args, paths, opener, out, keyring_backend) as session:
        action = args.epic_command
        if action == "connect":
            return await _connect(session)
        if action == "whoami":
            return await _who_am_i(session)
        if action == "search":
            return await _search(session, args)
        if action == "schedule":
            return await _schedule(session, args)
    raise UsageError(f"Unknown epic action {args.epic_command!r}.")


async def _connect(session: _Session) -> int:
    if session.secrets.mode is SecretStoreMode.SESSION_ONLY:
        print(f"Note: {session.secrets.reason}", file=sys.stderr)
    await session.connect()
    print(f"Connected to Epic at {session.settings.fhir_base}.", file=session.out)
    print(_kept(session), file=session.out)
    return EXIT_OK


def _kept(session: _Session) -> str:
    status = session.connection.status()
    if status.lasting:
        where = SecretStoreMode.SESSION_ONLY.value
        if not session.connection.store_degraded:
            where = session.secrets.mode.value
        return f"The session is kept in: {where}."
    ends = f"{status.ends_at:%H:%M}" if status.ends_at else "soon"
    return (
        f"Epic gave no lasting session: it ends at {ends}, and each command connects again "
        "in the browser."
    )


async def _who_am_i(session: _Session) -> int:
    if not session.connection.status().connected:
        raise EpicNotConnected(
            f"Rupa Desk is not connected to Epic. Run `{session.command('connect')}` first."
        )
    name = await session.client.server_name()
    status = session.connection.status()
    print(f"Connected to Epic at {session.settings.fhir_base}", file=session.out)
    if name:
        print(f"Server: {name}", file=session.out)
    print(f"Client id: {session.settings.client_id}", file=session.out)
    if status.scope:
        print(f"Granted: {status.scope}", file=session.out)
    print(_kept(session), file=session.out)
    return EXIT_OK


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} must be a date like 1987-09-12, not {text!r}.") from None


async def _search(session: _Session, args: argparse.Namespace) -> int:
    birth_date = _day(args.birthdate, "--birthdate")
    if not any((args.family, args.given, birth_date, args.mrn, args.phone)):
        raise UsageError("Say whom to find: --family, --given and --birthdate, --mrn or --phone.")
    await session.ensure_connected()
    found = await session.client.search_patients(
        family=args.family,
        given=args.given,
        birth_date=birth_date,
        mrn=args.mrn,
        phone=args.phone,
    )
    if not found:
        print(NO_MATCH, file=sys.stderr if args.json else session.out)
    for patient in found:
        if args.json:
            print(json.dumps(_patient_json(patient)), file=session.out)
        else:
            print(_patient_line(patient), file=session.out)
    return EXIT_OK


def _patient_line(patient: EhrPatient) -> str:
    address = patient.address
    place = ", ".join(
        part
        for part in (
            " ".join(address.lines),
            address.city,
            f"{address.state} {address.postal_code}".strip(),
        )
        if part
    )
    born = patient.birth_date.isoformat() if patient.birth_date else "birth date unknown"
    parts = [
        f"{patient.family}, {patient.given}",
        born,
        patient.sex,
        f"MRN {patient.mrn}" if patient.mrn else "",
        place,
        patient.phone,
        patient.email,
    ]
    return " · ".join(part for part in parts if part)


def _patient_json(patient: EhrPatient) -> dict[str, Any]:
    return {
        "id": patient.id,
        "mrn": patient.mrn,
        "family": patient.family,
        "given": patient.given,
        "birth_date": patient.birth_date.isoformat() if patient.birth_date else None,
        "sex": patient.sex,
        "phone": patient.phone,
        "email": patient.email,
        "address": {
            "lines": list(patient.address.lines),
            "city": patient.address.city,
            "state": patient.address.state,
            "postal_code": patient.address.postal_code,
        },
    }


async def _schedule(session: _Session, args: argparse.Namespace) -> int:
    day = _day(args.date, "--date") or date.today()
    await session.ensure_connected()
    visits = await session.client.schedule(day)
    if not visits and not args.json:
        print(f"No appointments on {day:%A %d %B %Y}.", file=session.out)
    for visit in visits:
        if args.json:
            print(json.dumps(_visit_json(visit)), file=session.out)
        else:
            when = f"{visit.start:%H:%M}" if visit.start else "--:--"
            reason = f" — {visit.reason}" if visit.reason else ""
            name = visit.patient_name or "(no patient named)"
            print(f"{when}  {visit.status:<10} {name}{reason}", file=session.out)
    return EXIT_OK


def _visit_json(visit: ScheduledVisit) -> dict[str, Any]:
    return {
        "id": visit.id,
        "start": visit.start.isoformat() if visit.start else None,
        "status": visit.status,
        "reason": visit.reason,
        "patient_id": visit.patient_id,
        "patient_name": visit.patient_name,
    }
