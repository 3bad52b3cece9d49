"""How a simulator instance is set up: data sizes, faults, token lifetimes, registered clients.

The simulator keeps its own copy of the demo constants (client id, demo login, redirect URIs):
it imports nothing from the app, so that each side checks the other honestly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Final

#: The public OAuth client Rupa Desk uses in demo mode (no secret; PKCE S256 required).
DEMO_CLIENT_ID: Final = "rupa-desk-demo"
#: The demo practitioner's login for the simulator's web pages.
DEMO_LOGIN_EMAIL: Final = "demo@rupa-desk.test"
DEMO_LOGIN_PASSWORD: Final = "demo"
#: Every seeded practitioner signs in with this password (demo data only).
SEEDED_PASSWORD: Final = "demo"
#: Loopback redirect URIs; they match on any port (RFC 8252 §7.3).
DEFAULT_REDIRECT_URIS: Final[tuple[str, ...]] = (
    "http://127.0.0.1/oauth/callback",
    "http://[::1]/oauth/callback",
    "http://localhost/oauth/callback",
)

#: A simulated day per real half-minute: a demo order goes from payment to results in minutes.
DEMO_CLOCK_SPEED: Final = 2880.0


@dataclass(frozen=True)
class RegisteredClient:
    """An OAuth client the simulator knows.

    Attributes:
        client_id: the id sent as `client_id`.
        redirect_uris: registered redirect URIs; loopback ones match on any port.
        client_secret: set for a confidential client, which must then authenticate at the
            token and revoke endpoints (form field or HTTP Basic).
        name: shown on the consent page.
        require_pkce: refuse authorize requests without an S256 `code_challenge`.
    """

    client_id: str
    redirect_uris: tuple[str, ...] = DEFAULT_REDIRECT_URIS
    client_secret: str | None = field(default=None, repr=False)
    name: str = "Rupa Desk"
    require_pkce: bool = True

    @property
    def is_confidential(self) -> bool:
        return self.client_secret is not None


def demo_client() -> RegisteredClient:
    """The public client Rupa Desk's demo mode uses."""
    return RegisteredClient(client_id=DEMO_CLIENT_ID)


