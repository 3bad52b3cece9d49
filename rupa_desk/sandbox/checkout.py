"""The checkout web page behind an order intent's `checkout_url` (`/checkout/{ordin_id}`).

Signed out, it shows the sign-in page first and comes back. The page shows the patient and
the tests, lets the practitioner search the catalog, add and remove tests (changing the
intent's tests), pick who pays, write notes, and "Submit order": that creates an order in
Pending Payment linked to the intent (which becomes `completed`) and redirects (303) to the
intent's `return_url` with `order=ord_…` added. Submitting again answers the same redirect,
so a double click never makes a second order.
"""

from __future__ import annotations

import secrets

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from rupa_desk.sandbox import lifecycle, pages, web_session
from rupa_desk.sandbox.forms import CheckoutForm
from rupa_desk.sandbox.state import (
    INTENT_COMPLETED,
    INTENT_OPEN,
    LabTest,
    OrderIntent,
    Practitioner,
    SandboxState,
    WebSession,
)
from rupa_desk.sandbox.urls import add_query

MAX_RESULTS = 15


class _PageError(Exception):
    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


class CheckoutPages:
    """`GET /checkout/{id}` and its add, remove and submit forms."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/checkout/{id}", self.show, methods=["GET"]),
            Route("/checkout/{id}/" + CheckoutForm.ADD_ACTION, self.add, methods=["POST"]),
            Route("/checkout/{id}/" + CheckoutForm.REMOVE_ACTION, self.remove, methods=["POST"]),
            Route("/checkout/{id}/" + CheckoutForm.SUBMIT_ACTION, self.submit, methods=["POST"]),
        ]

    def _intent(self, intent_id: str, practitioner: Practitioner) -> OrderIntent:
        intent = self.state.order_intents.get(intent_id)
        if intent is None:
            raise _PageError(404, "Checkout not found", "This checkout link is not valid.")
        if intent.clinic_id != practitioner.clinic_id:
            raise _PageError(
                403, "Not your clinic's order", "This checkout belongs to another clinic."
            )
        return intent

    def _error(self, exc: _PageError, practitioner: Practitioner) -> HTMLResponse:
        page = pages.error_page(exc.title, exc.message, signed_in_as=practitioner.titled_full_name)
        return HTMLResponse(page, status_code=exc.status)

    async def show(self, request: Request) -> Response:
        intent_id = str(request.path_params["id"])
        query = request.query_params.get(CheckoutForm.QUERY, "").strip()
        with self.state.lock:
            signed_in = web_session.current(self.state, request)
            if signed_in is None:
                return web_session.login_response(web_session.here(request))
            session, practitioner = signed_in
            try:
                intent = self._intent(intent_id, practitioner)
            except _PageError as exc:
                return self._error(exc, practitioner)
            if intent.status == INTENT_COMPLETED and intent.order_id is not None:
                page = pages.checkout_done_page(
                    order_id=intent.order_id,
                    return_url=add_query(intent.return_url, {"order": intent.order_id}),
                    practitioner_name=practitioner.titled_full_name,
                )
                return HTMLResponse(page)
            page = self._page(intent, session, practitioner, query=query)
        return HTMLResponse(page)

    def _page(
        self,
        intent: OrderIntent,
        session: WebSession,
        practitioner: Practitioner,
        *,
        query: str,
        error: str | None = None,
        payer: str = "patient",
        notes: str | None = None,
    ) -> str:
        patient = self.state.patients[intent.patient_id]
        cart = [self._row(t) for t in self._tests(intent.lab_test_ids)]
        return pages.checkout_page(
            pages.CheckoutView(
                intent_id=intent.id,
                practitioner_name=practitioner.titled_full_name,
                patient_name=patient.full_name,
                patient_email=patient.email,
                patient_birthday=patient.birthday,
                cart=cart,
                results=[self._row(t) for t in self._search(query)] if query else [],
                query=query,
                notes=intent.notes if notes is None else notes,
                payer=payer,
                csrf_token=session.csrf_token,
                error=error,
            )
        )

    def _tests(self, ids: list[str]) -> list[LabTest]:
        found = []
        for test_id in ids:
            test = self.state.lab_tests.get(test_id) or self.state.retired_lab_tests.get(test_id)
            if test is not None:
                found.append(test)
        return found

    def _row(self, test: LabTest) -> pages.TestRow:
        return pages.TestRow(
            id=test.id,
            name=test.name,
            company=self.state.lab_companies[test.lab_company_id].name,
            price=test.price,
            sample_types=test.sample_types,
            days=test.estimated_days_for_results,
        )

    def _search(self, query: str) -> list[LabTest]:
        """Active tests whose name, lab or biomarkers contain every word of `query` (or the
        test whose id is `query`)."""
        exact = self.state.lab_tests.get(query.strip())
        if exact is not None:
            return [exact] if exact.is_active else []
        words = query.casefold().split()
        companies = {c.id: c.name.casefold() for c in self.state.lab_companies.values()}
        by_name: list[LabTest] = []
        by_other: list[LabTest] = []
        for test in self.state.lab_tests.values():
            if not test.is_active:
                continue
            name = test.name.casefold()
            if all(w in name for w in words):
                by_name.append(test)
                if len(by_name) >= MAX_RESULTS:
                    break
            elif len(by_other) < MAX_RESULTS:
                haystack = " ".join(
                    (name, companies.get(test.lab_company_id, ""), *test.biomarkers)
                ).casefold()
                if all(w in haystack for w in words):
                    by_other.append(test)
        return (by_name + by_other)[:MAX_RESULTS]

    def _checked(
        self, request: Request, form: FormData
    ) -> tuple[WebSession, Practitioner, OrderIntent] | Response:
        intent_id = str(request.path_params["id"])
        signed_in = web_session.current(self.state, request)
        if signed_in is None:
            return web_session.login_response(f"/checkout/{intent_id}")
        session, practitioner = signed_in
        try:
            intent = self._intent(intent_id, practitioner)
        except _PageError as exc:
            return self._error(exc, practitioner)
        if not secrets.compare_digest(
            session.csrf_token, web_session.form_text(form, CheckoutForm.CSRF).strip()
        ):
            return self._error(
                _PageError(400, "Please try again", "This page has expired. Reload the checkout."),
                practitioner,
            )
        return session, practitioner, intent

    async def add(self, request: Request) -> Response:
        return await self._change_cart(request, adding=True)

    async def remove(self, request: Request) -> Response:
        return await self._change_cart(request, adding=False)

    async def _change_cart(self, request: Request, *, adding: bool) -> Response:
        form = await request.form()
        with self.state.lock:
            checked = self._checked(request, form)
            if isinstance(checked, Response):
                return checked
            _, practitioner, intent = checked
            back = f"/checkout/{intent.id}"
            if intent.status != INTENT_OPEN:
                return RedirectResponse(back, status_code=303)
            test_id = web_session.form_text(form, CheckoutForm.LAB_TEST).strip()
            if adding:
                test = self.state.lab_tests.get(test_id)
                if test is None or not test.is_active:
                    return self._error(
                        _PageError(400, "Test unavailable", "That test cannot be ordered now."),
                        practitioner,
                    )
                if test_id not in intent.lab_test_ids:
                    intent.lab_test_ids.append(test_id)
            elif test_id in intent.lab_test_ids:
                intent.lab_test_ids.remove(test_id)
        query = web_session.form_text(form, CheckoutForm.QUERY).strip()
        target = add_query(back, {CheckoutForm.QUERY: query}) if query else back
        return RedirectResponse(target, status_code=303)

    async def submit(self, request: Request) -> Response:
        form = await request.form()
        with self.state.lock:
            checked = self._checked(request, form)
            if isinstance(checked, Response):
                return checked
            session, practitioner, intent = checked
            if intent.status == INTENT_COMPLETED and intent.order_id is not None:
                location = add_query(intent.return_url, {"order": intent.order_id})
                return RedirectResponse(location, status_code=303)
            payer = web_session.form_text(form, CheckoutForm.PAYER).strip() or "patient"
            notes = web_session.form_text(form, CheckoutForm.NOTES).strip()
            orderable = [t.id for t in self._tests(intent.lab_test_ids) if t.is_active]
            problem = None
            if payer not in CheckoutForm.PAYERS:
                problem = "Choose who pays for this order."
            elif not orderable:
                problem = "Add at least one test before submitting the order."
            if problem is not None:
                page = self._page(
                    intent, session, practitioner, query="", error=problem, notes=notes
                )
                return HTMLResponse(page, status_code=400)
            order = lifecycle.create_order(
                self.state,
                clinic_id=intent.clinic_id,
                patient_id=intent.patient_id,
                patients_practitioner_id=intent.practitioner_id,
                signing_practitioner_id=practitioner.id,
                lab_test_ids=orderable,
                payer=payer,
                notes_to_patient=notes,
                order_intent_id=intent.id,
            )
            intent.status = INTENT_COMPLETED
            intent.order_id = order.id
            intent.lab_test_ids = orderable
            location = add_query(intent.return_url, {"order": order.id})
        return RedirectResponse(location, status_code=303)
