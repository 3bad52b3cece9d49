"""The practitioner's web session: sign-in and sign-out pages and the session cookie.

Consent and checkout pages need a signed-in practitioner. Without a session they show the
sign-in page in place (the URL stays), whose form posts to /login and comes back to the page.
The cookie is persistent (30 days) so an embedded browser with a persistent profile stays
signed in, like Rupa's web app.
"""

from __future__ import annotations

import secrets
from typing import Final
from urllib.parse import urlsplit

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from rupa_desk.sandbox import pages
from rupa_desk.sandbox.forms import LOGIN_PATH, LOGOUT_PATH, SESSION_COOKIE, LoginForm
from rupa_desk.sandbox.state import Practitioner, SandboxState, WebSession

SESSION_MAX_AGE_S: Final = 30 * 24 * 3600


def form_text(form: FormData, name: str) -> str:
    """A text field of a posted form ("" when missing or a file)."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def safe_next(value: str | None) -> str:
    """A local path to continue to after sign-in (never another site)."""
    if not value:
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//"):
        return "/"
    return value


def current(state: SandboxState, request: Request) -> tuple[WebSession, Practitioner] | None:
    """The signed-in practitioner of this browser, if any. Caller holds `state.lock`."""
    session = state.web_sessions.get(request.cookies.get(SESSION_COOKIE, ""))
    if session is None:
        return None
    practitioner = state.practitioners.get(session.practitioner_id)
    if practitioner is None:
        return None
    return session, practitioner


def start(state: SandboxState, practitioner: Practitioner) -> WebSession:
    """A new web session for `practitioner`. Caller holds `state.lock`."""
    session = WebSession(
        id=secrets.token_urlsafe(24),
        practitioner_id=practitioner.id,
        csrf_token=secrets.token_urlsafe(16),
    )
    state.web_sessions[session.id] = session
    return session


def set_cookie(response: Response, session: WebSession) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        session.id,
        max_age=SESSION_MAX_AGE_S,
        httponly=True,
        samesite="lax",
        path="/",
    )


def login_response(next_url: str) -> HTMLResponse:
    """The sign-in page in place of a page that needs a session; continues to `next_url`."""
    return HTMLResponse(pages.login_page(safe_next(next_url)))


def here(request: Request) -> str:
    """This request's path and query, as a `next` target."""
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


class WebSessionPages:
    """`GET/POST /login` and `GET /logout`."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def routes(self) -> list[BaseRoute]:
        return [
            Route(LOGIN_PATH, self.login_form, methods=["GET"]),
            Route(LOGIN_PATH, self.login_submit, methods=["POST"]),
            Route(LOGOUT_PATH, self.logout, methods=["GET", "POST"]),
        ]

    async def login_form(self, request: Request) -> Response:
        return HTMLResponse(pages.login_page(safe_next(request.query_params.get("next"))))

    async def login_submit(self, request: Request) -> Response:
        form = await request.form()
        email = form_text(form, LoginForm.EMAIL).strip()
        password = form_text(form, LoginForm.PASSWORD)
        next_url = safe_next(form_text(form, LoginForm.NEXT))
        with self.state.lock:
            practitioner = self.state.practitioner_by_email(email)
            if practitioner is None or not secrets.compare_digest(
                practitioner.password.encode(), password.encode()
            ):
                page = pages.login_page(
                    next_url, error="That email and password do not match.", email=email
                )
                return HTMLResponse(page, status_code=401)
            session = start(self.state, practitioner)
        response = RedirectResponse(next_url, status_code=303)
        set_cookie(response, session)
        return response

    async def logout(self, request: Request) -> Response:
        with self.state.lock:
            self.state.web_sessions.pop(request.cookies.get(SESSION_COOKIE, ""), None)
        response = RedirectResponse(
            safe_next(request.query_params.get("next")) if request.method == "GET" else "/",
            status_code=303,
        )
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
