"""Fixtures for the simulator's own tests: an API client with a demo practitioner's token."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from rupa_desk.sandbox.server import SandboxServer
from tests.fixtures.sandbox import SandboxControl
from tests.sandbox.documents import JSONAPI


@pytest.fixture
def tokens(sandbox_control: SandboxControl) -> dict[str, Any]:
    """A token response for the demo practitioner (issued through the control API)."""
    return sandbox_control.issue_tokens()


@pytest.fixture
def api(sandbox: SandboxServer, tokens: dict[str, Any]) -> Iterator[httpx.Client]:
    """An httpx client for the simulator's API, signed in as the demo practitioner."""
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "Accept": JSONAPI}
    with httpx.Client(base_url=sandbox.url, headers=headers, timeout=10.0) as client:
        yield client
