"""Environments (production, Rupa sandbox, demo), API paths and limits, and user settings.

Every host, path, page size and rate limit of the Rupa API lives here and nowhere else
(RUPA_API.md, "Client rules"). Values tagged [A] in RUPA_API.md are our assumptions: change
them here when Rupa confirms otherwise.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Final, Literal

EnvironmentName = Literal["production", "sandbox", "demo"]
ENVIRONMENT_NAMES: Final[tuple[EnvironmentName, ...]] = ("production", "sandbox", "demo")
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


@dataclass(frozen=True)
class ClientLimits:
    """How the client paces and pages its requests (RUPA_API.md "Rate limit", "Pagination").

    The client stays a little under the server's limit so that clock skew between the two
    token buckets never produces a 429 on its own.
    """

    page_size: int = 50
    max_page_size: int = 100
    rate_per_second: float = 18.0
    burst: int = 18
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 30.0
    write_timeout_s: float = 30.0
    pool_timeout_s: float = 10.0
    max_attempts: int = 6
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    max_concurrent_pages: int = 8


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
    paths: ApiPaths = field(default_factory=ApiPaths)
    limits: ClientLimits = field(default_factory=ClientLimits)

    @property
    def label(self) -> str:
        """The name shown to users: Production, Rupa sandbox or Demo."""
        return ENVIRONMENT_LABELS[self.name]

    def with_secret(self, client_secret: str | None) -> Environment:
        return replace(self, client_secret=client_secret or None)


def production(client_id: str, *, redirect_ports: tuple[int, ...] = ()) -> Environment:
    """Rupa's production environment (hosts [C], revoke path [A])."""
    return Environment(
        name="production",
        authorize_url="https://labs.rupahealth.com/oauth/authorize",
        token_url="https://api.rupahealth.com/oauth/token",
        revoke_url="https://api.rupahealth.com/oauth/revoke_token",
        api_base="https://api.rupahealth.com",
        client_id=client_id,
        redirect_ports=redirect_ports,
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
    )


def demo(base_url: str, *, client_id: str = DEMO_CLIENT_ID) -> Environment:
    """The built-in simulator at `base_url` (e.g. http://127.0.0.1:8765)."""
    base = base_url.rstrip("/")
    return Environment(
        name="demo",
        authorize_url=f"{base}/oauth/authorize",
        token_url=f"{base}/oauth/token",
        revoke_url=f"{base}/oauth/revoke_token",
        api_base=base,
        client_id=client_id,
    )


class SettingsError(Exception):
    """The settings file or a settings value is not usable."""


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

    def validated(self) -> UserSettings:
        """Return self, or raise `SettingsError` naming the first bad value."""
        if self.environment not in ENVIRONMENT_NAMES:
            raise SettingsError(f"Unknown environment {self.environment!r}.")
        if self.environment != "demo" and not self.client_id.strip():
            raise SettingsError("A client id is needed for Rupa's production or sandbox.")
        for port in self.redirect_ports:
            if not 1 <= port <= 65535:
                raise SettingsError(f"Redirect port {port} is not between 1 and 65535.")
        if not 10 <= self.poll_interval_s <= 3600:
            raise SettingsError("The polling interval must be between 10 and 3600 seconds.")
        return self

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
        """Read settings; a missing file gives the defaults, a broken one a `SettingsError`."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            raise SettingsError(f"Could not read the settings file {path}: {exc}") from exc
        if not isinstance(raw, dict):
            raise SettingsError(f"The settings file {path} does not hold a JSON object.")
        known = {f for f in cls.__dataclass_fields__}
        values: dict[str, Any] = {k: v for k, v in raw.items() if k in known}
        if "redirect_ports" in values:
            values["redirect_ports"] = tuple(int(p) for p in values["redirect_ports"])
        try:
            return cls(**values).validated()
        except (TypeError, ValueError) as exc:
            raise SettingsError(f"The settings file {path} has a bad value: {exc}") from exc

    def save(self, path: Path) -> None:
        """Write settings atomically (a crash never leaves half a file)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        data = asdict(self)
        data["redirect_ports"] = list(self.redirect_ports)
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
