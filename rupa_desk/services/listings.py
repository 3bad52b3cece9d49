"""The lists Rupa Desk reads from Rupa, as small descriptions (`Listing`).

A listing says which collection and how it is filtered; `RupaClient.iterate(listing)` gives
every item, `RupaClient.first_page(listing)` the first page (continue with `next_page`). The
client turns the filter names into the query parameters of `ApiPaths`, so a listing holds no
URL and a test's fake source can read what was asked.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

from rupa_desk.core import jsonapi
from rupa_desk.core.models import LabCompany, LabTest, Order, OrderIntent, Patient

T = TypeVar("T")

#: What a list can be filtered by (each is one `ApiPaths.filter_*` query parameter).
Filter = Literal["email", "lab_company", "patient", "status", "practitioner", "draft_id"]


@dataclass(frozen=True, slots=True)
class Listing(Generic[T]):
    """One of Rupa's lists, filtered.

    Attributes:
        resource_type: the JSON:API type of the items (it names the collection).
        parser: how one item is read.
        filters: the filter values by name.
        include: related resources Rupa should include (e.g. `lab_company`).
        page_size: items per page; None for the client's default (capped at the server's
            maximum either way).
        keep: checked again on every item, in case the server ignores a filter it does not
            know; None to keep every item.
    """

    resource_type: str
    parser: jsonapi.Parser[T]
    filters: Mapping[Filter, str] = field(default_factory=dict)
    include: tuple[str, ...] = ()
    page_size: int | None = None
    keep: Callable[[T], bool] | None = field(default=None, compare=False)


def patients(email: str | None = None, *, page_size: int | None = None) -> Listing[Patient]:
    """The practitioner's patients (only those with `email`, when given)."""
    filters: dict[Filter, str] = {} if email is None else {"email": email}
    return Listing(jsonapi.PATIENT, jsonapi.parse_patient, filters, page_size=page_size)


def lab_companies(*, page_size: int | None = None) -> Listing[LabCompany]:
    """Every lab company of the catalog."""
    return Listing(jsonapi.LAB_COMPANY, jsonapi.parse_lab_company, page_size=page_size)


def lab_tests(
    lab_company: str | None = None,
    *,
    include_company: bool = False,
    page_size: int | None = None,
) -> Listing[LabTest]:
    """The catalog's lab tests (of one lab company, when given), with their company's
    details when `include_company`."""
    filters: dict[Filter, str] = {} if lab_company is None else {"lab_company": lab_company}
    include = ("lab_company",) if include_company else ()
    return Listing(jsonapi.LAB_TEST, jsonapi.parse_lab_test, filters, include, page_size)


def orders(
    patient: str | None = None,
    status: str | Sequence[str] | None = None,
    practitioner: str | None = None,
    *,
    page_size: int | None = None,
    include: tuple[str, ...] = (),
) -> Listing[Order]:
    """Orders, newest first, optionally of one patient, practitioner or status.

    Args:
        patient: a patient id.
        status: one status or several (e.g. every non-terminal one, for polling).
        practitioner: a practitioner id (ordering or signing).
        page_size: items per page.
        include: related resources Rupa should include (e.g. `ordered_tests`).
    """
    filters: dict[Filter, str] = {}
    if patient is not None:
        filters["patient"] = patient
    if status is not None:
        filters["status"] = ",".join(_statuses(status))
    if practitioner is not None:
        filters["practitioner"] = practitioner
    keep = functools.partial(
        _order_matches, patient=patient, status=status, practitioner=practitioner
    )
    return Listing(
        jsonapi.ORDER, jsonapi.parse_order, filters, include, page_size=page_size, keep=keep
    )


def order_intents_for_draft(draft_id: str, metadata_key: str) -> Listing[OrderIntent]:
    """The order intents whose metadata holds `draft_id` under `metadata_key` (our endpoint);
    the match is checked on every intent too, so a server that ignored the filter cannot make
    the outbox adopt another draft's intent."""

    def holds_the_draft(intent: OrderIntent) -> bool:
        return intent.metadata.get(metadata_key) == draft_id

    return Listing(
        jsonapi.ORDER_INTENT,
        jsonapi.parse_order_intent,
        {"draft_id": draft_id},
        keep=holds_the_draft,
    )


def _statuses(status: str | Sequence[str]) -> tuple[str, ...]:
    return (status,) if isinstance(status, str) else tuple(status)


def _order_matches(
    order: Order,
    *,
    patient: str | None,
    status: str | Sequence[str] | None,
    practitioner: str | None,
) -> bool:
    """The filters, checked again here in case the server ignores one it does not know."""
    if patient is not None and order.patient_id not in (None, patient):
        return False
    wanted = {s.strip().casefold() for s in _statuses(status)} if status is not None else None
    if wanted is not None and order.status.strip().casefold() not in wanted:
        return False
    practitioners = {order.patients_practitioner_id, order.signing_practitioner_id} - {None}
    return practitioner is None or not practitioners or practitioner in practitioners
