"""The SecretStore: memory store, keyring store, and the start-up probe (with small real
keyring backends installed through keyring.set_keyring and restored after)."""

from __future__ import annotations

import threading

import keyring
import keyring.backend
import keyring.errors
import pytest
from keyring.backends import fail

from rupa_desk.services.errors import SecretStoreUnavailable
from rupa_desk.services.secrets import (
    KeyringSecretStore,
    MemorySecretStore,
    SecretStoreMode,
    probe_secret_store,
)
from tests.fixtures.fake_keyring import (
    DictKeyring,
    ForgetfulKeyring,
    LockedKeyring,
    installed_keyring,  # noqa: F401  (a fixture)
)
from tests.fixtures.file_secrets import FolderKeyring


async def test_memory_store_keeps_gets_and_forgets() -> None:
    store = MemorySecretStore()
    assert await store.get("k") is None
    await store.set("k", "v1")
    await store.set("k", "v2")
    assert await store.get("k") == "v2"
    await store.delete("k")
    await store.delete("k")  # forgetting twice is fine
    assert await store.get("k") is None


async def test_keyring_store_runs_keyring_calls_off_the_event_loop_thread() -> None:
    backend = DictKeyring()
    store = KeyringSecretStore(backend, service="rupa-desk-test")

    await store.set("session:demo", "secret")
    assert await store.get("session:demo") == "secret"
    assert backend.values == {("rupa-desk-test", "session:demo"): "secret"}
    await store.delete("session:demo")
    await store.delete("session:demo")  # PasswordDeleteError: already gone, no error
    assert backend.values == {}
    assert threading.get_ident() not in backend.threads


def test_the_fakes_are_never_picked_by_keyring_itself() -> None:
    assert not DictKeyring.viable
    assert not FolderKeyring.viable  # imported: keyring now knows the class
    picked = {type(ring) for ring in keyring.backend.get_all_keyring()}
    assert DictKeyring not in picked
    assert FolderKeyring not in picked


async def test_a_locked_keyring_raises_a_typed_error() -> None:
    store = KeyringSecretStore(LockedKeyring())
    with pytest.raises(SecretStoreUnavailable, match="keychain"):
        await store.get("k")
    with pytest.raises(SecretStoreUnavailable):
        await store.set("k", "v")
    with pytest.raises(SecretStoreUnavailable):
        await store.delete("k")


@pytest.mark.usefixtures("installed_keyring")
async def test_probe_picks_a_working_keychain_and_leaves_no_probe_entry() -> None:
    backend = DictKeyring()
    keyring.set_keyring(backend)

    choice = await probe_secret_store()

    assert choice.mode is SecretStoreMode.KEYCHAIN
    assert choice.mode.value == "OS keychain"
    assert choice.reason is None
    assert isinstance(choice.store, KeyringSecretStore)
    await choice.store.set("k", "v")
    assert backend.values == {("rupa-desk", "k"): "v"}


@pytest.mark.usefixtures("installed_keyring")
async def test_probe_without_a_keyring_falls_back_to_session_only() -> None:
    """keyring's 'fail' backend (NoKeyringError), as on a machine without one: session only."""
    keyring.set_keyring(fail.Keyring())
    choice = await probe_secret_store()
    assert choice.mode is SecretStoreMode.SESSION_ONLY
    assert choice.mode.value == "this session only"
    assert isinstance(choice.store, MemorySecretStore)
    assert choice.reason is not None
    assert "sign in again next time" in choice.reason


@pytest.mark.usefixtures("installed_keyring")
@pytest.mark.parametrize("backend_class", [LockedKeyring, ForgetfulKeyring])
async def test_probe_falls_back_to_session_only_when_the_keychain_does_not_work(
    backend_class: type[keyring.backend.KeyringBackend],
) -> None:
    keyring.set_keyring(backend_class())
    choice = await probe_secret_store()
    assert choice.mode is SecretStoreMode.SESSION_ONLY
    assert isinstance(choice.store, MemorySecretStore)


async def test_probe_refuses_keyrings_fail_backend_passed_explicitly() -> None:
    choice = await probe_secret_store(fail.Keyring())
    assert choice.mode is SecretStoreMode.SESSION_ONLY
