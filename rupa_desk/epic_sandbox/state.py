"""The Epic simulator's world: the chart, today's schedule, filed documents, sign-ins, tokens,
rate limits and fault switches. Hold `lock` when touching it from another thread."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rupa_desk.epic_sandbox.config import ClientRecord, EpicConfig
from rupa_desk.epic_sandbox.seed import (
    AppointmentRecord,
    PatientRecord,
    build_patients,
    build_schedule,
)


@dataclass
class PendingAuthorization:
    """An authorize request waiting on the sign-in page."""

    client_id: str
    redirect_uri: str
    scope: str
    state: str
    code_challenge: str


@dataclass
class IssuedCode:
    """An authorization code: single use, short-lived."""

    request: PendingAuthorization
    expires_at: float
    used: bool = False


@dataclass
class AccessGrant:
    """What an access token (or refresh token) allows."""

    client_id: str
    scopes: frozenset[str]
    expires_at: float


@dataclass
class Faults:
    """Switches tests flip to make the simulator misbehave.

    Attributes:
        rate_limited: answer the next N FHIR requests with 429.
        fail_status: answer the next FHIR requests with these statuses, one each (e.g. 503).
        lose_create_answers: create the next N documents, then drop the connection before
            the answer (the server acted; the client never learns).
        retry_after_s: the `Retry-After` of a 429.
    """

    rate_limited: int = 0
    fail_status: list[int] = field(default_factory=list)
    lose_create_answers: int = 0
    retry_after_s: int = 1


class EpicState:
    """The simulator's in-memory world, built from an `EpicConfig`."""

    def __init__(self, config: EpicConfig) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.clock_offset_s = 0.0
        self.today: date = config.today or date.today()
        self.patients: dict[str, PatientRecord] = {p.id: p for p in build_patients(config)}
        self.schedule: list[AppointmentRecord] = build_schedule(
            config, list(self.patients.values()), self.today
        )
        self.documents: dict[str, dict[str, Any]] = {}
        self.clients: dict[str, ClientRecord] = {c.client_id: c for c in config.clients}
        self.pending: dict[str, PendingAuthorization] = {}
        self.codes: dict[str, IssuedCode] = {}
        self.access_tokens: dict[str, AccessGrant] = {}
        self.refresh_tokens: dict[str, AccessGrant] = {}
        self.buckets: dict[str, tuple[float, float]] = {}
        self.faults = Faults()
        #: (method, path) of every FHIR request, in order (tests count creates with it)
        self.requests: list[tuple[str, str]] = []

    def now(self) -> float:
        """The simulator's wall clock (epoch seconds), which tests may move forward."""
        return time.time() + self.clock_offset_s

    def advance(self, seconds: float) -> None:
        """Move the clock forward (tokens expire)."""
        with self.lock:
            self.clock_offset_s += seconds

    def new_id(self, prefix: str) -> str:
        return prefix + secrets.token_urlsafe(12).replace("-", "x").replace("_", "y")

    def take_token(self, token: str) -> bool:
        """Take one request from `token`'s bucket; False when it is empty (rate limited)."""
        rate, burst = self.config.rate_per_second, float(self.config.burst)
        now = time.monotonic()
        level, since = self.buckets.get(token, (burst, now))
        level = min(burst, level + (now - since) * rate)
        if level < 1:
            self.buckets[token] = (level, now)
            return False
        self.buckets[token] = (level - 1, now)
        return True
