"""Paths, form field names and element ids of the simulator's web pages, in one place.

The pages (`pages.py`) render them and the test browser (`tests/fixtures/browser.py`) and the
app's embedded-browser tests use them, so a rename happens here and nowhere else.
"""

from __future__ import annotations

from typing import Final

SESSION_COOKIE: Final = "rupa_session"

LOGIN_PATH: Final = "/login"
LOGOUT_PATH: Final = "/logout"
AUTHORIZE_PATH: Final = "/oauth/authorize"
TOKEN_PATH: Final = "/oauth/token"
REVOKE_PATH: Final = "/oauth/revoke_token"
CHECKOUT_PREFIX: Final = "/checkout/"
STYLESHEET_PATH: Final = "/assets/rupa.css"


class LoginForm:
    """The practitioner sign-in form (`POST /login`)."""

    ID: Final = "login-form"
    EMAIL: Final = "email"
    PASSWORD: Final = "password"
    NEXT: Final = "next"
    SUBMIT_ID: Final = "sign-in"


class ConsentForm:
    """The OAuth consent form (`POST /oauth/authorize`); authorize parameters ride as hidden
    fields under their OAuth names."""

    ID: Final = "consent-form"
    CSRF: Final = "csrf_token"
    DECISION: Final = "decision"
    APPROVE: Final = "approve"
    DENY: Final = "deny"
    APPROVE_ID: Final = "approve"
    DENY_ID: Final = "deny"
    PARAMETERS: Final = (
        "response_type",
        "client_id",
        "redirect_uri",
        "state",
        "scope",
        "code_challenge",
        "code_challenge_method",
    )


class CheckoutForm:
    """The checkout page: search, add/remove tests, submit (`/checkout/{ordin_id}/...`)."""

    CSRF: Final = "csrf_token"
    QUERY: Final = "q"
    LAB_TEST: Final = "lab_test_id"
    PAYER: Final = "payer"
    NOTES: Final = "notes_to_patient"
    PAYERS: Final = ("patient", "clinic")
    SEARCH_ID: Final = "test-search"
    SUBMIT_ID: Final = "submit-order"
    SUBMIT_FORM_ID: Final = "submit-form"
    ADD_ACTION: Final = "add"
    REMOVE_ACTION: Final = "remove"
    SUBMIT_ACTION: Final = "submit"
    #: data attribute on each cart row holding the lab test id
    CART_ITEM_ATTR: Final = "data-lab-test-id"
    #: data attribute on each search result row holding the lab test id
    RESULT_ITEM_ATTR: Final = "data-result-test-id"
