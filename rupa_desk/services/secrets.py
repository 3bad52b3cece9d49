"""Where secrets live: the OS keychain when it works, otherwise memory for this session only.

Never a plaintext file: when no secure keychain is usable, `probe_secret_store` says so
("this session only") and the UI tells the user, who then signs in again next time.

Keyring calls can block (a keychain may show an unlock prompt, D-Bus may be slow), so every
call runs in a worker thread with `asyncio.to_thread`; the event loop never waits on them.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import secrets as stdlib_secrets
from dataclasses import dataclass
from typing import Final, Protocol

import keyring
import keyring.backend
import keyring.errors

from rupa_desk.services.errors import SecretStoreUnavailable

log = logging.getLogger(__name__)

#: The keyring service name under which Rupa Desk keeps its entries.
KEYRING_SERVICE: Final = "rupa-desk"

#: Keyring backends that are not a secure OS keychain: a file on disk (keyrings.alt), the
#: "no keyring" failure backend, and the null backend that silently forgets.
_INSECURE_BACKEND_MODULES: Final = (
    "keyrings.alt",
    "keyring.backends.fail",
    "keyring.backends.null",
)
#: What a keychain failure looks like: keyring's own errors, and OS errors of its transport
#: (e.g. a D-Bus socket that went away).
_KEYRING_FAILURES: Final = (keyring.errors.KeyringError, OSError)


class SecretStore(Protocol):
    """Async key/value storage for secrets (refresh tokens, an optional client secret).

    `get` returns None when there is no entry for the key (absence, not failure); a store
    that cannot work raises `SecretStoreUnavailable`.
    """

    async def get(self, key: str) -> str | None:
        """The secret stored under `key`, or None when there is none."""
        ...

    async def set(self, key: str, value: str) -> None:
        """Store `value` under `key`, replacing any previous value."""
        ...

    async def delete(self, key: str) -> None:
        """Forget `key` (no error when it was not there)."""
        ...


class MemorySecretStore:
    """Secrets in memory: they last as long as this process (\"this session only\")."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    async def get(self, key: str) -> str | None:
        """The secret under `key`, or None."""
        return self._values.get(key)

    async def set(self, key: str, value: str) -> None:
        """Keep `value` under `key`."""
        self._values[key] = value

    async def delete(self, key: str) -> None:
        """Forget `key`."""
        self._values.pop(key, None)


class KeyringSecretStore:
    """Secrets in the OS keychain through `keyring`, service "rupa-desk".

    Args:
        backend: the keyring backend to use; None means keyring's configured backend.
        service: the keyring service name (tests may use their own).
    """

    def __init__(
        self, backend: keyring.backend.KeyringBackend | None = None, service: str = KEYRING_SERVICE
    ) -> None:
        self._backend = backend if backend is not None else keyring.get_keyring()
        self._service = service

    async def get(self, key: str) -> str | None:
        """The secret under `key`, or None.

        Raises:
            SecretStoreUnavailable: the keychain refused (locked, gone, ...).
        """
        try:
            value: str | None = await asyncio.to_thread(
                self._backend.get_password, self._service, key
            )
        except _KEYRING_FAILURES as exc:
            raise _unavailable("read", exc) from exc
        return value

    async def set(self, key: str, value: str) -> None:
        """Store `value` under `key`.

        Raises:
            SecretStoreUnavailable: the keychain refused.
        """
        try:
            await asyncio.to_thread(self._backend.set_password, self._service, key, value)
        except _KEYRING_FAILURES as exc:
            raise _unavailable("store", exc) from exc

    async def delete(self, key: str) -> None:
        """Forget `key` (no error when it was not there).

        Raises:
            SecretStoreUnavailable: the keychain refused.
        """
        try:
            await asyncio.to_thread(self._backend.delete_password, self._service, key)
        except keyring.errors.PasswordDeleteError:
            return  # not there: already forgotten
        except _KEYRING_FAILURES as exc:
            raise _unavailable("delete", exc) from exc


def _unavailable(action: str, exc: Exception) -> SecretStoreUnavailable:
    log.warning("keychain could not %s a secret: %s", action, type(exc).__name__)
    return SecretStoreUnavailable()


class SecretStoreMode(enum.Enum):
    """Where the session is kept, in words for the UI."""

    KEYCHAIN = "OS keychain"
    SESSION_ONLY = "this session only"


@dataclass(frozen=True)
class SecretStoreChoice:
    """The store `probe_secret_store` picked, and why.

    Attributes:
        store: the store to use.
        mode: KEYCHAIN, or SESSION_ONLY when no secure keychain works.
        reason: for SESSION_ONLY, a sentence for the user saying why (None for KEYCHAIN).
    """

    store: SecretStore
    mode: SecretStoreMode
    reason: str | None = None


_SESSION_ONLY_REASON: Final = (
    "No system keychain is available, so Rupa Desk keeps your session for this session only: "
    "you will need to sign in again next time."
)


async def probe_secret_store(
    backend: keyring.backend.KeyringBackend | None = None, *, service: str = KEYRING_SERVICE
) -> SecretStoreChoice:
    """Pick the secret store at start-up: the OS keychain if it works, else session memory.

    The probe writes, reads back and deletes a random entry, so a backend that only pretends
    (the null backend) or is locked is found out now rather than at the first sign-in.

    Args:
        backend: the backend to probe; None means keyring's configured backend.
        service: the keyring service name.
    """
    try:
        chosen = backend if backend is not None else await asyncio.to_thread(keyring.get_keyring)
    except _KEYRING_FAILURES as exc:
        return _session_only(type(exc).__name__)
    module = type(chosen).__module__
    if module.startswith(_INSECURE_BACKEND_MODULES):
        return _session_only(f"backend {type(chosen).__name__} is not a secure keychain")
    store = KeyringSecretStore(chosen, service)
    key = f"probe-{stdlib_secrets.token_hex(8)}"
    value = stdlib_secrets.token_urlsafe(16)
    try:
        await store.set(key, value)
        try:
            read_back = await store.get(key)
        finally:
            await store.delete(key)
    except SecretStoreUnavailable:
        return _session_only(f"backend {type(chosen).__name__} refused")
    if read_back != value:
        return _session_only(f"backend {type(chosen).__name__} does not keep secrets")
    log.info("secrets are kept in the OS keychain (%s)", type(chosen).__name__)
    return SecretStoreChoice(store, SecretStoreMode.KEYCHAIN)


def _session_only(why: str) -> SecretStoreChoice:
    log.info("no usable OS keychain (%s): the session is kept in memory only", why)
    return SecretStoreChoice(
        MemorySecretStore(), SecretStoreMode.SESSION_ONLY, _SESSION_ONLY_REASON
    )
