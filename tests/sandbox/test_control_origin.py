"""The control API answers tests and the app, not web pages (CSRF, DNS rebinding)."""

from __future__ import annotations

import httpx
import pytest

from rupa_desk.sandbox.server import SandboxServer

# What a page in the user's browser can send without a CORS preflight: a "simple" POST.
SIMPLE_POST = {"Content-Type": "text/plain"}
BODY = '{"fault_5xx_rate": 1.0}'


def faults(sandbox: SandboxServer) -> dict[str, object]:
    return httpx.get(f"{sandbox.url}/_sim/faults").json()


@pytest.mark.parametrize(
    "origin", ["http://evil.example", "null", "http://127.0.0.1:1", "https://127.0.0.1"]
)
def test_a_cross_site_simple_post_is_refused_and_changes_nothing(
    sandbox: SandboxServer, origin: str
) -> None:
    answer = httpx.post(
        f"{sandbox.url}/_sim/faults", content=BODY, headers={**SIMPLE_POST, "Origin": origin}
    )
    assert answer.status_code == 403
    assert answer.json()["error"] == "forbidden"
    assert "Origin" in answer.json()["detail"]
    assert faults(sandbox)["fault_5xx_rate"] == 0.0


@pytest.mark.parametrize(
    "host", ["rebind.evil.example:{port}", "127.0.0.1", "127.0.0.1:1", "localhost.evil:{port}"]
)
def test_a_request_for_another_host_name_is_refused(sandbox: SandboxServer, host: str) -> None:
    """A DNS-rebinding page reaches 127.0.0.1 under its own name, in its own origin."""
    headers = {**SIMPLE_POST, "Host": host.format(port=sandbox.port)}
    answer = httpx.post(f"{sandbox.url}/_sim/faults", content=BODY, headers=headers)
    assert answer.status_code == 403
    assert "Host" in answer.json()["detail"]
    read = httpx.get(f"{sandbox.url}/_sim/info", headers={"Host": headers["Host"]})
    assert read.status_code == 403
    assert faults(sandbox)["fault_5xx_rate"] == 0.0


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "LOCALHOST"])
def test_the_simulators_own_address_and_origin_are_served(
    sandbox: SandboxServer, name: str
) -> None:
    own = f"{name}:{sandbox.port}"
    answer = httpx.post(
        f"{sandbox.url}/_sim/faults",
        json={"latency_ms": 5},
        headers={"Host": own, "Origin": f"http://{own}"},
    )
    assert answer.status_code == 200
    assert answer.json()["latency_ms"] == 5
    assert httpx.post(f"{sandbox.url}/_sim/faults", json={"latency_ms": 0}).status_code == 200
