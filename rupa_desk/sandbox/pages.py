"""HTML of the simulator's web pages: sign-in, consent, errors and checkout.

Plain server-rendered HTML with one stylesheet; every form is an ordinary POST so the pages
work in any browser, in the app's embedded web view and in the httpx-based test browser.
Field names and ids come from `forms.py`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from importlib import resources

from rupa_desk.sandbox.forms import (
    LOGIN_PATH,
    LOGOUT_PATH,
    STYLESHEET_PATH,
    CheckoutForm,
    ConsentForm,
    LoginForm,
)


def stylesheet() -> str:
    """The pages' CSS (shipped as package data)."""
    return resources.files("rupa_desk.sandbox").joinpath("rupa.css").read_text(encoding="utf-8")


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def layout(title: str, body: str, *, signed_in_as: str | None = None, narrow: bool = False) -> str:
    """A complete page around `body`."""
    who = ""
    if signed_in_as:
        who = (
            f'<div class="who">Signed in as {_e(signed_in_as)}'
            f'<a href="{LOGOUT_PATH}">Sign out</a></div>'
        )
    main_class = ' class="narrow"' if narrow else ""
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)} · Rupa Health</title>"
        f'<link rel="stylesheet" href="{STYLESHEET_PATH}"></head><body>'
        '<header class="top"><div class="brand">Rupa Health'
        "<small>simulator</small></div>"
        f"{who}</header>"
        f"<main{main_class}>{body}</main>"
        '<footer class="bottom">Built-in Rupa simulator for Rupa Desk demo mode and tests. '
        "No real patients, orders or payments.</footer>"
        "</body></html>"
    )


def _hidden(name: str, value: str) -> str:
    return f'<input type="hidden" name="{_e(name)}" value="{_e(value)}">'


def login_page(next_url: str, *, error: str | None = None, email: str = "") -> str:
    """The practitioner sign-in page; it posts to /login and then continues to `next_url`."""
    problem = f'<div class="error" role="alert">{_e(error)}</div>' if error else ""
    body = (
        '<div class="card">'
        "<h1>Sign in to Rupa</h1>"
        '<p class="lead">Practitioner account</p>'
        f"{problem}"
        f'<form id="{LoginForm.ID}" method="post" action="{LOGIN_PATH}">'
        f"{_hidden(LoginForm.NEXT, next_url)}"
        f'<label for="{LoginForm.EMAIL}">Email</label>'
        f'<input type="email" id="{LoginForm.EMAIL}" name="{LoginForm.EMAIL}" '
        f'value="{_e(email)}" autocomplete="username" required autofocus>'
        f'<label for="{LoginForm.PASSWORD}">Password</label>'
        f'<input type="password" id="{LoginForm.PASSWORD}" name="{LoginForm.PASSWORD}" '
        'autocomplete="current-password" required>'
        f'<button type="submit" id="{LoginForm.SUBMIT_ID}" class="primary wide">Sign in</button>'
        "</form>"
        '<p class="hint">Demo account: demo@rupa-desk.test / demo</p>'
        "</div>"
    )
    return layout("Sign in", body, narrow=True)


def consent_page(
    *,
    client_name: str,
    practitioner_name: str,
    clinic_name: str,
    redirect_uri: str,
    parameters: Mapping[str, str],
    csrf_token: str,
) -> str:
    """Approve or deny an application's access to the practitioner's Rupa account."""
    hidden = "".join(_hidden(name, parameters.get(name, "")) for name in ConsentForm.PARAMETERS)
    body = (
        '<div class="card">'
        f"<h1>Allow {_e(client_name)} to use your Rupa account?</h1>"
        f'<p class="lead">{_e(practitioner_name)} · {_e(clinic_name)}</p>'
        f"<p>{_e(client_name)} will be able to:</p>"
        '<ul class="scopes">'
        "<li>see your practitioner profile and clinic</li>"
        "<li>see and create patients</li>"
        "<li>browse the lab catalog and prepare orders for your review</li>"
        "<li>see your orders and their results</li>"
        "</ul>"
        f'<p class="hint">You will be sent back to {_e(redirect_uri)}</p>'
        f'<form id="{ConsentForm.ID}" method="post" action="/oauth/authorize">'
        f"{hidden}{_hidden(ConsentForm.CSRF, csrf_token)}"
        '<div class="actions">'
        f'<button type="submit" id="{ConsentForm.DENY_ID}" class="secondary" '
        f'name="{ConsentForm.DECISION}" value="{ConsentForm.DENY}">Deny</button>'
        f'<button type="submit" id="{ConsentForm.APPROVE_ID}" class="primary" '
        f'name="{ConsentForm.DECISION}" value="{ConsentForm.APPROVE}">Approve</button>'
        "</div></form></div>"
    )
    return layout("Authorize", body, signed_in_as=practitioner_name, narrow=True)


def error_page(title: str, message: str, *, signed_in_as: str | None = None) -> str:
    """An error shown in the browser (e.g. an unregistered redirect URI)."""
    body = (
        '<div class="card">'
        f"<h1>{_e(title)}</h1>"
        f'<p class="error" role="alert">{_e(message)}</p>'
        "</div>"
    )
    return layout(title, body, signed_in_as=signed_in_as, narrow=True)


@dataclass(frozen=True)
class TestRow:
    """A lab test as the checkout page shows it."""

    id: str
    name: str
    company: str
    price: float
    sample_types: Sequence[str]
    days: int


@dataclass(frozen=True)
class CheckoutView:
    """Everything the checkout page shows."""

    intent_id: str
    practitioner_name: str
    patient_name: str
    patient_email: str
    patient_birthday: str | None
    cart: Sequence[TestRow]
    results: Sequence[TestRow]
    query: str
    notes: str
    payer: str
    csrf_token: str
    error: str | None = None


