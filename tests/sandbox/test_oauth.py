"""OAuth 2.0 on the simulator over real HTTP: authorize pages, PKCE, codes, refresh, revoke."""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx
import pytest

from rupa_desk.sandbox.__main__ import config_from, parse_args
from rupa_desk.sandbox.config import DEMO_CLIENT_ID, RegisteredClient
from rupa_desk.sandbox.server import SandboxServer
from tests.fixtures.browser import Page, PractitionerBrowser
from tests.fixtures.sandbox import (
    DEMO_REDIRECT_URI,
    SandboxControl,
    SandboxFactory,
    authorize_url,
    code_from,
    new_pkce,
    sign_in,
    small_config,
)


def token_request(server: SandboxServer, **form: str) -> httpx.Response:
    return httpx.post(server.url + "/oauth/token", data=form)


def exchange(
    server: SandboxServer, code: str, verifier: str, *, redirect_uri: str = DEMO_REDIRECT_URI
) -> httpx.Response:
    return token_request(
        server,
        grant_type="authorization_code",
        code=code,
        redirect_uri=redirect_uri,
        client_id=DEMO_CLIENT_ID,
        code_verifier=verifier,
    )


def approved_code(server: SandboxServer, browser: PractitionerBrowser) -> tuple[str, str]:
    verifier, challenge = new_pkce()
    location = browser.approve(authorize_url(server.url, challenge=challenge))
    return code_from(location), verifier


def assert_oauth_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error, body
    assert body["error_description"]
    assert response.headers["cache-control"] == "no-store"


def me(server: SandboxServer, access_token: str) -> httpx.Response:
    return httpx.get(
        server.url + "/practitioners/me", headers={"Authorization": f"Bearer {access_token}"}
    )


