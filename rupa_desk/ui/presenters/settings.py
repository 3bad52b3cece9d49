"""Saving the Settings dialog: the settings file and the optional client secret (keyring)."""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, Signal

from rupa_desk.core.validation import PortListError, parse_port_list
from rupa_desk.settings import EnvironmentName, SettingsError, UserSettings


def client_secret_key(environment: EnvironmentName) -> str:
    """The SecretStore key of an environment's OAuth client secret."""
    return f"client-secret/{environment}"


class SecretKeeper(Protocol):
    """What the Settings dialog needs of the SecretStore (blocking calls: run in a thread)."""

    def get(self, key: str) -> str | None:
        """The stored value, or None when nothing is stored under `key`."""

    def set(self, key: str, value: str) -> None:
        """Store `value` under `key`."""

    def delete(self, key: str) -> None:
        """Forget `key` (no error when nothing is stored)."""


class SecretChange(enum.Enum):
    """What to do with the stored client secret."""

    KEEP = "keep"
    REPLACE = "replace"
    REMOVE = "remove"


@dataclass(frozen=True)
class SecretEdit:
    """The client secret part of the dialog: keep it, replace it with `value`, or remove it."""

    change: SecretChange = SecretChange.KEEP
    value: str = ""


@dataclass(frozen=True)
class SettingsForm:
    """The Settings dialog's fields as typed."""

    environment: EnvironmentName
    client_id: str
    sandbox_authorize_url: str
    redirect_ports: str
    poll_interval_s: int
    secret: SecretEdit = SecretEdit()


class SettingsPresenter(QObject):
    """Loads and saves user settings and the client secret.

    Args:
        settings_file: where the settings JSON lives (`AppPaths.settings_file`).
        secrets: the SecretStore (OS keyring or session memory).
        current: the settings in use.
        secret_storage: "OS keychain" or "this session only", to say where a secret goes.

    Signals:
        saved(UserSettings): the settings were validated and saved.
        save_failed(str): a value is not acceptable or could not be saved; nothing changed.
    """

    saved = Signal(object)
    save_failed = Signal(str)

    def __init__(
        self,
        settings_file: Path,
        secrets: SecretKeeper,
        current: UserSettings,
        *,
        secret_storage: str,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._settings_file = settings_file
        self._secrets = secrets
        self._current = current
        self.secret_storage = secret_storage

    @property
    def current(self) -> UserSettings:
        """The settings as last saved (or loaded at start-up)."""
        return self._current

    async def has_client_secret(self, environment: EnvironmentName) -> bool:
        """True when a client secret is stored for `environment`."""
        key = client_secret_key(environment)
        value = await asyncio.to_thread(self._secrets.get, key)
        return bool(value)

    async def save(self, form: SettingsForm) -> bool:
        """Check and save the form; emits `saved`, or `save_failed` with what is wrong.

        Returns:
            True when the settings were saved.
        """
        try:
            settings = UserSettings(
                environment=form.environment,
                client_id=form.client_id.strip(),
                sandbox_authorize_url=form.sandbox_authorize_url.strip(),
                redirect_ports=parse_port_list(form.redirect_ports),
                poll_interval_s=form.poll_interval_s,
            )
            saved = await self.save_settings(settings, form.secret)
        except (SettingsError, PortListError) as exc:
            self.save_failed.emit(str(exc))
            return False
        except OSError as exc:
            self.save_failed.emit(f"The settings could not be saved: {exc}")
            return False
        self.saved.emit(saved)
        return True

    async def save_settings(self, settings: UserSettings, secret: SecretEdit) -> UserSettings:
        """Validate and save `settings`, then store or remove the client secret.

        Raises:
            SettingsError: a value is not acceptable (nothing is saved).
            OSError: the settings file or the secret could not be written.
        """
        settings = settings.validated()
        await asyncio.to_thread(settings.save, self._settings_file)
        self._current = settings
        key = client_secret_key(settings.environment)
        if secret.change is SecretChange.REPLACE and secret.value.strip():
            await asyncio.to_thread(self._secrets.set, key, secret.value.strip())
        elif secret.change is SecretChange.REMOVE:
            await asyncio.to_thread(self._secrets.delete, key)
        return settings
