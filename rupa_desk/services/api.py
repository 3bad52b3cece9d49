"""`RupaClient`: every Rupa API action Rupa Desk uses, typed, as JSON:API.

A thin layer on `ApiTransport` (pacing, retries, the 401 refresh, typed errors, redacted logs,
guarded pagination, downloads): this module knows Rupa's paths (`ApiPaths`), its documents
(`rupa_desk.core.jsonapi`) and its error format (`errors[]` with `source.pointer`).

- Lists are read through small descriptions (`rupa_desk.services.listings`):
  `iterate(listing)` gives every item, `first_page(listing)` one page, and `next_page(page)`
  follows its `next_url` (never computing page numbers).
- Retries: GET and PATCH, and POST /patients (Rupa returns the existing patient for the same
  first+last+email, so a retry cannot duplicate) are SAFE. POST /order_intents is retried
  only when the request surely never arrived; otherwise it raises `OutcomeUnknown`, and the
  outbox looks the intent up by its draft id.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any, Final, TypeVar

import httpx

from rupa_desk.core import jsonapi
from rupa_desk.core.models import Address, Order, OrderIntent, Page, Patient, Practitioner
from rupa_desk.services.api_transport import ApiTransport, PageFormat, RetryPolicy, TokenSource
from rupa_desk.services.errors import ValidationFailed
from rupa_desk.services.http_client import AsyncClosing
from rupa_desk.services.listings import Filter, Listing, order_intents_for_draft
from rupa_desk.settings import Environment

log = logging.getLogger(__name__)

T = TypeVar("T")

JSONAPI_MEDIA_TYPE: Final = "application/vnd.api+json"


class RupaClient(AsyncClosing):
    """The Rupa API, one method per action, and the lists by `Listing`.

    Args:
        environment: the backend (API base, paths, limits).
        token_source: gives bearer tokens (an `Authenticator`).
        transport: an httpx transport (tests); None for the network.

    Use as `async with RupaClient(...) as client:` or call `aclose()` when done.

    Attributes:
        environment: the backend it talks to.
    """

    def __init__(
        self,
        environment: Environment,
        token_source: TokenSource,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.environment = environment
        self._paths = paths = environment.paths
        self._limits = environment.limits
        self._api = ApiTransport(
            environment.api_base,
            token_source,
            environment.limits,
            media_type=JSONAPI_MEDIA_TYPE,
            error_format=validation_failed,
            transport=transport,
        )
        self._collections = {
            jsonapi.PATIENT: paths.patients,
            jsonapi.LAB_COMPANY: paths.lab_companies,
            jsonapi.LAB_TEST: paths.lab_tests,
            jsonapi.ORDER_INTENT: paths.order_intents,
            jsonapi.ORDER: paths.orders,
        }
        self._filters: dict[Filter, str] = {
            "email": paths.filter_email,
            "lab_company": paths.filter_lab_company,
            "patient": paths.filter_patient,
            "status": paths.filter_status,
            "practitioner": paths.filter_practitioner,
            "draft_id": paths.filter_order_intent_draft_id,
        }

    @property
    def request_count(self) -> int:
        """API requests sent so far, retries included (diagnostics)."""
        return self._api.request_count

    async def aclose(self) -> None:
        """Close the HTTP client (its connections)."""
        await self._api.aclose()

    @property
    def is_closed(self) -> bool:
        """True once `aclose()` has run."""
        return self._api.is_closed

    # -- lists -----------------------------------------------------------------------------

    def iterate(self, listing: Listing[T]) -> AsyncIterator[T]:
        """Every item of `listing`, page after page."""
        return self._api.iterate(*self._request_of(listing))

    async def first_page(self, listing: Listing[T]) -> Page[T]:
        """The first page of `listing`; continue with `next_page(page)`."""
        return await self._api.first_page(*self._request_of(listing))

    async def next_page(self, page: Page[T]) -> Page[T]:
        """The page after `page` (one this client fetched), by its `next_url`.

        Raises:
            ValueError: `page` is the last page (`next_url` is None).
            EndlessPages: the list's next links do not end (see `ApiTransport.next_page`).
        """
        return await self._api.next_page(page)

    async def page_at(self, listing: Listing[T], link: str) -> Page[T]:
        """The page of `listing` at `link`, a next link of it that Rupa sent before (kept to
        resume a download); continue with `next_page(page)`.

        Raises:
            RefusedLink: the link leads to another origin.
        """
        return await self._api.page_at(link, _page_format(listing))

    def _request_of(self, listing: Listing[T]) -> tuple[str, dict[str, str], PageFormat[T]]:
        """The path, query and page format of a listing."""
        size = self._limits.page_size if listing.page_size is None else listing.page_size
        size = max(1, min(size, self._limits.max_page_size))
        params = {self._paths.page_size_param: str(size)}
        for name, value in listing.filters.items():
            params[self._filters[name]] = value
        if listing.include:
            params[self._paths.include_param] = ",".join(listing.include)
        return self._collections[listing.resource_type], params, _page_format(listing)

    # -- practitioners ---------------------------------------------------------------------

    async def me(self) -> Practitioner:
        """The signed-in practitioner, with their clinic when Rupa includes it."""
        return await self._get_one(
            self._paths.practitioner_me, jsonapi.PRACTITIONER, jsonapi.parse_practitioner
        )

    # -- patients --------------------------------------------------------------------------

    async def create_patient(
        self,
        first_name: str,
        last_name: str,
        email: str,
        *,
        birthday: date | None = None,
        phone: str | None = None,
        gender: str | None = None,
        address: Address | None = None,
    ) -> tuple[Patient, bool]:
        """Create a patient, or get the existing one with the same first+last+email.

        Retried like a GET: Rupa answers a repeat with the patient it already has.

        Returns:
            The patient, and True when Rupa created it now (201), False when it existed (200).
            (After a retry whose first attempt did arrive, a new patient reads as existing.)

        Raises:
            ValidationFailed: with messages per attribute (e.g. `email`).
        """
        attributes: dict[str, Any] = {
            "first_name": first_name,
            "last_name": last_name,
            "email": email,
        }
        if birthday is not None:
            attributes["birthday"] = birthday.isoformat()
        if phone is not None:
            attributes["phone"] = phone
        if gender is not None:
            attributes["gender"] = gender
        if address is not None:
            attributes["address"] = {
                "street_1": address.street_1,
                "street_2": address.street_2,
                "city": address.city,
                "state": address.state,
                "zip": address.zip,
            }
        body = jsonapi.resource_document(jsonapi.PATIENT, attributes)
        response = await self._api.send(
            "POST", self._paths.patients, body=body, policy=RetryPolicy.SAFE
        )
        patient = self._parse_one(response, jsonapi.PATIENT, jsonapi.parse_patient)
        return patient, response.status_code == 201

    async def get_patient(self, patient_id: str) -> Patient:
        """One patient."""
        return await self._get_one(
            _item_path(self._paths.patients, patient_id), jsonapi.PATIENT, jsonapi.parse_patient
        )

    # -- order intents ---------------------------------------------------------------------

    async def create_order_intent(
        self,
        patient_id: str,
        lab_test_ids: Sequence[str],
        return_url: str,
        metadata: Mapping[str, Any] | None = None,
        notes: str | None = None,
    ) -> OrderIntent:
        """Create an order intent (the checkout link for a patient and lab tests).

        Put the draft id in `metadata` (key `ApiPaths.draft_id_metadata_key`) and in
        `return_url`, so a create whose outcome was lost can be found again.

        Raises:
            OutcomeUnknown: the request may have reached Rupa but its answer was lost; look
                the intent up with `order_intents_for_draft` before creating again.
            Offline: it surely did not reach Rupa (safe to send again later).
            ValidationFailed: with messages per attribute or relationship.
        """
        attributes: dict[str, Any] = {"return_url": return_url, "metadata": dict(metadata or {})}
        if notes is not None:
            attributes["notes"] = notes
        relationships = {
            "patient": jsonapi.to_one(jsonapi.PATIENT, patient_id),
            "lab_tests": jsonapi.to_many(jsonapi.LAB_TEST, lab_test_ids),
        }
        body = jsonapi.resource_document(jsonapi.ORDER_INTENT, attributes, relationships)
        response = await self._api.send(
            "POST", self._paths.order_intents, body=body, policy=RetryPolicy.UNSENT_ONLY
        )
        return self._parse_one(response, jsonapi.ORDER_INTENT, jsonapi.parse_order_intent)

    async def update_order_intent(
        self,
        order_intent_id: str,
        *,
        patient_id: str | None = None,
        lab_test_ids: Sequence[str] | None = None,
        return_url: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        notes: str | None = None,
    ) -> OrderIntent:
        """Change an order intent; only the arguments given are sent.

        `lab_test_ids` replaces the whole list; `notes=""` clears the notes.
        """
        attributes: dict[str, Any] = {}
        if return_url is not None:
            attributes["return_url"] = return_url
        if metadata is not None:
            attributes["metadata"] = dict(metadata)
        if notes is not None:
            attributes["notes"] = notes
        relationships: dict[str, dict[str, Any]] = {}
        if patient_id is not None:
            relationships["patient"] = jsonapi.to_one(jsonapi.PATIENT, patient_id)
        if lab_test_ids is not None:
            relationships["lab_tests"] = jsonapi.to_many(jsonapi.LAB_TEST, lab_test_ids)
        body = jsonapi.resource_document(
            jsonapi.ORDER_INTENT, attributes, relationships, resource_id=order_intent_id
        )
        response = await self._api.send(
            "PATCH",
            _item_path(self._paths.order_intents, order_intent_id),
            body=body,
            policy=RetryPolicy.SAFE,
        )
        return self._parse_one(response, jsonapi.ORDER_INTENT, jsonapi.parse_order_intent)

    async def get_order_intent(self, order_intent_id: str) -> OrderIntent:
        """One order intent (its `order_id` is set once the practitioner checked out)."""
        return await self._get_one(
            _item_path(self._paths.order_intents, order_intent_id),
            jsonapi.ORDER_INTENT,
            jsonapi.parse_order_intent,
        )

    async def order_intents_for_draft(self, draft_id: str) -> list[OrderIntent]:
        """The practitioner's order intents whose metadata holds this draft id (our endpoint).

        The match is checked here too, so a server that ignored the filter cannot make the
        outbox adopt another draft's intent.
        """
        listing = order_intents_for_draft(draft_id, self._paths.draft_id_metadata_key)
        return [intent async for intent in self.iterate(listing)]

    # -- orders ----------------------------------------------------------------------------

    async def get_order(
        self, order_id: str, *, include: Sequence[str] = ("ordered_tests", "patient")
    ) -> Order:
        """One order, with its ordered tests and patient resolved when included."""
        params = {self._paths.include_param: ",".join(include)} if include else None
        return await self._get_one(
            _item_path(self._paths.orders, order_id),
            jsonapi.ORDER,
            jsonapi.parse_order,
            params=params,
        )

    # -- files -----------------------------------------------------------------------------

    async def download(self, url: str, destination: Path) -> Path:
        """Download a file (e.g. `OrderedTest.results_pdf`) to `destination`, atomically
        (`ApiTransport.download`: https only, size-capped, the token only to Rupa's origin).

        Returns:
            `destination`.

        Raises:
            RefusedLink: a link Rupa Desk does not open (e.g. `file:`); nothing was requested.
            FileTooLarge, DiskFull, DownloadFailed: the file was not saved; nothing was left.
            NotFound, Forbidden, NetworkError, ...: the download itself failed.
        """
        return await self._api.download(url, destination)

    # -- the machinery ---------------------------------------------------------------------

    async def _get_one(
        self,
        target: str,
        resource_type: str,
        parser: jsonapi.Parser[T],
        *,
        params: Mapping[str, str] | None = None,
    ) -> T:
        response = await self._api.send("GET", target, params=params, policy=RetryPolicy.SAFE)
        return self._parse_one(response, resource_type, parser)

    def _parse_one(
        self, response: httpx.Response, resource_type: str, parser: jsonapi.Parser[T]
    ) -> T:
        return self._api.read(response, lambda body: jsonapi.parse_one(body, resource_type, parser))


def validation_failed(body: object, status: int) -> ValidationFailed:
    """Rupa's error format: JSON:API `errors[]`, each naming its attribute by `source.pointer`."""
    fields: dict[str, tuple[str, ...]] = {}
    general: list[str] = []
    for error in jsonapi.parse_errors(body):
        text = error.detail or "This value is not valid."
        if error.attribute is None:
            general.append(text)
        else:
            fields[error.attribute] = (*fields.get(error.attribute, ()), text)
    return ValidationFailed(fields, tuple(general), status=status)


def _page_format(listing: Listing[T]) -> PageFormat[T]:
    """Reads one page of `listing` (keeping only the items its `keep` accepts)."""

    def read(body: object) -> Page[T]:
        page = jsonapi.parse_page(body, listing.resource_type, listing.parser)
        if page.skipped:  # a count and a type only: the records may hold patient data
            log.warning(
                "left out %d unreadable %s records of a page", page.skipped, listing.resource_type
            )
        if listing.keep is None:
            return page
        return replace(page, items=tuple(item for item in page.items if listing.keep(item)))

    return read


def _item_path(collection: str, resource_id: str) -> str:
    if not resource_id or "/" in resource_id or resource_id in (".", ".."):
        raise ValueError("not a resource id")
    return f"{collection}/{resource_id}"