def test_happy_path_with_pkce_signs_in_and_calls_the_api(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    verifier, challenge = new_pkce()
    url = authorize_url(sandbox.url, challenge=challenge, state="xyz")

    first = Page.parse(practitioner_browser.get(url))
    assert first.is_login, "a signed-out practitioner sees the sign-in page first"
    location = practitioner_browser.approve(url)

    assert location.startswith("http://127.0.0.1:53682/oauth/callback?")
    code = code_from(location, state="xyz")
    response = exchange(sandbox, code, verifier)
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 36000
    assert tokens["access_token"]
    assert tokens["refresh_token"]
    assert "scope" in tokens
    assert response.headers["cache-control"] == "no-store"

    profile = me(sandbox, tokens["access_token"])
    assert profile.status_code == 200
    assert profile.json()["data"]["attributes"]["email"] == "demo@rupa-desk.test"


def test_consent_page_names_the_app_and_the_practitioner(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    _, challenge = new_pkce()
    page = practitioner_browser.consent_page(authorize_url(sandbox.url, challenge=challenge))
    assert "Rupa Desk" in page.html
    assert "Dr. Morgan Demo" in page.html
    assert {b["value"] for b in page.form("consent-form").buttons} == {"approve", "deny"}  # type: ignore[union-attr]


def test_a_signed_in_practitioner_goes_straight_to_consent(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    practitioner_browser.login()
    _, challenge = new_pkce()
    page = Page.parse(practitioner_browser.get(authorize_url(sandbox.url, challenge=challenge)))
    assert not page.is_login
    assert page.form("consent-form") is not None


def test_wrong_password_is_refused(sandbox: SandboxServer) -> None:
    with PractitionerBrowser(sandbox.url, password="not-the-password") as browser:
        response = browser.client.post(
            "/login", data={"email": "demo@rupa-desk.test", "password": "nope", "next": "/"}
        )
        assert response.status_code == 401
        assert "do not match" in response.text
        assert "rupa_session" not in browser.client.cookies


def test_deny_redirects_with_access_denied_and_state(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    _, challenge = new_pkce()
    location = practitioner_browser.deny(
        authorize_url(sandbox.url, challenge=challenge, state="s1")
    )
    params = httpx.URL(location).params
    assert location.startswith(DEMO_REDIRECT_URI)
    assert params["error"] == "access_denied"
    assert params["state"] == "s1"
    assert "code" not in params


def test_wrong_verifier_is_invalid_grant(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    code, _ = approved_code(sandbox, practitioner_browser)
    other_verifier, _ = new_pkce()
    assert_oauth_error(exchange(sandbox, code, other_verifier), 400, "invalid_grant")


def test_missing_verifier_is_invalid_request(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    code, _ = approved_code(sandbox, practitioner_browser)
    response = token_request(
        sandbox,
        grant_type="authorization_code",
        code=code,
        redirect_uri=DEMO_REDIRECT_URI,
        client_id=DEMO_CLIENT_ID,
    )
    assert_oauth_error(response, 400, "invalid_request")


def test_redirect_uri_must_match_the_authorization_request(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    code, verifier = approved_code(sandbox, practitioner_browser)
    response = exchange(
        sandbox, code, verifier, redirect_uri="http://127.0.0.1:9999/oauth/callback"
    )
    assert_oauth_error(response, 400, "invalid_grant")


def test_a_code_works_once_and_reuse_revokes_its_tokens(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    code, verifier = approved_code(sandbox, practitioner_browser)
    first = exchange(sandbox, code, verifier)
    assert first.status_code == 200
    assert_oauth_error(exchange(sandbox, code, verifier), 400, "invalid_grant")
    # RFC 6749 §4.1.2: what the code was exchanged for stops working.
    assert me(sandbox, first.json()["access_token"]).status_code == 401
    refresh = token_request(
        sandbox,
        grant_type="refresh_token",
        refresh_token=first.json()["refresh_token"],
        client_id=DEMO_CLIENT_ID,
    )
    assert_oauth_error(refresh, 400, "invalid_grant")


def test_an_expired_code_is_invalid_grant(sandbox_factory: SandboxFactory) -> None:
    server = sandbox_factory(code_ttl_s=1)
    with PractitionerBrowser(server.url) as browser:
        code, verifier = approved_code(server, browser)
    time.sleep(1.1)
    assert_oauth_error(exchange(server, code, verifier), 400, "invalid_grant")


def test_unknown_code_is_invalid_grant(sandbox: SandboxServer) -> None:
    verifier, _ = new_pkce()
    assert_oauth_error(exchange(sandbox, "ac_made-up", verifier), 400, "invalid_grant")


def test_refresh_rotates_and_the_old_refresh_token_stops_working(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    tokens = sign_in(sandbox.url, practitioner_browser)

    def refresh(token: str) -> httpx.Response:
        return token_request(
            sandbox, grant_type="refresh_token", refresh_token=token, client_id=DEMO_CLIENT_ID
        )

    rotated = refresh(tokens["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()
    assert new["refresh_token"] != tokens["refresh_token"]
    assert new["access_token"] != tokens["access_token"]
    assert me(sandbox, new["access_token"]).status_code == 200

    assert_oauth_error(refresh(tokens["refresh_token"]), 400, "invalid_grant")
    assert refresh(new["refresh_token"]).status_code == 200


def test_rotation_also_revokes_the_access_token_issued_with_the_old_refresh_token(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    """As Django OAuth Toolkit does: one live access token per chain."""
    tokens = sign_in(sandbox.url, practitioner_browser)
    rotated = token_request(
        sandbox,
        grant_type="refresh_token",
        refresh_token=tokens["refresh_token"],
        client_id=DEMO_CLIENT_ID,
    ).json()
    assert me(sandbox, rotated["access_token"]).status_code == 200
    assert me(sandbox, tokens["access_token"]).status_code == 401


def test_with_reuse_protection_a_reused_refresh_token_revokes_its_whole_chain(
    sandbox_factory: SandboxFactory,
) -> None:
    """RFC 9700 §4.14.2: a rotated refresh token used again may be a thief's, so every token
    of the sign-in stops working, the newest ones included."""
    server = sandbox_factory(refresh_token_reuse_protection=True)

    def refresh(token: str) -> httpx.Response:
        return token_request(
            server, grant_type="refresh_token", refresh_token=token, client_id=DEMO_CLIENT_ID
        )

    with PractitionerBrowser(server.url) as browser:
        first = sign_in(server.url, browser)
        other_sign_in = sign_in(server.url, browser)
    second = refresh(first["refresh_token"]).json()
    third = refresh(second["refresh_token"]).json()
    assert me(server, third["access_token"]).status_code == 200

    assert_oauth_error(refresh(first["refresh_token"]), 400, "invalid_grant")  # reused
    assert me(server, third["access_token"]).status_code == 401
    assert_oauth_error(refresh(third["refresh_token"]), 400, "invalid_grant")
    # another sign-in's chain is untouched
    assert me(server, other_sign_in["access_token"]).status_code == 200
    assert refresh(other_sign_in["refresh_token"]).status_code == 200


def test_reuse_protection_is_a_fault_setting_and_off_by_default(
    sandbox: SandboxServer, sandbox_control: SandboxControl
) -> None:
    assert sandbox_control.info()["faults"]["refresh_token_reuse_protection"] is False
    faults = sandbox_control.set_faults(refresh_token_reuse_protection=True)
    assert faults["refresh_token_reuse_protection"] is True


def test_the_oauth_switches_are_command_line_options_too() -> None:
    args = parse_args(["--refresh-token-reuse-protection", "--oauth-redirect-status", "301"])
    config = config_from(args)
    assert config.refresh_token_reuse_protection is True
    assert config.oauth_redirect_status == 301
    assert config_from(parse_args([])).refresh_token_reuse_protection is False
    with pytest.raises(ValueError, match="oauth_redirect_status"):
        config_from(parse_args(["--oauth-redirect-status", "200"]))


def test_the_answer_at_the_redirect_uri_names_the_issuer(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    """RFC 9207 `iss`, on a code and on an error alike: the simulator's base URL."""
    _, challenge = new_pkce()
    approved = practitioner_browser.approve(authorize_url(sandbox.url, challenge=challenge))
    denied = practitioner_browser.deny(authorize_url(sandbox.url, challenge=challenge))
    bad = httpx.get(
        authorize_url(sandbox.url, challenge=challenge, response_type="token"),
        follow_redirects=False,
    )
    for location in (approved, denied, bad.headers["location"]):
        assert httpx.URL(location).params["iss"] == sandbox.url, location


@pytest.mark.parametrize("status", [301, 307, 308])
def test_token_and_revoke_can_answer_with_a_redirect_like_a_django_server(
    sandbox: SandboxServer, sandbox_control: SandboxControl, tokens: dict[str, Any], status: int
) -> None:
    """A Django server whose OAuth paths end in a slash redirects the slashless POST."""
    sandbox_control.set_faults(oauth_redirect_status=status)
    for path in ("/oauth/token", "/oauth/revoke_token"):
        response = httpx.post(
            sandbox.url + path,
            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        )
        assert response.status_code == status
        assert response.headers["location"].endswith(path + "/")
    sandbox_control.set_faults(oauth_redirect_status=0)
    refreshed = token_request(
        sandbox,
        grant_type="refresh_token",
        refresh_token=tokens["refresh_token"],
        client_id=DEMO_CLIENT_ID,
    )
    assert refreshed.status_code == 200  # the redirected requests changed nothing


def test_expired_access_tokens_are_refused_until_refreshed(
    sandbox: SandboxServer, sandbox_control: SandboxControl, tokens: dict[str, Any]
) -> None:
    assert me(sandbox, tokens["access_token"]).status_code == 200
    assert sandbox_control.expire_tokens() >= 1

    expired = me(sandbox, tokens["access_token"])
    assert expired.status_code == 401
    assert expired.json()["errors"][0]["code"] == "token_expired"
    assert 'error="invalid_token"' in expired.headers["www-authenticate"]

    fresh = token_request(
        sandbox,
        grant_type="refresh_token",
        refresh_token=tokens["refresh_token"],
        client_id=DEMO_CLIENT_ID,
    ).json()
    assert me(sandbox, fresh["access_token"]).status_code == 200


def test_short_lived_access_tokens_expire(sandbox_factory: SandboxFactory) -> None:
    server = sandbox_factory(access_token_ttl_s=1)
    with SandboxControl(server.url) as control:
        tokens = control.issue_tokens()
    assert tokens["expires_in"] == 1
    assert me(server, tokens["access_token"]).status_code == 200
    time.sleep(1.1)
    assert me(server, tokens["access_token"]).status_code == 401


def test_token_endpoint_errors(sandbox: SandboxServer) -> None:
    assert_oauth_error(
        token_request(sandbox, grant_type="refresh_token", refresh_token="x", client_id="nope"),
        401,
        "invalid_client",
    )
    assert_oauth_error(
        token_request(sandbox, grant_type="password", client_id=DEMO_CLIENT_ID),
        400,
        "unsupported_grant_type",
    )
    assert_oauth_error(token_request(sandbox, client_id=DEMO_CLIENT_ID), 400, "invalid_request")
    assert_oauth_error(
        token_request(sandbox, grant_type="refresh_token", client_id=DEMO_CLIENT_ID),
        400,
        "invalid_request",
    )


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://127.0.0.1:1/oauth/callback",
        "http://127.0.0.1:65000/oauth/callback",
        "http://[::1]:8080/oauth/callback",
        "http://localhost:43210/oauth/callback",
    ],
)
def test_loopback_redirect_uris_match_on_any_port(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser, redirect_uri: str
) -> None:
    verifier, challenge = new_pkce()
    location = practitioner_browser.approve(
        authorize_url(sandbox.url, challenge=challenge, redirect_uri=redirect_uri)
    )
    assert location.startswith(redirect_uri + "?")
    assert exchange(sandbox, code_from(location), verifier, redirect_uri=redirect_uri).is_success


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://127.0.0.1:8080/other/callback",
        "https://127.0.0.1:8080/oauth/callback",
        "http://evil.example:8080/oauth/callback",
        "http://127.0.0.1:8080/oauth/callback#fragment",
    ],
)
def test_unregistered_redirect_uri_shows_an_error_page_not_a_redirect(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser, redirect_uri: str
) -> None:
    _, challenge = new_pkce()
    response = practitioner_browser.get(
        authorize_url(sandbox.url, challenge=challenge, redirect_uri=redirect_uri)
    )
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert "not a registered redirect URI" in response.text


def test_unknown_client_shows_an_error_page(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    _, challenge = new_pkce()
    response = practitioner_browser.get(
        authorize_url(sandbox.url, challenge=challenge, client_id="who-is-this")
    )
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "Unknown application" in response.text


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({}, "invalid_request"),  # no code_challenge: PKCE is required
        ({"code_challenge": "x" * 43, "code_challenge_method": "plain"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ],
)
def test_bad_authorize_requests_redirect_with_an_error(
    sandbox: SandboxServer,
    practitioner_browser: PractitionerBrowser,
    extra: dict[str, str],
    expected: str,
) -> None:
    response = practitioner_browser.get(
        authorize_url(sandbox.url, challenge=None, state="st", **extra)
    )
    assert response.status_code == 302
    params = httpx.URL(response.headers["location"]).params
    assert params["error"] == expected
    assert params["state"] == "st"


def test_confidential_client_must_authenticate(sandbox_factory: SandboxFactory) -> None:
    client = RegisteredClient(client_id="partner-app", client_secret="s3cret", name="Partner App")
    server = sandbox_factory(small_config(clients=(client,)))
    with PractitionerBrowser(server.url) as browser:
        tokens = sign_in(server.url, browser, client_id="partner-app", client_secret="s3cret")
    assert tokens["access_token"]

    def refresh(**auth: str) -> httpx.Response:
        return httpx.post(
            server.url + "/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], **auth},
        )

    assert_oauth_error(
        refresh(client_id="partner-app", client_secret="wrong"), 401, "invalid_client"
    )
    assert_oauth_error(refresh(client_id="partner-app"), 401, "invalid_client")
    basic = base64.b64encode(b"partner-app:s3cret").decode()
    ok = httpx.post(
        server.url + "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert ok.status_code == 200, ok.text


def test_revoking_the_refresh_token_ends_the_session(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    tokens = sign_in(sandbox.url, practitioner_browser)
    revoke = httpx.post(
        sandbox.url + "/oauth/revoke_token",
        data={"token": tokens["refresh_token"], "client_id": DEMO_CLIENT_ID},
    )
    assert revoke.status_code == 200
    assert me(sandbox, tokens["access_token"]).status_code == 401
    refresh = token_request(
        sandbox,
        grant_type="refresh_token",
        refresh_token=tokens["refresh_token"],
        client_id=DEMO_CLIENT_ID,
    )
    assert_oauth_error(refresh, 400, "invalid_grant")


def test_revoke_answers_200_for_unknown_tokens_but_checks_the_client(
    sandbox: SandboxServer,
) -> None:
    url = sandbox.url + "/oauth/revoke_token"
    assert (
        httpx.post(url, data={"token": "nothing", "client_id": DEMO_CLIENT_ID}).status_code == 200
    )
    assert_oauth_error(
        httpx.post(url, data={"token": "nothing", "client_id": "nope"}), 401, "invalid_client"
    )
    assert_oauth_error(httpx.post(url, data={"client_id": DEMO_CLIENT_ID}), 400, "invalid_request")


def test_demo_consent_approves_as_the_demo_practitioner(
    sandbox: SandboxServer, sandbox_control: SandboxControl
) -> None:
    verifier, challenge = new_pkce()
    location = sandbox_control.demo_consent(
        authorize_url(sandbox.url, challenge=challenge, state="demo-state")
    )
    assert location.startswith(DEMO_REDIRECT_URI + "?")
    response = exchange(sandbox, code_from(location, state="demo-state"), verifier)
    assert response.status_code == 200
    assert (
        me(sandbox, response.json()["access_token"]).json()["data"]["id"]
        == (sandbox_control.info()["demo_practitioner_id"])
    )


def test_demo_consent_refuses_an_unregistered_redirect_uri(
    sandbox: SandboxServer, sandbox_control: SandboxControl
) -> None:
    _, challenge = new_pkce()
    url = authorize_url(sandbox.url, challenge=challenge, redirect_uri="http://evil.example/cb")
    response = sandbox_control.client.post("/_sim/demo-consent", json={"authorize_url": url})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
