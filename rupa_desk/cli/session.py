"""The command line's composition root: from `--env`/`--demo-url` to a signed-in `RupaClient`.

Every command that talks to Rupa (account, catalog) opens the same way:

    async with open_session(args) as session:
        practitioner = await session.client.me()

`open_session` builds the environment (from the options, else the saved settings), probes
the secret store (OS keychain, else "this session only"), restores the stored session and
builds one `RupaClient`; on the way out it closes both HTTP clients.
"""

from __future__ import annotations

import argparse
import webbrowser
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import keyring.backend

from rupa_desk.paths import AppPaths
from rupa_desk.services.api import RupaClient
from rupa_desk.services.auth import Authenticator, BrowserOpener, client_secret_key
from rupa_desk.services.secrets import SecretStoreChoice, probe_secret_store
from rupa_desk.settings import Environment, SettingsError, load_settings


def environment_from_args(args: argparse.Namespace, paths: AppPaths) -> Environment:
    """The environment the options name, or the one in the saved settings.

    `--env demo --demo-url URL` needs no saved settings (a bad settings file does not stop
    it); production and the Rupa sandbox take the client id and redirect ports from the saved
    settings. The clinic's managed settings apply as in the app: an environment it locked
    cannot be swapped with `--env`.

    Raises:
        SettingsError: a settings file cannot be read, `--env` names another environment
            than the clinic locked, or demo mode has no `--demo-url`.
    """
    name = getattr(args, "env", None)
    demo_url = getattr(args, "demo_url", None)
    loaded = load_settings(paths.settings_file, paths.managed_settings_file)
    if loaded.managed_problem:
        raise SettingsError(loaded.managed_problem)
    chosen = loaded.with_environment(name)
    if chosen.environment != "demo" and loaded.own_problem:
        raise SettingsError(loaded.own_problem)
    if chosen.environment == "demo" and not demo_url:
        raise SettingsError(
            "Demo mode needs the simulator's URL: pass --demo-url http://127.0.0.1:PORT "
            "(start one with rupa-desk-sandbox)."
        )
    return chosen.validated().environment_for(demo_url=demo_url)


@dataclass
class CliSession:
    """What a command needs to talk to Rupa.

    Attributes:
        environment: the backend.
        paths: the app's folders (e.g. for the account's database).
        secrets: the secret store picked at start-up and its mode.
        auth: sign-in and tokens (the session is restored if one was stored).
        client: the API client.
    """

    environment: Environment
    paths: AppPaths
    secrets: SecretStoreChoice
    auth: Authenticator
    client: RupaClient

    def command(self, name: str) -> str:
        """The command line of `rupa-desk NAME` for this environment, for hints in messages.

        Demo mode includes `--demo-url`, without which the command could not run.
        """
        options = f"--env {self.environment.name}"
        if self.environment.name == "demo":
            options += f" --demo-url {self.environment.api_base}"
        return f"rupa-desk {name} {options}"

    async def account_id(self) -> str:
        """The signed-in practitioner's id: remembered with the session, else asked of Rupa.

        Raises:
            NotSignedIn, SessionExpired, NetworkError, ...: as `RupaClient.me()`.
        """
        if self.auth.account_id is not None:
            return self.auth.account_id
        practitioner = await self.client.me()
        await self.auth.remember_account(practitioner.id)
        return practitioner.id


@asynccontextmanager
async def open_session(
    args: argparse.Namespace,
    *,
    paths: AppPaths | None = None,
    opener: BrowserOpener | None = None,
    keyring_backend: keyring.backend.KeyringBackend | None = None,
) -> AsyncIterator[CliSession]:
    """Build environment, secret store, authenticator and client for one command.

    Args:
        args: parsed options with `env` and `demo_url`.
        paths: the app's folders (default: this user's).
        opener: opens the system browser for sign-in (default `webbrowser.open`).
        keyring_backend: the keychain to probe (default: keyring's choice).

    Raises:
        SettingsError: see `environment_from_args`.
        SecretStoreUnavailable: the keychain worked at the probe but refused to be read.
    """
    paths = paths if paths is not None else AppPaths.for_user()
    environment = environment_from_args(args, paths)
    secrets = await probe_secret_store(keyring_backend)
    if environment.name != "demo":
        environment = environment.with_secret(
            await secrets.store.get(client_secret_key(environment))
        )
    auth = Authenticator(
        environment,
        secrets.store,
        opener=opener if opener is not None else webbrowser.open,
        paths=paths,
    )
    client = RupaClient(environment, auth)
    try:
        await auth.restore_session()
        yield CliSession(environment, paths, secrets, auth, client)
    finally:
        await client.aclose()
        await auth.aclose()
