"""Demo mode: the built-in Rupa simulator, started for the app, and a sign-in without a browser.

`rupa-desk --demo` runs the simulator in this process on a free loopback port and points the
app at it (`rupa_desk.settings.demo(url)`); the app then signs in through the very same
sign-in code and API client as against Rupa. On a computer where no browser opens, the app
finishes the simulator's demo consent itself (`complete_demo_consent`): it asks the
simulator's control API for the consent answer the demo practitioner would give, then follows
the redirect to its own loopback listener, just as the browser would. The sign-in page says
that this is happening.

Demo mode starts the Epic simulator too (`start_epic_simulator`), and the desk connects to it
as to an Epic organisation: its sign-in page takes Epic's sandbox test user.

This is the composition root's helper, not a service: only `rupa_desk.app` uses it.
"""

from __future__ import annotations

import logging
from typing import Final

import httpx

from rupa_desk.epic_sandbox.config import DEMO_CLIENT_ID as EPIC_DEMO_CLIENT_ID
from rupa_desk.epic_sandbox.config import EpicConfig
from rupa_desk.epic_sandbox.server import EpicServer
from rupa_desk.sandbox.config import SandboxConfig
from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.settings import EpicSettings

log = logging.getLogger(__name__)

DEMO_CONSENT_PATH: Final = "/_sim/demo-consent"
CONSENT_TIMEOUT_S: Final = 30.0
#: The demo clinic's order history (two years of orders, for the reports).
DEMO_HISTORY_ORDERS: Final = 3000


class DemoConsentError(Exception):
    """The simulator did not give a consent answer (the user can still copy the link)."""


def start_simulator(
    *, lab_tests: int, seed: int, history_orders: int = DEMO_HISTORY_ORDERS
) -> SandboxServer:
    """Start the simulator on 127.0.0.1 and a free port; `.stop()` it when done.

    It is as strict as a Rupa server may be about refresh tokens: one used twice ends the
    session (RFC 9700 reuse protection), so demo mode shows the app never does that.

    Args:
        lab_tests: how many lab tests its catalog holds.
        seed: its data seed (the same seed gives the same data).
        history_orders: the size of the demo clinic's order history.
    """
    config = SandboxConfig(
        lab_tests=lab_tests,
        seed=seed,
        history_orders=history_orders,
        refresh_token_reuse_protection=True,
    )
    server = SandboxServer(config)
    log.info("demo simulator on %s with %d lab tests", server.url, lab_tests)
    return server


def start_epic_simulator(*, seed: int) -> tuple[EpicServer, EpicSettings]:
    """Start the Epic simulator on 127.0.0.1 and a free port, and the Epic settings that
    connect to it; `.stop()` it when done."""
    server = EpicServer(EpicConfig(seed=seed))
    log.info("demo Epic simulator on %s", server.url)
    return server, EpicSettings(server.fhir_base, EPIC_DEMO_CLIENT_ID)


async def complete_demo_consent(base_url: str, authorize_url: str) -> None:
    """Approve a demo sign-in as the demo practitioner, without a browser.

    Args:
        base_url: the simulator's URL.
        authorize_url: the sign-in link the app would have opened in a browser.

    Raises:
        DemoConsentError: the simulator refused or could not be reached.
    """
    async with httpx.AsyncClient(timeout=CONSENT_TIMEOUT_S) as http:
        try:
            answer = await http.post(
                base_url.rstrip("/") + DEMO_CONSENT_PATH, json={"authorize_url": authorize_url}
            )
            answer.raise_for_status()
            redirect_url = answer.json()["redirect_url"]
            if not isinstance(redirect_url, str):
                raise DemoConsentError("The simulator's consent answer has no redirect.")
            log.info("demo consent given without a browser; returning to the app")
            # What the browser would do next: follow the redirect to the app's listener.
            await http.get(redirect_url)
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            raise DemoConsentError(f"The demo sign-in could not be completed: {exc}") from exc