def _money(amount: float) -> str:
    return f"${amount:,.2f}"


def _test_cells(row: TestRow) -> str:
    samples = "".join(f'<span class="tag">{_e(s)}</span>' for s in row.sample_types)
    return (
        f"<td><strong>{_e(row.name)}</strong><br>"
        f'<span class="muted">{_e(row.company)}</span> {samples}</td>'
        f'<td class="muted">{row.days} days</td>'
        f'<td class="price">{_money(row.price)}</td>'
    )


def checkout_page(view: CheckoutView) -> str:
    """The order review page: patient, tests (add/remove), payer, notes, Submit order."""
    base = f"/checkout/{_e(view.intent_id)}"
    csrf = _hidden(CheckoutForm.CSRF, view.csrf_token)
    keep_query = _hidden(CheckoutForm.QUERY, view.query)
    cart_rows = "".join(
        f'<tr {CheckoutForm.CART_ITEM_ATTR}="{_e(row.id)}">{_test_cells(row)}<td>'
        f'<form method="post" action="{base}/{CheckoutForm.REMOVE_ACTION}">{csrf}{keep_query}'
        f"{_hidden(CheckoutForm.LAB_TEST, row.id)}"
        '<button type="submit" class="danger-link">Remove</button></form></td></tr>'
        for row in view.cart
    )
    total = sum(row.price for row in view.cart)
    if not view.cart:
        cart_rows = (
            '<tr><td colspan="4" class="muted">No tests yet: search the catalog below.</td></tr>'
        )
    in_cart = {row.id for row in view.cart}
    result_rows = "".join(
        f'<tr {CheckoutForm.RESULT_ITEM_ATTR}="{_e(row.id)}">{_test_cells(row)}<td>'
        + (
            '<span class="muted">Added</span>'
            if row.id in in_cart
            else f'<form method="post" action="{base}/{CheckoutForm.ADD_ACTION}">{csrf}'
            f"{keep_query}{_hidden(CheckoutForm.LAB_TEST, row.id)}"
            '<button type="submit" class="link">Add</button></form>'
        )
        + "</td></tr>"
        for row in view.results
    )
    if view.query and not view.results:
        result_rows = f'<tr><td class="muted">No tests match “{_e(view.query)}”.</td></tr>'
    problem = f'<div class="error" role="alert">{_e(view.error)}</div>' if view.error else ""
    payer_options = "".join(
        f'<option value="{p}"{" selected" if p == view.payer else ""}>'
        f"{'Patient pays' if p == 'patient' else 'Clinic pays'}</option>"
        for p in CheckoutForm.PAYERS
    )
    birthday = (
        _e(view.patient_birthday) if view.patient_birthday else '<span class="muted">—</span>'
    )
    body = (
        f"<h1>Review order</h1>"
        f'<p class="lead">Check the patient and tests, then submit the order.</p>{problem}'
        '<div class="card patient"><h2>Patient</h2><dl>'
        f'<dt>Name</dt><dd id="patient-name">{_e(view.patient_name)}</dd>'
        f"<dt>Email</dt><dd>{_e(view.patient_email)}</dd>"
        f"<dt>Birthday</dt><dd>{birthday}</dd>"
        "</dl></div>"
        '<div class="card"><h2>Tests</h2><table id="cart">'
        '<thead><tr><th>Test</th><th>Results in</th><th class="price">Price</th><th></th></tr>'
        f"</thead><tbody>{cart_rows}</tbody>"
        f'<tfoot><tr><td colspan="2">Total</td><td class="price" id="order-total">'
        f"{_money(total)}</td><td></td></tr></tfoot></table></div>"
        '<div class="card"><h2>Add tests</h2>'
        f'<form class="search" method="get" action="{base}">'
        f'<input type="search" id="{CheckoutForm.SEARCH_ID}" name="{CheckoutForm.QUERY}" '
        f'value="{_e(view.query)}" placeholder="Search tests, biomarkers or labs">'
        '<button type="submit" class="secondary">Search</button></form>'
        f'<table id="search-results"><tbody>{result_rows}</tbody></table></div>'
        f'<div class="card"><form id="{CheckoutForm.SUBMIT_FORM_ID}" method="post" '
        f'action="{base}/{CheckoutForm.SUBMIT_ACTION}">{csrf}'
        '<div class="row"><div>'
        f'<label for="{CheckoutForm.PAYER}">Payment</label>'
        f'<select id="{CheckoutForm.PAYER}" name="{CheckoutForm.PAYER}">{payer_options}</select>'
        "</div></div>"
        f'<label for="{CheckoutForm.NOTES}">Notes to patient</label>'
        f'<textarea id="{CheckoutForm.NOTES}" name="{CheckoutForm.NOTES}">{_e(view.notes)}'
        "</textarea>"
        f'<button type="submit" id="{CheckoutForm.SUBMIT_ID}" class="primary wide">'
        "Submit order</button></form></div>"
    )
    return layout("Checkout", body, signed_in_as=view.practitioner_name)


def checkout_done_page(*, order_id: str, return_url: str, practitioner_name: str) -> str:
    """Shown when an already submitted checkout is opened again."""
    body = (
        '<div class="card"><h1>Order submitted</h1>'
        f'<p class="lead">This checkout was already submitted as order {_e(order_id)}.</p>'
        f'<a class="button primary" id="return-link" href="{_e(return_url)}">Return</a>'
        "</div>"
    )
    return layout("Order submitted", body, signed_in_as=practitioner_name, narrow=True)
