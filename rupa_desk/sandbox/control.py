"""The control API under `/_sim/`: steer the simulator from tests, demos and the app's demo mode.

No authentication (the server only listens on loopback, and requests from elsewhere are
refused); never subject to injected faults or rate limits; not in the request log. Bodies and
answers are plain JSON; errors are `{"error": code, "detail": text}` with 400/403/404.

A web page in the browser on this computer can reach loopback too: a cross-site "simple"
POST (text/plain, no preflight) or a DNS-rebinding page (its own host name resolving to
127.0.0.1). So the `Host` header must name the simulator on a loopback name and its own port,
and an `Origin` header, when there is one, must be the simulator's own; otherwise 403.

- `GET /_sim/info` → urls, client id, demo login, ids, config, faults, clock, counts.
- `POST /_sim/faults` with any FaultSettings fields → the fault settings now.
- `POST /_sim/catalog` with `{add: N or [test, ...], change: {id: {field: value}},
  remove: [id, ...]}` → `{added, changed, removed, count}` (all or nothing).
- `POST /_sim/orders` with `{patient?, lab_tests?, practitioner?, status?}` → `{data: order}`.
- `POST /_sim/orders/{id}/advance` with `{}` (one step) or `{to: "Complete"}` (or any later
  status, or "Canceled") → `{data: order, previous_status}`.
- `POST /_sim/ordered_tests/{id}/correct` with `{}` → `{corrected: id}`: a corrected result
  for a test whose results are final (a new result event, `results_hl7` marks it C).
- `POST /_sim/clock` with `{speed?, advance_s?}` → `{speed, sim_time_s, steps}`.
- `POST /_sim/tokens` with `{practitioner?: id or email, client_id?}` → a token response.
- `POST /_sim/tokens/expire` → `{expired: N}`.
- `GET /_sim/requests?since=N` → `{requests: [...], last_seq}`.
- `POST /_sim/demo-consent` with `{authorize_url, approve?: true}` → `{redirect_url}`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import fields, replace
from datetime import datetime
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from rupa_desk.sandbox import lifecycle, tokens
from rupa_desk.sandbox.catalog_data import new_lab_test
from rupa_desk.sandbox.clock import wall_now
from rupa_desk.sandbox.config import (
    DEMO_CLIENT_ID,
    DEMO_LOGIN_EMAIL,
    DEMO_LOGIN_PASSWORD,
    FaultSettings,
    fault_problems,
)
from rupa_desk.sandbox.jsonapi import Serializer
from rupa_desk.sandbox.oauth import (
    AuthorizePageError,
    AuthorizeRedirectError,
    issue_code,
    issuer_of,
    validate_authorize,
)
from rupa_desk.sandbox.state import LabTest, SandboxState

ControlHandler = Callable[[Request, dict[str, Any]], dict[str, Any]]
LOOPBACK_CLIENTS: Final = frozenset({"127.0.0.1", "::1", "localhost", "testclient"})
#: The names a `Host` header may give the simulator (with its port).
LOOPBACK_HOST_NAMES: Final = ("127.0.0.1", "localhost", "[::1]")
CHANGEABLE_TEST_FIELDS: Final = frozenset(
    {
        "name",
        "price",
        "is_active",
        "biomarkers",
        "sample_types",
        "categories",
        "estimated_days_for_results",
        "lab_company",
    }
)


class ControlError(Exception):
    """A control request that cannot be carried out."""

    def __init__(self, status: int, error: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail
        self.extra = extra

    def response(self) -> Response:
        return JSONResponse(
            {"error": self.error, "detail": self.detail, **self.extra}, status_code=self.status
        )


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ControlError(400, "invalid_json", f"The body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ControlError(400, "invalid_json", "The body must be a JSON object.")
    return body


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _refuse_other_sites(request: Request) -> None:
    """Refuse a request that may come from a web page rather than a test or the app (see the
    module): its `Host` or `Origin` is not the simulator's own.

    Raises:
        ControlError: 403.
    """
    server = request.scope.get("server")
    own = {f"{name}:{server[1]}" for name in LOOPBACK_HOST_NAMES} if server else set()
    if request.headers.get("host", "").lower() not in own:
        raise ControlError(
            403, "forbidden", "The control API answers only to its own loopback address (Host)."
        )
    origin = request.headers.get("origin")
    if origin is not None and origin.lower() not in {f"http://{netloc}" for netloc in own}:
        raise ControlError(
            403, "forbidden", "The control API refuses requests from other sites' pages (Origin)."
        )


class ControlEndpoints:
    """Every `/_sim/` route."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/_sim/info", self._guard(self.info), methods=["GET"]),
            Route("/_sim/faults", self._guard(self.faults), methods=["GET", "POST"]),
            Route("/_sim/catalog", self._guard(self.catalog), methods=["POST"]),
            Route("/_sim/orders", self._guard(self.create_order), methods=["POST"]),
            Route("/_sim/orders/{id}/advance", self._guard(self.advance), methods=["POST"]),
            Route("/_sim/ordered_tests/{id}/correct", self._guard(self.correct), methods=["POST"]),
            Route("/_sim/clock", self._guard(self.clock), methods=["GET", "POST"]),
            Route("/_sim/tokens", self._guard(self.issue_tokens), methods=["POST"]),
            Route("/_sim/tokens/expire", self._guard(self.expire_tokens), methods=["POST"]),
            Route("/_sim/requests", self._guard(self.requests), methods=["GET"]),
            Route("/_sim/demo-consent", self._guard(self.demo_consent), methods=["POST"]),
        ]

    def _guard(self, handler: ControlHandler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            host = request.client.host if request.client else ""
            if host not in LOOPBACK_CLIENTS and not host.startswith("127."):
                return ControlError(
                    403, "forbidden", "The control API is loopback-only."
                ).response()
            try:
                _refuse_other_sites(request)
                body = await _json_body(request) if request.method == "POST" else {}
                result: dict[str, Any] = handler(request, body)
            except ControlError as exc:
                return exc.response()
            return JSONResponse(result)

        endpoint.__name__ = handler.__name__
        return endpoint

    # -- info ---------------------------------------------------------------------------------

    def info(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        base = _base_url(request)
        state = self.state
        with state.lock:
            lifecycle.catch_up(state)
            return {
                "base_url": base,
                "authorize_url": f"{base}/oauth/authorize",
                "token_url": f"{base}/oauth/token",
                "revoke_url": f"{base}/oauth/revoke_token",
                "api_base": base,
                "client_id": DEMO_CLIENT_ID,
                "demo_login": {"email": DEMO_LOGIN_EMAIL, "password": DEMO_LOGIN_PASSWORD},
                "demo_practitioner_id": state.demo_practitioner_id,
                "clinic_id": state.demo_clinic_id,
                "other_clinic_id": state.other_clinic_id,
                "config": state.config.public_dict(),
                "faults": state.faults.as_dict(),
                "clock": {"speed": state.clock.speed, "sim_time_s": state.clock.now()},
                "counts": {
                    "lab_companies": len(state.lab_companies),
                    "lab_tests": len(state.lab_tests),
                    "practitioners": len(state.practitioners),
                    "patients": len(state.patients),
                    "order_intents": len(state.order_intents),
                    "orders": len(state.orders),
                    "open_orders": lifecycle.open_order_count(state),
                },
            }

    # -- faults -------------------------------------------------------------------------------

    def faults(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        known = {f.name: f.type for f in fields(FaultSettings)}
        unknown = sorted(set(body) - set(known))
        if unknown:
            raise ControlError(
                400, "unknown_setting", f"Unknown settings {unknown}; known: {sorted(known)}."
            )
        with self.state.lock:
            current = self.state.faults
            changes: dict[str, Any] = {}
            for name, value in body.items():
                default = getattr(current, name)
                if isinstance(default, bool):
                    if not isinstance(value, bool):
                        raise ControlError(400, "invalid_value", f"{name} must be true or false.")
                elif isinstance(default, str):
                    if not isinstance(value, str):
                        raise ControlError(400, "invalid_value", f"{name} must be a string.")
                elif not isinstance(value, int | float) or isinstance(value, bool):
                    raise ControlError(400, "invalid_value", f"{name} must be a number.")
                elif isinstance(default, int):
                    value = int(value)
                else:
                    value = float(value)
                changes[name] = value
            problems = fault_problems(replace(current, **changes))
            if problems:
                raise ControlError(400, "invalid_value", "; ".join(problems))
            for name, value in changes.items():
                setattr(current, name, value)
            if {"rate_limit_per_s", "rate_burst"} & set(changes):
                self.state.rate_limiter.reset()
            return current.as_dict()

    # -- catalog ------------------------------------------------------------------------------

    def catalog(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        state = self.state
        with state.lock:
            add = body.get("add", 0)
            change = body.get("change", {})
            remove = body.get("remove", [])
            if not isinstance(change, dict) or not isinstance(remove, list):
                raise ControlError(400, "invalid_value", "change is an object, remove a list.")
            missing = sorted(
                {str(i) for i in remove if i not in state.lab_tests}
                | {str(i) for i in change if i not in state.lab_tests}
            )
            if missing:
                raise ControlError(404, "not_found", "Unknown lab test ids.", ids=missing)
            now = wall_now()
            for test_id, updates in change.items():
                self._check_updates(test_id, updates)
            additions = self._new_tests(add, now)
            changed = []
            for test_id, updates in change.items():
                self._apply_updates(state.lab_tests[test_id], updates, now)
                changed.append(test_id)
            removed = []
            for test_id in dict.fromkeys(remove):
                state.remove_lab_test(test_id)
                removed.append(test_id)
            for test in additions:
                state.add_lab_test(test)
            return {
                "added": [t.id for t in additions],
                "changed": changed,
                "removed": removed,
                "count": len(state.lab_tests),
            }

    def _new_tests(self, add: Any, now: datetime) -> list[LabTest]:
        state = self.state
        rng = state.data_rng
        companies = list(state.lab_companies.values())
        if isinstance(add, bool) or not isinstance(add, int | list):
            raise ControlError(400, "invalid_value", "add is a number or a list of tests.")
        if isinstance(add, int):
            if not 0 <= add <= 200_000:
                raise ControlError(400, "invalid_value", "add must be between 0 and 200000.")
            return [
                new_lab_test(state.ids, rng.choice(companies), rng, updated_at=now)
                for _ in range(add)
            ]
        tests = []
        for index, spec in enumerate(add):
            if not isinstance(spec, dict):
                raise ControlError(400, "invalid_value", f"add[{index}] must be an object.")
            company_id = spec.get("lab_company", companies[index % len(companies)].id)
            if company_id not in state.lab_companies:
                raise ControlError(404, "not_found", f"Unknown lab company {company_id!r}.")
            test = new_lab_test(
                state.ids,
                state.lab_companies[company_id],
                rng,
                name=spec.get("name"),
                price=spec.get("price"),
                updated_at=now,
            )
            self._check_updates(
                f"add[{index}]", {k: v for k, v in spec.items() if k != "lab_company"}
            )
            self._apply_updates(test, {k: v for k, v in spec.items() if k != "lab_company"}, now)
            tests.append(test)
        return tests

    def _check_updates(self, label: str, updates: Any) -> None:
        if not isinstance(updates, dict):
            raise ControlError(400, "invalid_value", f"Changes for {label} must be an object.")
        unknown = sorted(set(updates) - CHANGEABLE_TEST_FIELDS)
        if unknown:
            raise ControlError(
                400,
                "invalid_value",
                f"Cannot change {unknown}; changeable: {sorted(CHANGEABLE_TEST_FIELDS)}.",
            )
        checks = {
            "name": lambda v: isinstance(v, str) and v.strip() != "",
            "price": lambda v: isinstance(v, int | float) and not isinstance(v, bool) and v >= 0,
            "is_active": lambda v: isinstance(v, bool),
            "biomarkers": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
            "sample_types": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
            "categories": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
            "estimated_days_for_results": lambda v: (
                isinstance(v, int) and not isinstance(v, bool) and v > 0
            ),
            "lab_company": lambda v: v in self.state.lab_companies,
        }
        for name, value in updates.items():
            if not checks[name](value):
                raise ControlError(
                    400, "invalid_value", f"Bad value for {label}.{name}: {value!r}."
                )

    def _apply_updates(self, test: LabTest, updates: dict[str, Any], now: datetime) -> None:
        state = self.state
        for name, value in updates.items():
            if name == "lab_company":
                if value != test.lab_company_id:
                    state.lab_tests_by_company.get(test.lab_company_id, {}).pop(test.id, None)
                    test.lab_company_id = value
                    if test.id in state.lab_tests:
                        state.lab_tests_by_company.setdefault(value, {})[test.id] = None
            elif name == "price":
                test.price = float(value)
            elif name in ("biomarkers", "sample_types", "categories"):
                setattr(test, name, tuple(value))
            else:
                setattr(test, name, value)
        test.updated_at = now

    # -- orders -------------------------------------------------------------------------------

    def create_order(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        state = self.state
        with state.lock:
            practitioner_id = body.get("practitioner", state.demo_practitioner_id)
            practitioner = state.practitioners.get(practitioner_id)
            if practitioner is None:
                raise ControlError(404, "not_found", f"Unknown practitioner {practitioner_id!r}.")
            clinic_patients = [
                p.id for p in state.patients.values() if p.clinic_id == practitioner.clinic_id
            ]
            patient_id = body.get("patient") or (clinic_patients[0] if clinic_patients else None)
            if patient_id not in clinic_patients:
                raise ControlError(
                    404, "not_found", f"Unknown patient {patient_id!r} for that clinic."
                )
            active = [t.id for t in state.lab_tests.values() if t.is_active]
            lab_tests = body.get("lab_tests") or active[:1]
            if (
                not isinstance(lab_tests, list)
                or not lab_tests
                or any(t not in state.lab_tests for t in lab_tests)
            ):
                raise ControlError(404, "not_found", "lab_tests must list known lab test ids.")
            order = lifecycle.create_order(
                state,
                clinic_id=practitioner.clinic_id,
                patient_id=patient_id,
                patients_practitioner_id=practitioner.id,
                signing_practitioner_id=practitioner.id,
                lab_test_ids=list(lab_tests),
                payer=str(body.get("payer", "patient")),
                notes_to_patient=str(body.get("notes_to_patient", "")),
                order_intent_id=None,
            )
            target = body.get("status")
            if target:
                try:
                    lifecycle.move_to(state, order, str(target))
                except lifecycle.LifecycleError as exc:
                    raise ControlError(400, "invalid_transition", str(exc)) from exc
            return {"data": Serializer(state, _base_url(request)).resource(order)}

    def advance(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        state = self.state
        order_id = str(request.path_params["id"])
        with state.lock:
            lifecycle.catch_up(state)
            order = state.orders.get(order_id)
            if order is None:
                raise ControlError(404, "not_found", f"Unknown order {order_id!r}.")
            previous = order.status
            try:
                target = body.get("to")
                if target is None:
                    lifecycle.advance(state, order)
                else:
                    lifecycle.move_to(state, order, str(target))
            except lifecycle.LifecycleError as exc:
                raise ControlError(400, "invalid_transition", str(exc)) from exc
            return {
                "data": Serializer(state, _base_url(request)).resource(order),
                "previous_status": previous,
            }

    def correct(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        state = self.state
        test_id = str(request.path_params["id"])
        with state.lock:
            test = state.ordered_tests.get(test_id)
            if test is None:
                raise ControlError(404, "not_found", f"Unknown ordered test {test_id!r}.")
            try:
                lifecycle.correct(test)
            except lifecycle.LifecycleError as exc:
                raise ControlError(400, "invalid_transition", str(exc)) from exc
            return {"corrected": test.id}

    def clock(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        state = self.state
        speed = body.get("speed")
        jump = body.get("advance_s", 0)
        for name, value in (("speed", speed), ("advance_s", jump)):
            if value is not None and (
                not isinstance(value, int | float) or isinstance(value, bool) or value < 0
            ):
                raise ControlError(400, "invalid_value", f"{name} must be a number >= 0.")
        with state.lock:
            steps = lifecycle.catch_up(state, force=True)
            if speed is not None:
                state.clock.set_speed(float(speed))
            if jump:
                state.clock.jump(float(jump))
                steps += lifecycle.catch_up(state, force=True)
            return {"speed": state.clock.speed, "sim_time_s": state.clock.now(), "steps": steps}

    # -- tokens -------------------------------------------------------------------------------

    def issue_tokens(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        state = self.state
        with state.lock:
            who = str(body.get("practitioner", state.demo_practitioner_id))
            practitioner = state.practitioners.get(who) or state.practitioner_by_email(who)
            if practitioner is None:
                raise ControlError(404, "not_found", f"Unknown practitioner {who!r}.")
            client_id = str(body.get("client_id", DEMO_CLIENT_ID))
            if client_id not in state.clients:
                raise ControlError(404, "not_found", f"Unknown client {client_id!r}.")
            response, _ = tokens.issue(
                state, client_id=client_id, practitioner_id=practitioner.id, scope=""
            )
            return response

    def expire_tokens(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        with self.state.lock:
            return {"expired": tokens.expire_access_tokens(self.state)}

    def requests(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        try:
            since = int(request.query_params.get("since", "0"))
        except ValueError as exc:
            raise ControlError(400, "invalid_value", "since must be an integer.") from exc
        with self.state.lock:
            entries = [dict(e) for e in self.state.request_log if e["seq"] > since]
            return {"requests": entries, "last_seq": self.state.request_seq}

    def demo_consent(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        url = body.get("authorize_url")
        if not isinstance(url, str) or not url:
            raise ControlError(400, "invalid_request", "authorize_url is required.")
        params = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
        state = self.state
        with state.lock:
            try:
                auth = validate_authorize(state, params, issuer_of(request))
            except AuthorizePageError as exc:
                raise ControlError(400, "invalid_request", exc.message) from exc
            except AuthorizeRedirectError as exc:
                return {"redirect_url": exc.redirect_url}
            if body.get("approve", True) is False:
                return {"redirect_url": auth.error_redirect("access_denied", "Denied.")}
            return {"redirect_url": issue_code(state, auth, state.demo_practitioner_id)}
