"""The simulator's in-memory world: clinics, people, catalog, orders, tokens and sessions.

All of it lives in one `SandboxState` guarded by one re-entrant lock. Request handlers run on
the server's event loop and take the lock around each read-modify-serialize step (with no
`await` inside), so tests that reach into the state from another thread are safe as long as
they also hold `state.lock`.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rupa_desk.sandbox.clock import SimClock
from rupa_desk.sandbox.config import FaultSettings, RegisteredClient, SandboxConfig
from rupa_desk.sandbox.ids import IdFactory
from rupa_desk.sandbox.rate_limit import RateLimiter

PENDING_PAYMENT = "Pending Payment"
PAID = "Paid"
IN_PROGRESS = "In Progress"
SAMPLE_RECEIVED = "Sample Received"
PARTIAL_RESULTS = "Partial Results"
COMPLETE = "Complete"
CANCELED = "Canceled"
#: The order lifecycle, in order (RUPA_API.md, "Order status").
LIFECYCLE: tuple[str, ...] = (
    PENDING_PAYMENT,
    PAID,
    IN_PROGRESS,
    SAMPLE_RECEIVED,
    PARTIAL_RESULTS,
    COMPLETE,
)
ALL_STATUSES: tuple[str, ...] = (*LIFECYCLE, CANCELED)
TERMINAL_STATUSES = frozenset({COMPLETE, CANCELED})
#: order intent statuses
INTENT_OPEN = "open"
INTENT_COMPLETED = "completed"


@dataclass(slots=True)
class Clinic:
    id: str
    name: str


@dataclass(slots=True)
class Practitioner:
    id: str
    clinic_id: str
    first_name: str
    last_name: str
    title: str
    email: str
    phone: str
    password: str

    @property
    def titled_full_name(self) -> str:
        if self.title == "Dr.":
            return f"Dr. {self.first_name} {self.last_name}"
        return f"{self.first_name} {self.last_name}, {self.title}"


@dataclass(slots=True)
class Patient:
    id: str
    clinic_id: str
    first_name: str
    last_name: str
    email: str
    birthday: str | None
    phone: str | None
    gender: str | None
    address: dict[str, str] | None
    created_at: datetime

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(slots=True)
class LabCompany:
    id: str
    name: str
    short_name: str


@dataclass(slots=True)
class LabTest:
    id: str
    lab_company_id: str
    name: str
    price: float
    sample_types: tuple[str, ...]
    biomarkers: tuple[str, ...]
    estimated_days_for_results: int
    categories: tuple[str, ...]
    is_active: bool
    updated_at: datetime


@dataclass(slots=True)
class OrderIntent:
    id: str
    clinic_id: str
    practitioner_id: str
    patient_id: str
    lab_test_ids: list[str]
    return_url: str
    metadata: dict[str, Any]
    notes: str
    status: str
    created_at: datetime
    order_id: str | None = None


@dataclass(slots=True)
class OrderedTest:
    id: str
    order_id: str
    lab_test_id: str
    has_requisition: bool = False
    has_results: bool = False
    results_final: bool = False
    date_results_received_from_lab: datetime | None = None
    #: a result was corrected after the order was complete (a new result event)
    results_corrected: bool = False
    #: simulated time at which a correction is due (`hl7_correction_rate`), if one is
    correction_due_sim: float | None = None


@dataclass(slots=True)
class Order:
    id: str
    clinic_id: str
    patient_id: str
    patients_practitioner_id: str
    signing_practitioner_id: str
    order_intent_id: str | None
    status: str
    payer: str
    total_price: float
    notes_to_patient: str
    date_submitted: datetime
    ordered_test_ids: list[str]
    #: simulated time at which the order entered its current status
    status_since_sim: float
    #: scales this order's step durations, so orders do not move in lockstep
    pace: float = 1.0
    date_paid: datetime | None = None
    date_completed: datetime | None = None
    date_canceled: datetime | None = None


@dataclass(slots=True)
class AuthorizationCode:
    code: str
    client_id: str
    practitioner_id: str
    redirect_uri: str
    code_challenge: str | None
    scope: str
    expires_at: float
    used: bool = False
    refresh_token: str | None = None


@dataclass(slots=True)
class RefreshToken:
    token: str
    client_id: str
    practitioner_id: str
    scope: str
    active: bool = True
    #: the first refresh token of its rotation chain (itself for the first one)
    family: str = ""


@dataclass(slots=True)
class AccessToken:
    token: str
    client_id: str
    practitioner_id: str
    scope: str
    expires_at: float
    refresh_token: str | None
    active: bool = True


@dataclass(slots=True)
class WebSession:
    """A practitioner signed in to the simulator's web pages (login, consent, checkout)."""

    id: str
    practitioner_id: str
    csrf_token: str


@dataclass
class SandboxState:
    """The whole simulated Rupa. Take `lock` for any access from outside the server loop."""

    config: SandboxConfig
    ids: IdFactory
    faults: FaultSettings
    clock: SimClock
    clinics: dict[str, Clinic] = field(default_factory=dict)
    practitioners: dict[str, Practitioner] = field(default_factory=dict)
    patients: dict[str, Patient] = field(default_factory=dict)
    lab_companies: dict[str, LabCompany] = field(default_factory=dict)
    lab_tests: dict[str, LabTest] = field(default_factory=dict)
    #: lab test ids per company, in catalog order (for `filter[lab_company]`)
    lab_tests_by_company: dict[str, dict[str, None]] = field(default_factory=dict)
    #: removed from the catalog, still resolvable from orders and intents that name them
    retired_lab_tests: dict[str, LabTest] = field(default_factory=dict)
    order_intents: dict[str, OrderIntent] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    ordered_tests: dict[str, OrderedTest] = field(default_factory=dict)
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)
    access_tokens: dict[str, AccessToken] = field(default_factory=dict)
    web_sessions: dict[str, WebSession] = field(default_factory=dict)
    clients: dict[str, RegisteredClient] = field(default_factory=dict)
    request_log: deque[dict[str, Any]] = field(default_factory=deque)
    request_seq: int = 0
    demo_practitioner_id: str = ""
    demo_clinic_id: str = ""
    other_clinic_id: str = ""
    lock: threading.RLock = field(default_factory=threading.RLock)
    fault_rng: random.Random = field(default_factory=random.Random)
    #: for data made at runtime (catalog additions)
    data_rng: random.Random = field(default_factory=random.Random)
    rate_limiter: RateLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.rate_limiter = RateLimiter(self.faults)

    def add_lab_test(self, test: LabTest) -> None:
        self.lab_tests[test.id] = test
        self.lab_tests_by_company.setdefault(test.lab_company_id, {})[test.id] = None

    def remove_lab_test(self, test_id: str) -> LabTest:
        test = self.lab_tests.pop(test_id)
        self.lab_tests_by_company.get(test.lab_company_id, {}).pop(test_id, None)
        self.retired_lab_tests[test_id] = test
        return test

    def practitioner_by_email(self, email: str) -> Practitioner | None:
        wanted = email.strip().casefold()
        for practitioner in self.practitioners.values():
            if practitioner.email.casefold() == wanted:
                return practitioner
        return None
