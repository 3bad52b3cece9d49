"""`RupaClient`: every Rupa API action Rupa Desk uses, typed, paced and retried.

One long-lived `httpx.AsyncClient` per environment with explicit timeouts; hosts, paths,
page sizes, timeouts and the rate limit come from `rupa_desk.settings`.

- Lists are async iterators that follow `links.next` (never computing page numbers); each has
  a one-page variant returning a `Page`, and `next_page(page)` follows its `next_url`.
- Failures are typed (`rupa_desk.services.errors`); nothing returns None for a failure.
- Retries (stamina: exponential backoff with jitter) on 429 (waiting at least `Retry-After`),
  5xx and network errors for GET and PATCH, and for POST /patients (Rupa returns the existing
  patient for the same first+last+email, so a retry cannot duplicate). POST /order_intents is
  retried only when the request surely never arrived (connect errors, 429); otherwise it
  raises `OutcomeUnknown`, and the outbox looks the intent up by its draft id.
- A 401 triggers one token refresh (single-flight in the token source) and one retry.
- One `aiolimiter.AsyncLimiter` paces every request of the client (`ClientLimits`).
- Logs name the method, the path (query keys only: values such as `filter[email]` can be
  patient data), the status and the duration. Never a token, never a body.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import errno
import json
import logging
import os
import random
import tempfile
import time
from collections.abc import AsyncIterable, AsyncIterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Final, Protocol, TypeVar, cast

import httpx
import stamina
from aiolimiter import AsyncLimiter

from rupa_desk.core import jsonapi
from rupa_desk.core.models import (
    Address,
    LabCompany,
    LabTest,
    Order,
    OrderIntent,
    Page,
    Patient,
    Practitioner,
)
from rupa_desk.services.errors import (
    DiskFull,
    DownloadFailed,
    Forbidden,
    MalformedResponse,
    NetworkError,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    RequestRejected,
    RupaError,
    ServerError,
    SessionExpired,
    ValidationFailed,
)
from rupa_desk.services.http_client import new_http_client
from rupa_desk.services.http_errors import network_error, retry_after_seconds
from rupa_desk.settings import ClientLimits, Environment

log = logging.getLogger(__name__)

T = TypeVar("T")

JSONAPI_MEDIA_TYPE: Final = "application/vnd.api+json"
_DISK_FULL_ERRNOS: Final = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


class TokenSource(Protocol):
    """Where the client gets its bearer token (an `Authenticator`, or a test's fake)."""

    async def access_token(self) -> str:
        """A valid access token (refreshed when needed)."""
        ...

    async def token_rejected(self, token: str) -> None:
        """Rupa answered 401 to `token`: the next `access_token()` must refresh."""
        ...


class RetryPolicy(enum.Enum):
    """When a failed request may be sent again."""

    #: GET, PATCH and POST /patients: sending twice has the effect of sending once.
    SAFE = "safe"
    #: A create that could duplicate: only when it surely never arrived (connect, 429).
    UNSENT_ONLY = "unsent only"


class _TokenUnavailable(Exception):
    """The token source failed: its own retries are done, so the request is not retried."""

    def __init__(self, error: RupaError) -> None:
        super().__init__(str(error))
        self.error = error


class _RetryDecision:
    """stamina's backoff hook for one request: what to retry, and how long to wait.

    429s are retried up to `max_rate_limited_attempts` times, waiting at least `Retry-After`
    (plus jitter, so that concurrent requests do not come back in lockstep); 5xx and network
    errors up to `max_attempts` times with stamina's exponential backoff and jitter.
    """

    def __init__(self, policy: RetryPolicy, limits: ClientLimits) -> None:
        self._policy = policy
        self._limits = limits
        self._rate_limited = 0
        self._other_failures = 0

    def __call__(self, exc: Exception) -> bool | float:
        if isinstance(exc, RateLimited):  # refused before anything happened: always safe
            self._rate_limited += 1
            if self._rate_limited >= self._limits.max_rate_limited_attempts:
                return False
            return exc.retry_after + random.uniform(0, self._limits.backoff_jitter_s)
        if self._policy is RetryPolicy.SAFE:
            retryable = isinstance(exc, ServerError | NetworkError)
        else:
            retryable = isinstance(exc, NetworkError) and not exc.request_sent
        if not retryable:
            return False
        self._other_failures += 1
        return self._other_failures < self._limits.max_attempts


class RupaClient:
    """The Rupa API, one method per action.

    Args:
        environment: the backend (API base, paths, limits).
        token_source: gives bearer tokens (an `Authenticator`).
        transport: an httpx transport (tests); None for the network.

    Use as `async with RupaClient(...) as client:` or call `aclose()` when done.

    Attributes:
        environment: the backend it talks to.
        request_count: API requests sent so far, retries included (diagnostics).
    """

    def __init__(
        self,
        environment: Environment,
        token_source: TokenSource,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.environment = environment
        self._tokens = token_source
        self._paths = environment.paths
        self._limits = limits = environment.limits
        self._base = httpx.URL(environment.api_base.rstrip("/") + "/")
        self._http = new_http_client(
            limits, transport=transport, headers={"Accept": JSONAPI_MEDIA_TYPE}
        )
        # A leaky bucket of `burst` requests draining at `rate_per_second`.
        self._limiter = AsyncLimiter(limits.burst, limits.burst / limits.rate_per_second)
        self.request_count = 0

    async def aclose(self) -> None:
        """Close the HTTP client (its connections)."""
        await self._http.aclose()

    async def __aenter__(self) -> RupaClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- practitioners ---------------------------------------------------------------------

    async def me(self) -> Practitioner:
        """The signed-in practitioner, with their clinic when Rupa includes it."""
        return await self._get_one(
            self._paths.practitioner_me, jsonapi.PRACTITIONER, jsonapi.parse_practitioner
        )

    def practitioners(self, *, page_size: int | None = None) -> AsyncIterator[Practitioner]:
        """The clinic's practitioners, every page."""
        return self._iterate(
            self._paths.practitioners,
            self._page_params(page_size),
            jsonapi.PRACTITIONER,
            jsonapi.parse_practitioner,
        )

    async def practitioners_page(self, *, page_size: int | None = None) -> Page[Practitioner]:
        """The first page of the clinic's practitioners."""
        return await self._get_page(
            self._paths.practitioners,
            self._page_params(page_size),
            jsonapi.PRACTITIONER,
            jsonapi.parse_practitioner,
        )

    # -- patients --------------------------------------------------------------------------

    def patients(
        self, email: str | None = None, *, page_size: int | None = None
    ) -> AsyncIterator[Patient]:
        """The practitioner's patients (only those with `email`, when given), every page."""
        return self._iterate(
            self._paths.patients,
            self._patient_params(email, page_size),
            jsonapi.PATIENT,
            jsonapi.parse_patient,
        )

    async def patients_page(
        self, email: str | None = None, *, page_size: int | None = None
    ) -> Page[Patient]:
        """The first page of `patients(email)`."""
        return await self._get_page(
            self._paths.patients,
            self._patient_params(email, page_size),
            jsonapi.PATIENT,
            jsonapi.parse_patient,
        )

    def _patient_params(self, email: str | None, page_size: int | None) -> dict[str, str]:
        params = self._page_params(page_size)
        if email is not None:
            params[self._paths.filter_email] = email
        return params

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
        response = await self._send(
            "POST", self._paths.patients, body=body, policy=RetryPolicy.SAFE
        )
        patient = self._parse_one(response, jsonapi.PATIENT, jsonapi.parse_patient)
        return patient, response.status_code == 201

    async def get_patient(self, patient_id: str) -> Patient:
        """One patient."""
        return await self._get_one(
            _item_path(self._paths.patients, patient_id), jsonapi.PATIENT, jsonapi.parse_patient
        )

    # -- catalog ---------------------------------------------------------------------------

    def lab_companies(self, *, page_size: int | None = None) -> AsyncIterator[LabCompany]:
        """Every lab company."""
        return self._iterate(
            self._paths.lab_companies,
            self._page_params(page_size),
            jsonapi.LAB_COMPANY,
            jsonapi.parse_lab_company,
        )

    async def lab_companies_page(self, *, page_size: int | None = None) -> Page[LabCompany]:
        """The first page of lab companies."""
        return await self._get_page(
            self._paths.lab_companies,
            self._page_params(page_size),
            jsonapi.LAB_COMPANY,
            jsonapi.parse_lab_company,
        )

    async def get_lab_company(self, lab_company_id: str) -> LabCompany:
        """One lab company."""
        return await self._get_one(
            _item_path(self._paths.lab_companies, lab_company_id),
            jsonapi.LAB_COMPANY,
            jsonapi.parse_lab_company,
        )

    def lab_tests(
        self,
        lab_company: str | None = None,
        *,
        include_company: bool = False,
        page_size: int | None = None,
    ) -> AsyncIterator[LabTest]:
        """Every lab test (of one lab company, when given), following `links.next`.

        Args:
            lab_company: a lab company id to filter by.
            include_company: ask Rupa to include each test's lab company (resolved into
                `LabTest.lab_company`).
            page_size: items per page (default `ClientLimits.page_size`, at most
                `max_page_size`).
        """
        return self._iterate(
            self._paths.lab_tests,
            self._lab_test_params(lab_company, include_company, page_size),
            jsonapi.LAB_TEST,
            jsonapi.parse_lab_test,
        )

    async def lab_tests_page(
        self,
        lab_company: str | None = None,
        *,
        include_company: bool = False,
        page_size: int | None = None,
    ) -> Page[LabTest]:
        """The first page of `lab_tests(...)`; continue with `next_page(page)`."""
        return await self._get_page(
            self._paths.lab_tests,
            self._lab_test_params(lab_company, include_company, page_size),
            jsonapi.LAB_TEST,
            jsonapi.parse_lab_test,
        )

    def _lab_test_params(
        self, lab_company: str | None, include_company: bool, page_size: int | None
    ) -> dict[str, str]:
        params = self._page_params(page_size)
        if lab_company is not None:
            params[self._paths.filter_lab_company] = lab_company
        if include_company:
            params[self._paths.include_param] = "lab_company"
        return params

    async def get_lab_test(self, lab_test_id: str, *, include_company: bool = False) -> LabTest:
        """One lab test."""
        params = {self._paths.include_param: "lab_company"} if include_company else None
        return await self._get_one(
            _item_path(self._paths.lab_tests, lab_test_id),
            jsonapi.LAB_TEST,
            jsonapi.parse_lab_test,
            params=params,
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
        response = await self._send(
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
        response = await self._send(
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
        key = self._paths.draft_id_metadata_key
        params = self._page_params(None)
        params[self._paths.filter_order_intent_draft_id] = draft_id
        return [
            intent
            async for intent in self._iterate(
                self._paths.order_intents,
                params,
                jsonapi.ORDER_INTENT,
                jsonapi.parse_order_intent,
            )
            if intent.metadata.get(key) == draft_id
        ]

    # -- orders ----------------------------------------------------------------------------

    def orders(
        self,
        patient: str | None = None,
        status: str | Sequence[str] | None = None,
        practitioner: str | None = None,
        *,
        page_size: int | None = None,
    ) -> AsyncIterator[Order]:
        """Orders, newest first, optionally of one patient, practitioner or status.

        Args:
            patient: a patient id.
            status: one status or several (e.g. every non-terminal one, for polling).
            practitioner: a practitioner id (ordering or signing).
            page_size: items per page.
        """
        return self._filtered_orders(patient, status, practitioner, page_size)

    async def _filtered_orders(
        self,
        patient: str | None,
        status: str | Sequence[str] | None,
        practitioner: str | None,
        page_size: int | None,
    ) -> AsyncIterator[Order]:
        params = self._order_params(patient, status, practitioner, page_size)
        async for order in self._iterate(
            self._paths.orders, params, jsonapi.ORDER, jsonapi.parse_order
        ):
            if _order_matches(order, patient, status, practitioner):
                yield order

    async def orders_page(
        self,
        patient: str | None = None,
        status: str | Sequence[str] | None = None,
        practitioner: str | None = None,
        *,
        page_size: int | None = None,
    ) -> Page[Order]:
        """The first page of `orders(...)`; continue with `next_page(page)`."""
        params = self._order_params(patient, status, practitioner, page_size)
        page = await self._get_page(self._paths.orders, params, jsonapi.ORDER, jsonapi.parse_order)
        items = tuple(o for o in page.items if _order_matches(o, patient, status, practitioner))
        return dataclasses.replace(page, items=items)

    def _order_params(
        self,
        patient: str | None,
        status: str | Sequence[str] | None,
        practitioner: str | None,
        page_size: int | None,
    ) -> dict[str, str]:
        params = self._page_params(page_size)
        if patient is not None:
            params[self._paths.filter_patient] = patient
        if status is not None:
            params[self._paths.filter_status] = ",".join(_statuses(status))
        if practitioner is not None:
            params[self._paths.filter_practitioner] = practitioner
        return params

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

    # -- pages -----------------------------------------------------------------------------

    async def next_page(self, page: Page[T]) -> Page[T]:
        """The page after `page`, by its `next_url`.

        Raises:
            ValueError: `page` is the last page (`next_url` is None).
        """
        if page.next_url is None:
            raise ValueError("this is the last page")
        parser = cast(jsonapi.Parser[T], jsonapi.PARSERS[page.resource_type])
        return await self._get_page(httpx.URL(page.next_url), None, page.resource_type, parser)

    # -- files -----------------------------------------------------------------------------

    async def download(self, url: str, destination: Path) -> Path:
        """Download a file (e.g. `OrderedTest.results_pdf`) to `destination`, atomically.

        The body is streamed into a temporary file beside `destination`, flushed to disk and
        renamed over it: `destination` is either the whole file or untouched. The bearer
        token is sent only to the API's own origin (a pre-signed storage URL gets none).

        Returns:
            `destination`.

        Raises:
            DiskFull: no space left; nothing was written.
            DownloadFailed: the file could not be written there.
            NotFound, Forbidden, NetworkError, ...: the download itself failed.
        """
        target = self._base.join(url)
        same_origin = _same_origin(target, self._base)
        try:
            async for attempt in self._retrying(RetryPolicy.SAFE):
                with attempt:
                    return await self._download_once(target, same_origin, destination)
        except _TokenUnavailable as exc:
            raise exc.error from exc.__cause__
        raise AssertionError("unreachable: stamina re-raises the last error")  # pragma: no cover

    async def _download_once(self, target: httpx.URL, authorized: bool, destination: Path) -> Path:
        for first_try in (True, False):
            headers = {"Accept": "*/*"}
            token = ""
            if authorized:
                token = await self._token()
                headers["Authorization"] = f"Bearer {token}"
                await self._limiter.acquire()
            started = time.monotonic()
            try:
                async with self._http.stream("GET", target, headers=headers) as response:
                    self._log("GET", target, response.status_code, started)
                    if response.status_code == 401 and authorized and first_try:
                        await self._tokens.token_rejected(token)
                        continue
                    if not response.is_success:
                        await response.aread()
                        _raise_for_status(response, self._limits)
                    return await _save_stream(
                        response, destination, self._limits.download_chunk_bytes
                    )
            except httpx.TransportError as exc:
                self._log("GET", target, type(exc).__name__, started)
                raise network_error(exc) from exc
        raise SessionExpired()

    # -- the machinery ---------------------------------------------------------------------

    def _page_params(self, page_size: int | None) -> dict[str, str]:
        size = self._limits.page_size if page_size is None else page_size
        size = max(1, min(size, self._limits.max_page_size))
        return {self._paths.page_size_param: str(size)}

    async def _get_one(
        self,
        target: str,
        resource_type: str,
        parser: jsonapi.Parser[T],
        *,
        params: Mapping[str, str] | None = None,
    ) -> T:
        response = await self._send("GET", target, params=params, policy=RetryPolicy.SAFE)
        return self._parse_one(response, resource_type, parser)

    async def _get_page(
        self,
        target: str | httpx.URL,
        params: Mapping[str, str] | None,
        resource_type: str,
        parser: jsonapi.Parser[T],
    ) -> Page[T]:
        response = await self._send("GET", target, params=params, policy=RetryPolicy.SAFE)
        body = _json_body(response)
        try:
            page = jsonapi.parse_page(body, resource_type, parser)
        except jsonapi.MalformedDocument as exc:
            raise _malformed(response, exc) from exc
        if page.skipped:  # a count and a type only: the records may hold patient data
            log.warning("left out %d unreadable %s records of a page", page.skipped, resource_type)
        return page

    async def _iterate(
        self,
        target: str,
        params: Mapping[str, str] | None,
        resource_type: str,
        parser: jsonapi.Parser[T],
    ) -> AsyncIterator[T]:
        page = await self._get_page(target, params, resource_type, parser)
        while True:
            for item in page.items:
                yield item
            if page.next_url is None:
                return
            page = await self._get_page(httpx.URL(page.next_url), None, resource_type, parser)

    def _parse_one(
        self, response: httpx.Response, resource_type: str, parser: jsonapi.Parser[T]
    ) -> T:
        body = _json_body(response)
        try:
            return jsonapi.parse_one(body, resource_type, parser)
        except jsonapi.MalformedDocument as exc:
            raise _malformed(response, exc) from exc

    def _retrying(self, policy: RetryPolicy) -> AsyncIterable[stamina.Attempt]:
        limits = self._limits
        return stamina.retry_context(
            on=_RetryDecision(policy, limits),
            attempts=limits.max_attempts + limits.max_rate_limited_attempts,
            timeout=limits.retry_timeout_s,
            wait_initial=limits.backoff_initial_s,
            wait_max=limits.backoff_max_s,
            wait_jitter=limits.backoff_jitter_s,
        )

    async def _token(self) -> str:
        try:
            return await self._tokens.access_token()
        except RupaError as exc:
            raise _TokenUnavailable(exc) from exc

    async def _send(
        self,
        method: str,
        target: str | httpx.URL,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        policy: RetryPolicy,
    ) -> httpx.Response:
        """Send one API request with pacing, the 401 refresh, typed errors and retries."""
        url = self._url(target)
        content = None if body is None else json.dumps(body).encode()
        try:
            async for attempt in self._retrying(policy):
                with attempt:
                    return await self._send_once(method, url, params, content)
        except _TokenUnavailable as exc:
            raise exc.error from exc.__cause__
        except (NetworkError, ServerError) as exc:
            if policy is RetryPolicy.UNSENT_ONLY and (
                isinstance(exc, ServerError) or exc.request_sent
            ):
                raise OutcomeUnknown(exc) from exc
            raise
        raise AssertionError("unreachable: stamina re-raises the last error")  # pragma: no cover

    async def _send_once(
        self,
        method: str,
        url: httpx.URL,
        params: Mapping[str, str] | None,
        content: bytes | None,
    ) -> httpx.Response:
        for first_try in (True, False):
            token = await self._token()
            headers = {"Authorization": f"Bearer {token}"}
            if content is not None:
                headers["Content-Type"] = JSONAPI_MEDIA_TYPE
            await self._limiter.acquire()
            self.request_count += 1
            started = time.monotonic()
            try:
                response = await self._http.request(
                    method, url, params=params, content=content, headers=headers
                )
            except httpx.TransportError as exc:
                self._log(method, url, type(exc).__name__, started, params)
                raise network_error(exc) from exc
            self._log(method, url, response.status_code, started, params)
            if response.status_code == 401 and first_try:
                await self._tokens.token_rejected(token)
                continue
            _raise_for_status(response, self._limits)
            return response
        raise AssertionError("unreachable: the second 401 raised")  # pragma: no cover

    def _url(self, target: str | httpx.URL) -> httpx.URL:
        """An API path from settings (a str) or a link from Rupa (an `httpx.URL`), made
        absolute; only URLs of the API's own origin are accepted."""
        if isinstance(target, str):
            url = self._base.join(target.lstrip("/"))  # below the API base, whatever its path
        else:
            url = self._base.join(target)  # a link: resolved like a browser would
        if not _same_origin(url, self._base):
            log.warning("refused a link to another origin (%s)", url.host)
            raise MalformedResponse()
        return url

    def _log(
        self,
        method: str,
        url: httpx.URL,
        outcome: int | str,
        started: float,
        params: Mapping[str, str] | None = None,
    ) -> None:
        keys = sorted({*(params or {}), *(k for k, _ in url.params.multi_items())})
        query = ("?" + "&".join(f"{k}=…" for k in keys)) if keys else ""
        elapsed_ms = (time.monotonic() - started) * 1000
        if isinstance(outcome, int) and outcome < 400:
            log.debug("%s %s%s → %s in %.0f ms", method, url.path, query, outcome, elapsed_ms)
        else:
            log.info("%s %s%s → %s in %.0f ms", method, url.path, query, outcome, elapsed_ms)


def _item_path(collection: str, resource_id: str) -> str:
    if not resource_id or "/" in resource_id or resource_id in (".", ".."):
        raise ValueError("not a resource id")
    return f"{collection}/{resource_id}"


def _same_origin(url: httpx.URL, base: httpx.URL) -> bool:
    return (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port)


def _statuses(status: str | Sequence[str]) -> tuple[str, ...]:
    return (status,) if isinstance(status, str) else tuple(status)


def _order_matches(
    order: Order,
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


def _json_body(response: httpx.Response) -> object:
    try:
        return response.json()
    except (ValueError, RecursionError) as exc:  # not JSON, bad UTF-8, absurdly nested
        raise _malformed(response, exc) from exc


def _malformed(response: httpx.Response, exc: Exception) -> MalformedResponse:
    log.warning(
        "malformed answer to %s %s: %s",
        response.request.method,
        response.request.url.path,
        exc if isinstance(exc, jsonapi.MalformedDocument) else type(exc).__name__,
    )
    return MalformedResponse(status=response.status_code)


def _raise_for_status(response: httpx.Response, limits: ClientLimits) -> None:
    """Raise the typed error of a non-2xx response."""
    status = response.status_code
    if response.is_success:
        return
    if status == 429:
        raise RateLimited(retry_after_seconds(response, limits))
    if status >= 500:
        raise ServerError(status)
    try:
        errors = jsonapi.parse_errors(response.json())
    except (ValueError, RecursionError):
        errors = ()
    if status in (400, 422):
        fields: dict[str, tuple[str, ...]] = {}
        general: list[str] = []
        for error in errors:
            text = error.detail or "This value is not valid."
            if error.attribute is None:
                general.append(text)
            else:
                fields[error.attribute] = (*fields.get(error.attribute, ()), text)
        raise ValidationFailed(fields, tuple(general), status=status)
    if status == 401:
        raise SessionExpired(status=401)
    if status == 403:
        raise Forbidden(status=403)
    if status == 404:
        raise NotFound(status=404)
    raise RequestRejected(status=status)


async def _save_stream(response: httpx.Response, destination: Path, chunk_bytes: int) -> Path:
    """Write a streamed body to `destination` atomically (temp file, fsync, rename).

    File-system calls that can block (create, fsync, rename, unlink) run in a worker thread;
    chunk writes go to the page cache and return at once.
    """
    try:
        handle, temp_path = await asyncio.to_thread(_open_temporary_beside, destination)
    except OSError as exc:
        raise _file_error(exc) from exc
    try:
        async for chunk in response.aiter_bytes(chunk_bytes):
            handle.write(chunk)
        await asyncio.to_thread(_commit, handle, temp_path, destination)
    except OSError as exc:
        await asyncio.to_thread(_discard, handle, temp_path)
        raise _file_error(exc) from exc
    except BaseException:
        await asyncio.to_thread(_discard, handle, temp_path)
        raise
    return destination


def _open_temporary_beside(destination: Path) -> tuple[BinaryIO, Path]:
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(
        dir=destination.parent, prefix=f".{destination.name}.", suffix=".part"
    )
    return os.fdopen(fd, "wb"), Path(name)


def _commit(handle: BinaryIO, temp_path: Path, destination: Path) -> None:
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()
    os.replace(temp_path, destination)


def _discard(handle: BinaryIO, temp_path: Path) -> None:
    with contextlib.suppress(OSError):  # closing flushes, which fails again on a full disk
        handle.close()
    temp_path.unlink(missing_ok=True)


def _file_error(exc: OSError) -> RupaError:
    log.warning("could not save a download: %s (errno %s)", type(exc).__name__, exc.errno)
    if exc.errno in _DISK_FULL_ERRNOS:
        return DiskFull()
    return DownloadFailed()
