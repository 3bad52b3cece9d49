"""Saving the Settings dialog: the settings file and the optional client secret (keyring)."""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from rupa_desk.core.validation import PortListError, parse_port_list
from rupa_desk.services.auth import client_secret_key
from rupa_desk.services.errors import SecretStoreUnavailable
from rupa_desk.services.secrets import SecretStore
from rupa_desk.settings import (
    DEFAULT_EPIC_SCOPES,
    Appearance,
    Environment,
    EnvironmentName,
    ManagedSettings,
    SettingsError,
    UserSettings,
)


def secret_environment(settings: UserSettings) -> Environment | None:
    """The environment whose client secret these settings edit (None for demo: no secret)."""
    if settings.environment == "demo":
        return None
    return settings.environment_for()


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
    idle_lock_minutes: int = 10
    preferred_labs: tuple[str, ...] = ()
    #: Epic's connection (optional): FHIR base, client id, scopes; None keeps the saved value
    epic: tuple[str, str, str] | None = None
    #: File results to Epic automatically; None keeps the saved value
    epic_auto_file: bool | None = None
    #: Light, dark or as the system is set; None keeps the saved value.
    appearance: Appearance | None = None


class SettingsPresenter(QObject):
    """Loads and saves user settings and the client secret.

    Args:
        settings_file: where the settings JSON lives (`AppPaths.settings_file`).
        secrets: the SecretStore (OS keyring or session memory).
        current: the settings in use.
        secret_storage: "OS keychain" or "this session only", to say where a secret goes.
        managed: the clinic's locked settings; a save that would change one is refused.

    Signals:
        saved(UserSettings, bool): the settings were validated and saved; True when the client
            secret was replaced or removed too.
        save_failed(str): a value is not acceptable or could not be saved; nothing changed.
    """

    saved = Signal(object, bool)
    save_failed = Signal(str)

    def __init__(
        self,
        settings_file: Path,
        secrets: SecretStore,
        current: UserSettings,
        *,
        secret_storage: str,
        managed: ManagedSettings | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._settings_file = settings_file
        self._secrets = secrets
        self.managed = managed or ManagedSettings()
        self._current = self.managed.apply(current)
        self.secret_storage = secret_storage

    @property
    def current(self) -> UserSettings:
        """The settings as last saved (or loaded at start-up)."""
        return self._current

    async def has_client_secret(self, settings: UserSettings) -> bool:
        """True when a client secret is stored for the environment `settings` select."""
        environment = secret_environment(settings)
        if environment is None:
            return False
        return bool(await self._secrets.get(client_secret_key(environment)))

    async def save(self, form: SettingsForm) -> bool:
        """Check and save the form; emits `saved`, or `save_failed` with what is wrong.

        Returns:
            True when the settings were saved.
        """
        try:
            settings = replace(  # keeps what the form does not show (Epic's settings)
                self._current,
                environment=form.environment,
                client_id=form.client_id.strip(),
                sandbox_authorize_url=form.sandbox_authorize_url.strip(),
                redirect_ports=parse_port_list(form.redirect_ports),
                poll_interval_s=form.poll_interval_s,
                idle_lock_minutes=form.idle_lock_minutes,
                preferred_labs=form.preferred_labs,
            )
            if form.appearance is not None:
                settings = replace(settings, appearance=form.appearance)
            if form.epic is not None:
                base, client_id, scopes = (value.strip() for value in form.epic)
                settings = replace(
                    settings,
                    epic_fhir_base=base,
                    epic_client_id=client_id,
                    epic_scopes=" ".join(scopes.split()) or DEFAULT_EPIC_SCOPES,
                )
            if form.epic_auto_file is not None:
                settings = replace(settings, epic_auto_file=form.epic_auto_file)
            saved = await self.save_settings(settings, form.secret)
        except (SettingsError, PortListError) as exc:
            self.save_failed.emit(exc.user_message)
            return False
        except SecretStoreUnavailable as exc:
            self.save_failed.emit(
                f"The settings were saved, but not the client secret. {exc.user_message}"
            )
            return False
        except OSError as exc:
            self.save_failed.emit(f"The settings could not be saved: {exc}")
            return False
        secret_changed = (
            secret_environment(saved) is not None and form.secret.change is not SecretChange.KEEP
        )
        self.saved.emit(saved, secret_changed)
        return True

    async def save_settings(self, settings: UserSettings, secret: SecretEdit) -> UserSettings:
        """Validate and save `settings`, then store or remove the client secret.

        Raises:
            SettingsError: a value is not acceptable or changes a value the clinic locked
                (nothing is saved).
            OSError: the settings file could not be written.
            SecretStoreUnavailable: the keychain refused the secret (the settings are saved).
        """
        changed = self.managed.changed_locked(settings)
        if changed:
            raise SettingsError(
                f"{', '.join(changed)}: set by your clinic, so it cannot be changed here. "
                "Ask your clinic's IT if it needs to change."
            )
        settings = settings.validated()
        await asyncio.to_thread(settings.save, self._settings_file)
        self._current = settings
        environment = secret_environment(settings)
        if environment is None:
            return settings
        key = client_secret_key(environment)
        if secret.change is SecretChange.REPLACE and secret.value.strip():
            await self._secrets.set(key, secret.value.strip())
        elif secret.change is SecretChange.REMOVE:
            await self._secrets.delete(key)
        return settings
