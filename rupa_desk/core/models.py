"""The Rupa resources Rupa Desk works with, as typed, immutable dataclasses.

Each resource keeps the JSON:API resource object it was parsed from in `raw`, so fields we do
not model yet are never lost (RUPA_API.md, "Client rules"). Relationships appear twice: as the
related id (always, when the server sent it) and as the resolved object (when the related
resource was in `included`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

Raw = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Clinic:
    id: str
    name: str
    raw: Raw = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Practitioner:
    id: str
    first_name: str
    last_name: str
    titled_full_name: str
    email: str
    phone: str | None = None
    clinic_id: str | None = None
    clinic: Clinic | None = None
    raw: Raw = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Address:
    street_1: str = ""
    street_2: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""


@dataclass(frozen=True, slots=True)
class Patient:
    id: str
    first_name: str
    last_name: str
    email: str
    birthday: date | None = None
    phone: str | None = None
    gender: str | None = None
    address: Address | None = None
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True, slots=True)
class LabCompany:
    id: str
    name: str
    short_name: str = ""
    raw: Raw = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class LabTest:
    id: str
    name: str
    price: Decimal | None
    lab_company_id: str | None
    sample_types: tuple[str, ...] = ()
    biomarkers: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    estimated_days_for_results: int | None = None
    is_active: bool = True
    updated_at: datetime | None = None
    lab_company: LabCompany | None = None
    raw: Raw = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class OrderIntent:
    id: str
    return_url: str
    checkout_url: str
    status: str
    patient_id: str | None
    lab_test_ids: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    notes: str = ""
    created_at: datetime | None = None
    order_id: str | None = None
    raw: Raw = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class OrderedTest:
    id: str
    lab_test_id: str | None
    requisition: str | None = None
    results_pdf: str | None = None
    results_hl7: str | None = None
    date_results_received_from_lab: datetime | None = None
    lab_test: LabTest | None = None
    raw: Raw = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    status: str
    patient_id: str | None
    payer: str | None = None
    total_price: Decimal | None = None
    notes_to_patient: str | None = None
    date_submitted: datetime | None = None
    date_paid: datetime | None = None
    date_completed: datetime | None = None
    date_canceled: datetime | None = None
    order_intent_id: str | None = None
    patients_practitioner_id: str | None = None
    signing_practitioner_id: str | None = None
    ordered_test_ids: tuple[str, ...] = ()
    ordered_tests: tuple[OrderedTest, ...] = ()
    patient: Patient | None = None
    raw: Raw = field(default_factory=dict, repr=False, compare=False)


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list: its items and where the next page is (None on the last page).

    Attributes:
        items: the resources of this page, in the server's order.
        next_url: `links.next` as the server sent it (None on the last page); follow it,
            never compute page numbers.
        page, pages, count: the server's pagination meta when it sent it (informative).
        resource_type: the JSON:API type of the items (how the next page is parsed).
        skipped: records of this page left out because they could not be read (a value out
            of range, text that is not text, an unsafe id); the rest of the page is kept.
    """

    items: tuple[T, ...]
    next_url: str | None
    page: int | None = None
    pages: int | None = None
    count: int | None = None
    resource_type: str = ""
    skipped: int = 0
