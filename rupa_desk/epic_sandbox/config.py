"""What the Epic simulator is built from: its registered apps, its clock and its sizes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Final

#: The app registration demo mode and tests use: Epic issues it no refresh tokens.
DEMO_CLIENT_ID: Final = "rupa-desk-epic-demo"
#: A second registration that Epic issues refresh tokens to (offline access).
REFRESH_CLIENT_ID: Final = "rupa-desk-epic-offline"
#: The provider-facing test user of Epic's sandbox (published by Epic for its sandbox).
TEST_USER: Final = "FHIR"
TEST_PASSWORD: Final = "EpicFhir11!"
#: Where the FHIR API and the OAuth server live below the simulator's root URL (as on Epic).
FHIR_PATH: Final = "/api/FHIR/R4"
OAUTH_PATH: Final = "/oauth2"


@dataclass(frozen=True)
class ClientRecord:
    """An app registered with the simulated Epic organisation.

    Attributes:
        client_id: the app's client id.
        redirect_paths: loopback redirect paths it registered (any port, RFC 8252 §7.3).
        refresh_tokens: whether Epic issues it refresh tokens.
    """

    client_id: str
    redirect_paths: tuple[str, ...] = ("/oauth/epic/callback",)
    refresh_tokens: bool = False


@dataclass(frozen=True)
class EpicConfig:
    """How to build the simulator.

    Attributes:
        port: the TCP port (0: any free one).
        seed: the seed of the generated patients and schedule.
        generated_patients: patients beside Epic's published test patients.
        today: the simulated clinic's "today" (None: this computer's date).
        appointments_today: how many appointments today's schedule holds.
        page_size: the page size of searches without `_count`.
        access_token_lifetime_s: the lifetime of an access token.
        rate_per_second, burst: the rate limit per access token (a token bucket).
        smart_configuration: serve `.well-known/smart-configuration` (False: only `metadata`).
        clients: the registered apps.
    """

    port: int = 0
    seed: int = 7
    generated_patients: int = 120
    today: date | None = None
    appointments_today: int = 14
    page_size: int = 10
    access_token_lifetime_s: int = 3600
    rate_per_second: float = 20.0
    burst: int = 40
    smart_configuration: bool = True
    clients: tuple[ClientRecord, ...] = field(
        default_factory=lambda: (
            ClientRecord(DEMO_CLIENT_ID),
            ClientRecord(REFRESH_CLIENT_ID, refresh_tokens=True),
        )
    )