@dataclass(frozen=True)
class SandboxConfig:
    """Everything that shapes one simulator instance. Data is deterministic from `seed`.

    Attributes:
        seed: seeds the generated catalog, clinic, patients, orders and new ids.
        lab_tests: catalog size (100,000 generates in a few seconds).
        lab_companies: number of lab companies (specialty labs first).
        practitioners: practitioners in the demo clinic, the demo practitioner included.
        patients: patients in the demo clinic.
        orders: seeded orders of the demo clinic, spread over every status.
        open_orders: extra orders in non-terminal statuses (e.g. 500 for a polling benchmark).
        history_orders: a clinic history of this many more orders over `history_days` (0:
            none), each on its own timeline: payment, sample, results per lab (`history`).
        history_days: how far back the history reaches.
        rate_limit_per_s: token-bucket refill rate per access token.
        rate_burst: token-bucket size per access token.
        latency_ms: delay added before every API request is handled (a client that gives up
            waiting leaves nothing behind).
        answer_delay_ms: delay added after every API request is handled, before its answer is
            sent (a client that gives up waiting leaves its change behind, e.g. a created order
            intent; its answer is then never sent).
        fault_5xx_rate: share of API requests answered with 503/500 (0..1).
        fault_429_rate: share of API requests answered with 429 + Retry-After (0..1).
        drop_rate: share of API requests whose connection is closed mid-response (0..1).
        faults_on_token_endpoint: apply the faults above to /oauth/token and revoke too.
        refresh_token_reuse_protection: a refresh token used again after it was rotated
            revokes every token of its chain, access tokens too (RFC 9700 §4.14.2; Django
            OAuth Toolkit's REFRESH_TOKEN_REUSE_PROTECTION).
        oauth_redirect_status: 0, or a 3xx status that POST /oauth/token and revoke answer
            with, redirecting to the path with a trailing slash (a Django server with
            APPEND_SLASH whose OAuth URLs end in a slash).
        hl7_malformed: `results_hl7` messages have no MSH header (not HL7 at all).
        hl7_unknown_segments: `results_hl7` messages carry Z-segments among the others.
        hl7_wrong_charset: `results_hl7` messages are Latin-1 bytes under a UTF-8 header.
        hl7_correction_rate: share of ordered tests (0..1) whose results are corrected a
            simulated day after their order completes (a new result event).
        requisition_not_pdf: requisition links answer with an HTML page, not a PDF.
        results_not_pdf: result PDF links answer with an HTML page, not a PDF.
        ignore_company_filter: `GET /lab_tests` ignores `filter[lab_company]` and lists every
            test (as an API may silently ignore a filter it does not know).
        unlisted_lab_companies: `GET /lab_companies` leaves out this many lab companies (the
            last ones); their tests are still listed and the companies can still be read.
        self_referencing_next: every list's `links.next` points to the page itself (the last
            page's too), so a client that follows next links blindly never stops.
        hostile_values: this many lab tests (the first ones) are sent with values out of
            range or not text: a price of 1e30, 2**70 days, a lone surrogate in the name, ...
            (see `hostile_values.HOSTILE_LAB_TEST_VALUES`).
        hostile_lab_companies: this many lab companies (the first ones) are sent with a
            name that is not text.
        hostile_ordered_test_ids: ordered tests are sent under ids that climb folders
            (`x/../../../ordts_…`); their result URLs still work.
        hostile_checkout_url: when not empty, every order intent is sent with this
            `checkout_url` (e.g. `file:///etc/passwd` or `javascript:…`).
        access_token_ttl_s: lifetime of access tokens (`expires_in`).
        code_ttl_s: lifetime of authorization codes.
        clock_speed: simulated seconds per real second for the order lifecycle; 0 means
            orders advance only on demand (control endpoint).
        clients: registered OAuth clients.
        port: TCP port on 127.0.0.1; 0 picks a free one.
        request_log_size: how many served requests `/_sim/requests` remembers.
    """

    seed: int = 7
    lab_tests: int = 2500
    lab_companies: int = 35
    practitioners: int = 4
    patients: int = 60
    orders: int = 42
    open_orders: int = 0
    history_orders: int = 0
    history_days: int = 730
    rate_limit_per_s: float = 20.0
    rate_burst: int = 40
    latency_ms: int = 0
    answer_delay_ms: int = 0
    fault_5xx_rate: float = 0.0
    fault_429_rate: float = 0.0
    drop_rate: float = 0.0
    faults_on_token_endpoint: bool = False
    ignore_company_filter: bool = False
    unlisted_lab_companies: int = 0
    self_referencing_next: bool = False
    hostile_values: int = 0
    hostile_lab_companies: int = 0
    hostile_ordered_test_ids: bool = False
    hostile_checkout_url: str = ""
    refresh_token_reuse_protection: bool = False
    oauth_redirect_status: int = 0
    hl7_malformed: bool = False
    hl7_unknown_segments: bool = False
    hl7_wrong_charset: bool = False
    hl7_correction_rate: float = 0.0
    requisition_not_pdf: bool = False
    results_not_pdf: bool = False
    access_token_ttl_s: int = 36000
    code_ttl_s: int = 60
    clock_speed: float = 0.0
    clients: tuple[RegisteredClient, ...] = (RegisteredClient(client_id=DEMO_CLIENT_ID),)
    port: int = 0
    request_log_size: int = 20000

    def __post_init__(self) -> None:
        problems = []
        counts = ("lab_tests", "practitioners", "patients", "orders", "open_orders")
        for name in (*counts, "history_orders"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must not be negative")
        if not 1 <= self.lab_companies <= 500:
            problems.append("lab_companies must be between 1 and 500")
        if self.practitioners < 1:
            problems.append("practitioners must be at least 1 (the demo practitioner)")
        if self.history_days < 1:
            problems.append("history_days must be at least 1")
        if not 0 <= self.port <= 65535:
            problems.append("port must be between 0 and 65535")
        if self.access_token_ttl_s < 1 or self.code_ttl_s < 1:
            problems.append("token and code lifetimes must be at least 1 second")
        if self.clock_speed < 0:
            problems.append("clock_speed must not be negative")
        problems.extend(fault_problems(self.fault_settings()))
        if not self.clients:
            problems.append("at least one client must be registered")
        if problems:
            raise ValueError("Bad simulator configuration: " + "; ".join(problems))

    def with_changes(self, **changes: Any) -> SandboxConfig:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def fault_settings(self) -> FaultSettings:
        """The runtime-changeable part of the configuration."""
        return FaultSettings(
            **{f.name: getattr(self, f.name) for f in fields(FaultSettings)},
        )

    def public_dict(self) -> dict[str, Any]:
        """The configuration as JSON-able data, client secrets left out."""
        data = asdict(self)
        data["clients"] = [
            {
                "client_id": c.client_id,
                "redirect_uris": list(c.redirect_uris),
                "confidential": c.is_confidential,
                "name": c.name,
                "require_pkce": c.require_pkce,
            }
            for c in self.clients
        ]
        return data


@dataclass
class FaultSettings:
    """Faults, latency and rate limits; changeable at runtime through `POST /_sim/faults`."""

    rate_limit_per_s: float = 20.0
    rate_burst: int = 40
    latency_ms: int = 0
    answer_delay_ms: int = 0
    fault_5xx_rate: float = 0.0
    fault_429_rate: float = 0.0
    drop_rate: float = 0.0
    faults_on_token_endpoint: bool = False
    ignore_company_filter: bool = False
    unlisted_lab_companies: int = 0
    self_referencing_next: bool = False
    hostile_values: int = 0
    hostile_lab_companies: int = 0
    hostile_ordered_test_ids: bool = False
    hostile_checkout_url: str = ""
    refresh_token_reuse_protection: bool = False
    oauth_redirect_status: int = 0
    hl7_malformed: bool = False
    hl7_unknown_segments: bool = False
    hl7_wrong_charset: bool = False
    hl7_correction_rate: float = 0.0
    requisition_not_pdf: bool = False
    results_not_pdf: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def fault_problems(settings: FaultSettings) -> list[str]:
    """What is wrong with these fault settings (empty when they are usable)."""
    problems = []
    rates = (settings.fault_5xx_rate, settings.fault_429_rate, settings.drop_rate)
    if any(not 0.0 <= rate <= 1.0 for rate in rates):
        problems.append("fault rates must be between 0 and 1")
    elif sum(rates) > 1.0:
        problems.append("fault rates must not add up to more than 1")
    if settings.rate_limit_per_s <= 0 or settings.rate_burst < 1:
        problems.append("rate_limit_per_s must be positive and rate_burst at least 1")
    if settings.latency_ms < 0:
        problems.append("latency_ms must not be negative")
    if settings.answer_delay_ms < 0:
        problems.append("answer_delay_ms must not be negative")
    if settings.unlisted_lab_companies < 0:
        problems.append("unlisted_lab_companies must not be negative")
    if settings.hostile_values < 0 or settings.hostile_lab_companies < 0:
        problems.append("hostile_values and hostile_lab_companies must not be negative")
    if not 0.0 <= settings.hl7_correction_rate <= 1.0:
        problems.append("hl7_correction_rate must be between 0 and 1")
    if settings.oauth_redirect_status and not 300 <= settings.oauth_redirect_status <= 399:
        problems.append("oauth_redirect_status must be 0 or a 3xx status")
    return problems


def demo_config(**changes: Any) -> SandboxConfig:
    """The configuration for demo mode: default data, orders moving on their own, and now
    and then a corrected result after an order completed."""
    return SandboxConfig(clock_speed=DEMO_CLOCK_SPEED, hl7_correction_rate=0.2).with_changes(
        **changes
    )
