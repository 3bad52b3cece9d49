"""`rupa-desk signin | whoami | signout`: the account commands for admins and diagnostics.

    rupa-desk signin  --env demo --demo-url http://127.0.0.1:8765
    rupa-desk whoami  [--env ENV] [--demo-url URL]
    rupa-desk signout [--env ENV] [--demo-url URL]

Exit codes: see `rupa_desk.cli.exit_codes`.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from rupa_desk.cli.exit_codes import EXIT_OK, run_command
from rupa_desk.cli.session import CliSession, open_session
from rupa_desk.core.models import Practitioner
from rupa_desk.paths import AppPaths
from rupa_desk.services.auth import BrowserOpener, PendingSignIn
from rupa_desk.services.errors import NotSignedIn
from rupa_desk.services.secrets import SecretStoreMode
from rupa_desk.settings import SettingsError


def run(
    args: argparse.Namespace,
    *,
    paths: AppPaths | None = None,
    opener: BrowserOpener | None = None,
    out: TextIO | None = None,
) -> int:
    """Run `signin`, `whoami` or `signout` (`args.command`); returns the exit code.

    Args:
        args: the parsed command line.
        paths: the app's folders (default: this user's).
        opener: opens the system browser (default `webbrowser.open`; tests pass theirs).
        out: where to print (default stdout); errors go to stderr.
    """
    stdout = out if out is not None else sys.stdout
    return run_command(lambda: _run(args, paths, opener, stdout))


async def _run(
    args: argparse.Namespace, paths: AppPaths | None, opener: BrowserOpener | None, out: TextIO
) -> int:
    async with open_session(args, paths=paths, opener=opener) as session:
        if args.command == "signin":
            return await _sign_in(session, out)
        if args.command == "whoami":
            return await _who_am_i(session, out)
        if args.command == "signout":
            return await _sign_out(session, out)
    raise SettingsError(f"Unknown account command {args.command!r}.")


async def _sign_in(session: CliSession, out: TextIO) -> int:
    env = session.environment
    if session.secrets.mode is SecretStoreMode.SESSION_ONLY:
        print(f"Note: {session.secrets.reason}", file=sys.stderr)

    def show_waiting(pending: PendingSignIn) -> None:
        if pending.browser_opened:
            print(f"Sign in to Rupa ({env.label}) in the browser window that opened.", file=out)
        else:
            print("No browser could be opened. Open this link in a browser to sign in:", file=out)
            print(f"  {pending.authorize_url}", file=out)
        print("Waiting… (Ctrl+C cancels)", file=out, flush=True)

    await session.auth.sign_in(on_waiting=show_waiting)
    practitioner = await session.client.me()
    await session.auth.remember_account(practitioner.id)
    print(f"Signed in to {env.label} as {_who(practitioner)}.", file=out)
    print(f"The session is kept in: {_kept_in(session)}.", file=out)
    return EXIT_OK


async def _who_am_i(session: CliSession, out: TextIO) -> int:
    if not session.auth.has_session:
        raise NotSignedIn(f"You are not signed in. Run `{session.command('signin')}` first.")
    practitioner = await session.client.me()
    if session.auth.account_id != practitioner.id:
        await session.auth.remember_account(practitioner.id)
    print(_who(practitioner), file=out)
    print(f"Email: {practitioner.email}", file=out)
    print(f"Practitioner id: {practitioner.id}", file=out)
    print(f"Environment: {session.environment.label} ({session.environment.api_base})", file=out)
    print(f"Session kept in: {_kept_in(session)}", file=out)
    return EXIT_OK


async def _sign_out(session: CliSession, out: TextIO) -> int:
    result = await session.auth.sign_out()
    if not result.had_session:
        print(f"You were not signed in to {session.environment.label}.", file=out)
    elif result.revoked:
        print("Signed out: Rupa revoked the session and this computer forgot it.", file=out)
    else:
        print(
            "Signed out on this computer. Rupa could not be reached to revoke the session; "
            "it ends when it expires.",
            file=out,
        )
    return EXIT_OK


def _who(practitioner: Practitioner) -> str:
    clinic = practitioner.clinic.name if practitioner.clinic else None
    name = practitioner.titled_full_name
    return f"{name}, {clinic}" if clinic else name


def _kept_in(session: CliSession) -> str:
    if session.auth.store_degraded:
        return SecretStoreMode.SESSION_ONLY.value
    return session.secrets.mode.value
