"""Environments (production, Rupa sandbox, demo), API paths and limits, and user settings.

Every host, path, page size and rate limit of the Rupa API lives here and nowhere else
(RUPA_API.md, "Client rules"). Values tagged [A] in RUPA_API.md are our assumptions: change
them here when Rupa confirms otherwise.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal, get_origin, get_type_hints
from urllib.parse import urlsplit

from rupa_desk.core.checkout_navigation import is_loopback_host
from rupa_desk.core.errors import KnownError

log = logging.getLogger(__name__)

EnvironmentName = Literal["production", "sandbox", "demo"]
ENVIRONMENT_NAMES: Final[tuple[EnvironmentName, ...]] = ("production", "sandbox", "demo")
#: How the app looks: as the operating system is set (light or dark), or always one of them.
Appearance = Literal["system", "light", "dark"]
APPEARANCES: Final[tuple[Appearance, ...]] = ("system", "light", "dark")
APPEARANCE_LABELS: Final[dict[Appearance, str]] = {
    "system": "Follow the system",
    "light": "Light",
    "dark": "Dark",
}
ENVIRONMENT_LABELS: Final[dict[str, str]] = {
    "production": "Production",
    "sandbox": "Rupa sandbox",
    "demo": "Demo",
}

#: The client id the built-in simulator registers for demo mode (a public client, no secret).
DEMO_CLIENT_ID: Final = "rupa-desk-demo"
#: The demo practitioner the simulator seeds (demo mode only; never a real account).
DEMO_LOGIN_EMAIL: Final = "demo@rupa-desk.test"
DEMO_LOGIN_PASSWORD: Final = "demo"


@dataclass(frozen=True)
class ApiPaths:
    """Paths of the Rupa API below the API base URL (RUPA_API.md, "Endpoints"; mostly [A])."""

    practitioner_me: str = "/practitioners/me"
    practitioners: str = "/practitioners"
    patients: str = "/patients"
    lab_companies: str = "/lab_companies"
    lab_tests: str = "/lab_tests"
    order_intents: str = "/order_intents"
    orders: str = "/orders"
    # Query parameter names (JSON:API conventions; [A] unless RUPA_API.md says [C]).
    page_size_param: str = "page[size]"
    include_param: str = "include"
    filter_email: str = "filter[email]"
    filter_lab_company: str = "filter[lab_company]"
    filter_patient: str = "filter[patient]"
    filter_status: str = "filter[status]"
    filter_practitioner: str = "filter[practitioner]"
    #: Our extra endpoint (README, TEAM.md): the practitioner's order intents whose
    #: metadata holds this draft id; the outbox resolves a create that timed out with it.
    filter_order_intent_draft_id: str = "filter[metadata.draft_id]"
    #: The metadata key under which Rupa Desk puts its draft id on an order intent.
    draft_id_metadata_key: str = "draft_id"


@dataclass(frozen=True)
class ClientLimits:
    """How the client paces, pages, times out and retries (RUPA_API.md "Rate limit", "Pagination").

    The rate limiter is a leaky bucket of `burst` requests draining at `rate_per_second`.
    The server allows 20 requests/s with bursts of 40 per access token (a token bucket), so
    a client bucket of 20 at 20/s can never exceed it: in any window of T seconds the client
    sends at most 20 + 20·T requests where the server accepts 40 + 20·T.

    Attributes:
        page_size: the page size the client asks for when the caller does not say.
        max_page_size: the largest page size the server accepts.
        rate_per_second: the sustained request rate of one client (all its requests).
        burst: how many requests may leave at once after a quiet spell.
        connect_timeout_s, read_timeout_s, write_timeout_s, pool_timeout_s: httpx timeouts.
        max_attempts: attempts per request after 5xx or network errors, when a retry is safe
            (first try included).
        max_rate_limited_attempts: attempts per request while Rupa answers 429.
        retry_timeout_s: give up retrying after this long (the last error is raised).
        backoff_initial_s, backoff_max_s, backoff_jitter_s: exponential backoff with jitter.
        retry_after_default_s: the wait after a 429 without a usable `Retry-After`.
        retry_after_max_s: never wait longer than this for one `Retry-After`.
        token_refresh_leeway_s: refresh the access token this long before it expires (at
            most a quarter of its lifetime).
        token_lifetime_default_s: the access token lifetime assumed when the token endpoint
            gives no usable `expires_in` (missing, zero, negative, not a number).
        token_lifetime_min_s, token_lifetime_max_s: an `expires_in` outside these bounds is
            taken as the nearer bound, so an absurd value neither makes every request
            refresh first nor keeps a token far longer than any server would.
        session_lock_timeout_s: how long to wait for another Rupa Desk process that is
            refreshing the same session (it holds the session lock file meanwhile).
        session_lock_poll_s: how often to look whether that process is done.
        sign_in_timeout_s: how long sign-in waits for the browser to come back.
        callback_response_timeout_s: how long the loopback page waits for the outcome.
        download_chunk_bytes: the chunk size of streamed downloads.
        max_download_bytes: a larger download is stopped (a result PDF is far smaller).
        max_concurrent_pages: how many pages a sync may fetch at once (within the rate).
        max_pages_per_list: a chain of next links is stopped after this many pages, whatever
            the list's counts say (a server that never stops sending next links).
    """

    page_size: int = 50
    max_page_size: int = 100
    rate_per_second: float = 20.0
    burst: int = 20
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 30.0
    write_timeout_s: float = 30.0
    pool_timeout_s: float = 10.0
    max_attempts: int = 5
    max_rate_limited_attempts: int = 20
    retry_timeout_s: float = 120.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    backoff_jitter_s: float = 0.5
    retry_after_default_s: float = 1.0
    retry_after_max_s: float = 60.0
    token_refresh_leeway_s: float = 60.0
    token_lifetime_default_s: float = 3600.0
    token_lifetime_min_s: float = 1.0
    token_lifetime_max_s: float = 30 * 24 * 3600.0
    session_lock_timeout_s: float = 180.0
    session_lock_poll_s: float = 0.05
    sign_in_timeout_s: float = 300.0
    callback_response_timeout_s: float = 30.0
    download_chunk_bytes: int = 64 * 1024
    max_download_bytes: int = 100 * 1_000_000
    max_concurrent_pages: int = 8
    max_pages_per_list: int = 2_000

    def access_token_use_s(self, expires_in: float | None) -> float:
        """How long to use a new access token: its lifetime (`expires_in` within sane bounds,
        the default when the server gave none) minus the refresh leeway (at most a quarter
        of it). One rule for Rupa's tokens and Epic's."""
        lifetime = expires_in or self.token_lifetime_default_s
        lifetime = min(max(lifetime, self.token_lifetime_min_s), self.token_lifetime_max_s)
        return lifetime - min(self.token_refresh_leeway_s, lifetime / 4)


@dataclass(frozen=True)
class Environment:
    """One Rupa backend: where to sign in and where the API lives.

    Attributes:
        name: "production", "sandbox" (Rupa's sandbox) or "demo" (the built-in simulator).
        authorize_url: the browser page that asks the practitioner to sign in and consent.
        token_url: the token endpoint (code exchange, refresh).
        revoke_url: the revocation endpoint (sign-out).
        api_base: the JSON:API base URL.
        client_id: the OAuth client id Rupa issued.
        client_secret: optional; a desktop app cannot keep a secret (RFC 8252 §8.5), so it is
            loaded from the keyring at start-up and never written to settings or the repo.
        redirect_host: the loopback host of the redirect URI.
        redirect_path: the path of the redirect URI; the listener answers only this path.
        redirect_ports: pre-registered ports to try in order; empty means "any free port".
        scope: the OAuth scope to ask for, if any (none is documented).
        issuer: the authorization server's issuer identifier (RFC 8414). A sign-in answer
            that names another issuer (`iss`, RFC 9207) is refused: it comes from a mix-up
            of servers. None: not known, so `iss` cannot be checked.
    """

    name: EnvironmentName
    authorize_url: str
    token_url: str
    revoke_url: str
    api_base: str
    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    redirect_host: str = "127.0.0.1"
    redirect_path: str = "/oauth/callback"
    redirect_ports: tuple[int, ...] = ()
    scope: str | None = None
    issuer: str | None = None
    paths: ApiPaths = field(default_factory=ApiPaths)
    limits: ClientLimits = field(default_factory=ClientLimits)

    @property
    def label(self) -> str:
        """The name shown to users: Production, Rupa sandbox or Demo."""
        return ENVIRONMENT_LABELS[self.name]

    @property
    def checkout_origins(self) -> tuple[str, ...]:
        """The web origins of Rupa's web app and API: where a checkout page may be.

        Rupa serves `checkout_url` from its web app (where the practitioner signs in, the
        origin of `authorize_url`) [A]; the API's origin is Rupa's too, and the simulator
        serves both from one. The embedded checkout opens nothing else
        (`rupa_desk.core.checkout_navigation`).
        """
        origins = (_origin(self.authorize_url), _origin(self.api_base))
        return tuple(dict.fromkeys(origins))

    def with_secret(self, client_secret: str | None) -> Environment:
        return replace(self, client_secret=client_secret or None)


def issuer_of(authorize_url: str) -> str:
    """The issuer identifier assumed for an authorization server: its authorize page's origin.

    [A] Rupa publishes no authorization server metadata (RFC 8414). A Django OAuth Toolkit
    server that sends `iss` (RFC 9207) derives it from the host of the request, i.e. of the
    authorize page. Change it here when Rupa publishes its issuer.
    """
    return _origin(authorize_url)


def _origin(url: str) -> str:
    """scheme://host[:port] of a URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def production(client_id: str, *, redirect_ports: tuple[int, ...] = ()) -> Environment:
    """Rupa's production environment (hosts [C], revoke path and issuer [A])."""
    authorize_url = "https://labs.rupahealth.com/oauth/authorize"
    return Environment(
        name="production",
        authorize_url=authorize_url,
        token_url="https://api.rupahealth.com/oauth/token",
        revoke_url="https://api.rupahealth.com/oauth/revoke_token",
        api_base="https://api.rupahealth.com",
        client_id=client_id,
        redirect_ports=redirect_ports,
        issuer=issuer_of(authorize_url),
    )


def rupa_sandbox(
    client_id: str,
    *,
    authorize_url: str = "https://labs-sandbox.rupahealth.com/oauth/authorize",
    redirect_ports: tuple[int, ...] = (),
) -> Environment:
    """Rupa's sandbox environment (API host [C]; authorize page configurable [A])."""
    return Environment(
        name="sandbox",
        authorize_url=authorize_url,
        token_url="https://api-sandbox.rupahealth.com/oauth/token",
        revoke_url="https://api-sandbox.rupahealth.com/oauth/revoke_token",
        api_base="https://api-sandbox.rupahealth.com",
        client_id=client_id,
        redirect_ports=redirect_ports,
        issuer=issuer_of(authorize_url),
    )


def demo(base_url: str, *, client_id: str = DEMO_CLIENT_ID) -> Environment:
    """The built-in simulator at `base_url` (e.g. http://127.0.0.1:8765); its issuer is
    its base URL."""
    base = base_url.rstrip("/")
    return Environment(
        name="demo",
        authorize_url=f"{base}/oauth/authorize",
        token_url=f"{base}/oauth/token",
        revoke_url=f"{base}/oauth/revoke_token",
        api_base=base,
        client_id=client_id,
        issuer=base,
    )


class SettingsError(KnownError):
    """The settings file or a settings value is not usable."""


#: The scopes Rupa Desk asks Epic for unless the settings name others (issue 16).
DEFAULT_EPIC_SCOPES: Final = (
    "openid fhirUser user/Patient.read user/Appointment.read user/DocumentReference.read "
    "user/DocumentReference.write"
)
#: The loopback path of Epic's answers: not Rupa's, so that an answer from one sign-in server
#: can never be taken for the other's (a mix-up defence, RFC 9700 §4.4.2).
EPIC_REDIRECT_PATH: Final = "/oauth/epic/callback"


@dataclass(frozen=True)
class EpicSettings:
    """The connection to an Epic organisation's FHIR API (SMART on FHIR, standalone launch).

    Attributes:
        fhir_base: the FHIR R4 base URL (also the `aud` of the sign-in).
        client_id: the client id the app has with that organisation.
        scope: the SMART scopes to ask for.
        redirect_host, redirect_path, redirect_ports: the loopback redirect URI.
    """

    fhir_base: str
    client_id: str
    scope: str = DEFAULT_EPIC_SCOPES
    redirect_host: str = "127.0.0.1"
    redirect_path: str = EPIC_REDIRECT_PATH
    redirect_ports: tuple[int, ...] = ()
    limits: ClientLimits = field(default_factory=ClientLimits)


def check_fhir_base(url: str) -> None:
    """Raise `SettingsError` unless `url` is an https URL (plain http only to this computer).

    A FHIR base receives bearer tokens for patient data: never over plain http on a network.
    """
    parts = urlsplit(url)
    loopback = is_loopback_host(parts.hostname or "")
    if not parts.hostname or not (parts.scheme == "https" or (parts.scheme == "http" and loopback)):
        raise SettingsError(
            "The Epic FHIR address must start with https:// (for example "
            "https://fhir.epic.com/interconnect-fhir-oauth/api/FHIR/R4)."
        )


@dataclass(frozen=True)
class UserSettings:
    """What the user chooses in the Settings dialog; stored as JSON in the config folder.

    The client secret is deliberately not here: it lives in the keyring.
    """

    environment: EnvironmentName = "demo"
    client_id: str = ""
    sandbox_authorize_url: str = "https://labs-sandbox.rupahealth.com/oauth/authorize"
    redirect_ports: tuple[int, ...] = ()
    poll_interval_s: int = 60
    idle_lock_minutes: int = 10
    #: The clinic's preferred lab companies, by name: first among a test's labs in search.
    preferred_labs: tuple[str, ...] = ()
    #: Epic (optional): "" when this desk does not connect to Epic.
    epic_fhir_base: str = ""
    epic_client_id: str = ""
    epic_scopes: str = DEFAULT_EPIC_SCOPES
    #: File each result PDF of a patient linked to Epic to her chart as it arrives.
    epic_auto_file: bool = False
    #: Light or dark, or as the operating system is set.
    appearance: Appearance = "system"

    def validated(self) -> UserSettings:
        """Return self, or raise `SettingsError` naming the first bad value."""
        _check_range("environment", self.environment)
        if self.environment != "demo" and not self.client_id.strip():
            raise SettingsError("A client id is needed for Rupa's production or sandbox.")
        _check_range("redirect_ports", self.redirect_ports)
        _check_range("poll_interval_s", self.poll_interval_s)
        _check_range("idle_lock_minutes", self.idle_lock_minutes)
        _check_range("preferred_labs", self.preferred_labs)
        _check_range("appearance", self.appearance)
        if self.epic_fhir_base.strip():
            check_fhir_base(self.epic_fhir_base.strip())
            if not self.epic_client_id.strip():
                raise SettingsError("Epic needs a client id beside its FHIR address.")
        return self

    def epic(self) -> EpicSettings | None:
        """The Epic connection these settings describe; None when Epic is not set up."""
        base = self.epic_fhir_base.strip().rstrip("/")
        if not base or not self.epic_client_id.strip():
            return None
        return EpicSettings(
            base,
            self.epic_client_id.strip(),
            " ".join(self.epic_scopes.split()) or DEFAULT_EPIC_SCOPES,
            redirect_ports=self.redirect_ports,
        )

    def environment_for(self, *, demo_url: str | None = None) -> Environment:
        """The environment these settings select (demo needs the simulator's URL)."""
        if self.environment == "production":
            return production(self.client_id, redirect_ports=self.redirect_ports)
        if self.environment == "sandbox":
            return rupa_sandbox(
                self.client_id,
                authorize_url=self.sandbox_authorize_url,
                redirect_ports=self.redirect_ports,
            )
        if demo_url is None:
            raise SettingsError("Demo mode needs the simulator's URL.")
        return demo(demo_url)

    @classmethod
    def load(cls, path: Path) -> UserSettings:
        """Read settings; a missing file gives the defaults.

        Unknown keys are ignored (a newer version's settings); every known value is checked
        for its type and range, since the file may have been edited by hand.

        Raises:
            SettingsError: the file is unreadable, not a JSON object, or holds a value of the
                wrong type or out of range; the message names the file and the value.
        """
        raw = _json_object(path, f"the settings file {path}", "")
        if raw is None:
            return cls()
        try:
            values = {
                name: _typed_value(name, value)
                for name, value in raw.items()
                if name in cls.__dataclass_fields__
            }
            return cls(**values).validated()
        except SettingsError as exc:
            raise SettingsError(
                f"The settings file {path} has a bad value: {exc} Correct it, or delete the "
                "file to use the defaults."
            ) from exc

    def save(self, path: Path) -> None:
        """Write settings atomically (a crash never leaves half a file)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        data = asdict(self)
        data["redirect_ports"] = list(self.redirect_ports)
        data["preferred_labs"] = list(self.preferred_labs)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".settings-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


#: The least and most idle minutes before the desk locks itself.
IDLE_LOCK_MINUTES_RANGE: Final = (1, 480)
#: The most preferred labs, and the longest name of one (a lab company's name).
MAX_PREFERRED_LABS: Final = 50
MAX_LAB_NAME_CHARS: Final = 200


def _check_range(name: str, value: Any) -> None:
    """Raise `SettingsError` when a typed `UserSettings` value is out of its range."""
    if name == "environment" and value not in ENVIRONMENT_NAMES:
        raise SettingsError(f"Unknown environment {value!r}.")
    if name == "redirect_ports":
        for port in value:
            if not 1 <= port <= 65535:
                raise SettingsError(f"Redirect port {port} is not between 1 and 65535.")
    if name == "appearance" and value not in APPEARANCES:
        choices = ", ".join(f'"{a}"' for a in APPEARANCES)
        raise SettingsError(f"The appearance must be one of {choices}, not {_shown(value)}.")
    if name == "poll_interval_s" and not 10 <= value <= 3600:
        raise SettingsError("The polling interval must be between 10 and 3600 seconds.")
    low, high = IDLE_LOCK_MINUTES_RANGE
    if name == "idle_lock_minutes" and not low <= value <= high:
        raise SettingsError(f"The idle lock must be between {low} and {high} minutes.")
    if name == "preferred_labs":
        if len(value) > MAX_PREFERRED_LABS:
            raise SettingsError(f"At most {MAX_PREFERRED_LABS} preferred labs can be set.")
        for lab in value:
            if not lab.strip() or len(lab) > MAX_LAB_NAME_CHARS:
                raise SettingsError(
                    f"A preferred lab must be a lab company's name, not {_shown(lab)}."
                )


#: The settings the clinic's managed file may preset; each one it holds is locked.
LOCKABLE_SETTINGS: Final = (
    "environment",
    "client_id",
    "redirect_ports",
    "idle_lock_minutes",
    "preferred_labs",
    "epic_fhir_base",
    "epic_client_id",
    "epic_scopes",
    "epic_auto_file",
    "appearance",
)
#: How each lockable setting is named to the user ("set by your clinic").
SETTING_LABELS: Final[dict[str, str]] = {
    "environment": "Environment",
    "client_id": "Client id",
    "redirect_ports": "Redirect ports",
    "idle_lock_minutes": "Lock after idle minutes",
    "preferred_labs": "Preferred labs",
    "epic_fhir_base": "Epic FHIR address",
    "epic_client_id": "Epic client id",
    "epic_scopes": "Epic scopes",
    "epic_auto_file": "File results to Epic automatically",
    "appearance": "Appearance",
}


@dataclass(frozen=True)
class ManagedSettings:
    """The machine-wide settings the clinic's IT put in `AppPaths.managed_settings_file`.

    Every value the file holds wins over the user's own settings and cannot be changed in
    the Settings dialog. An empty instance (no file) locks nothing.

    Attributes:
        locked: the preset values by `UserSettings` field name (names in LOCKABLE_SETTINGS).
        shared_pc: this PC is shared by several people: sign-out offers to remove the patient
            data by default.
    """

    locked: MappingProxyType[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    shared_pc: bool = False

    def is_locked(self, name: str) -> bool:
        return name in self.locked

    def apply(self, settings: UserSettings) -> UserSettings:
        """`settings` with the locked values put in."""
        return replace(settings, **self.locked)

    def changed_locked(self, settings: UserSettings) -> list[str]:
        """The locked settings (their labels) that `settings` would change."""
        return [
            SETTING_LABELS[name]
            for name, value in self.locked.items()
            if getattr(settings, name) != value
        ]

    @classmethod
    def load(cls, path: Path) -> ManagedSettings:
        """Read the managed file; a missing file locks nothing.

        Unknown keys are logged and ignored (a newer version's file); every known value is
        checked, since IT writes the file by hand.

        Raises:
            SettingsError: the file is unreadable, not a JSON object, or holds a value of the
                wrong type or out of range; the message names the file and the value.
        """
        raw = _json_object(path, f"the settings file {path} set by your clinic", _MANAGED_IGNORED)
        if raw is None:
            return cls()
        locked: dict[str, Any] = {}
        shared_pc = False
        try:
            for name, value in raw.items():
                if name == "shared_pc":
                    if not isinstance(value, bool):
                        raise SettingsError(
                            f'"shared_pc" must be true or false, not {_shown(value)}.'
                        )
                    shared_pc = value
                elif name in LOCKABLE_SETTINGS:
                    locked[name] = _managed_value(name, value)
                else:
                    log.warning("The managed settings file %s: unknown key %r ignored", path, name)
        except SettingsError as exc:
            raise SettingsError(
                f"The settings file {path} set by your clinic has a bad value: {exc}"
                f"{_MANAGED_IGNORED}"
            ) from exc
        return cls(locked=MappingProxyType(locked), shared_pc=shared_pc)


_MANAGED_IGNORED: Final = (
    " Rupa Desk ignores that file and uses this computer's own settings until your clinic's "
    "IT corrects it."
)


def _managed_value(name: str, value: Any) -> Any:
    """A value of the managed file: its type, its range, and no empty client id."""
    if name == "environment" and isinstance(value, str) and value not in ENVIRONMENT_NAMES:
        choices = ", ".join(f'"{n}"' for n in ENVIRONMENT_NAMES)
        raise SettingsError(f'"environment" must be one of {choices}, not {_shown(value)}.')
    typed = _typed_value(name, value)
    if name == "client_id" and not typed.strip():
        raise SettingsError('"client_id" must not be empty.')
    if name == "epic_fhir_base" and typed.strip():
        check_fhir_base(typed.strip())
    _check_range(name, typed)
    return typed


@dataclass(frozen=True)
class LoadedSettings:
    """The settings in use, and what went wrong reading them (`load_settings`).

    Attributes:
        settings: the user's settings with the clinic's locked values put in.
        managed: the clinic's managed settings (empty when the file is missing or bad).
        managed_problem: why the managed file was left out ("" when it was not), naming the
            file and the bad value.
        own_problem: likewise for the user's settings file (the defaults stood in).
    """

    settings: UserSettings
    managed: ManagedSettings
    managed_problem: str = ""
    own_problem: str = ""

    @property
    def problems(self) -> tuple[str, ...]:
        """One message per unusable file."""
        return tuple(p for p in (self.managed_problem, self.own_problem) if p)

    def with_environment(self, name: str | None) -> UserSettings:
        """The settings for the environment a command line names (None: the one in use).

        Raises:
            SettingsError: the clinic locked another environment.
        """
        locked = self.managed.locked.get("environment")
        if name is None or name == self.settings.environment:
            return self.settings
        if locked is not None:
            raise SettingsError(
                f"Your clinic set this computer to use {ENVIRONMENT_LABELS[locked]}: "
                f"--env {name} cannot be used here."
            )
        return replace(self.settings, environment=name)  # type: ignore[arg-type]  # validated


def load_settings(settings_file: Path, managed_file: Path) -> LoadedSettings:
    """The settings in use: the user's file under the clinic's managed file.

    The one way the app and the command line read settings, so both honour the locks. A bad
    file never stops the caller: it is left out (the defaults stand in for a bad user file)
    and said in `problems`, which are logged here.
    """
    managed_problem = own_problem = ""
    try:
        managed = ManagedSettings.load(managed_file)
    except SettingsError as exc:
        managed_problem = str(exc)
        managed = ManagedSettings()
    try:
        own = UserSettings.load(settings_file)
    except SettingsError as exc:
        own_problem = f"{exc} Rupa Desk uses the default settings until you save new ones."
        own = UserSettings()
    loaded = LoadedSettings(managed.apply(own), managed, managed_problem, own_problem)
    for problem in loaded.problems:
        log.warning("%s", problem)
    return loaded


def _typed_value(name: str, value: Any) -> Any:
    """A value of settings.json, checked against the type of its `UserSettings` field.

    Raises:
        SettingsError: the value has another type (the message names the field).
    """
    hint = get_type_hints(UserSettings)[name]
    if hint is bool:
        if not isinstance(value, bool):
            raise SettingsError(f'"{name}" must be true or false, not {_shown(value)}.')
        return value
    if hint is str or get_origin(hint) is Literal:  # a Literal's choices: see validated()
        if not isinstance(value, str):
            raise SettingsError(f'"{name}" must be text in quotes, not {_shown(value)}.')
        return value
    if hint is int:
        if not _is_integer(value):
            raise SettingsError(f'"{name}" must be a whole number, not {_shown(value)}.')
        return value
    if hint == tuple[int, ...]:
        if not isinstance(value, list) or not all(_is_integer(item) for item in value):
            raise SettingsError(
                f'"{name}" must be a list of whole numbers such as [8080, 8081], '
                f"not {_shown(value)}."
            )
        return tuple(value)
    if hint == tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise SettingsError(
                f'"{name}" must be a list of names in quotes such as ["ZRT Laboratory"], '
                f"not {_shown(value)}."
            )
        return tuple(value)
    raise TypeError(f"UserSettings.{name}: no check for values of type {hint}")


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _shown(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _json_object(path: Path, what: str, then: str) -> dict[str, Any] | None:
    """The JSON object in the file `path` (None: there is no such file).

    Raises:
        SettingsError: it cannot be read or holds no JSON object; the message says `what`
            the file is, then `then` (what happens next).
    """
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise SettingsError(f"Could not read {what}: {exc}{then}") from exc
    if not isinstance(raw, dict):
        raise SettingsError(f"{what[0].upper()}{what[1:]} does not hold a JSON object.{then}")
    return raw
