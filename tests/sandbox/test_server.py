"""Starting and stopping the simulator, and the `rupa-desk-sandbox` command."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from rupa_desk.sandbox.__main__ import banner, config_from, parse_args
from rupa_desk.sandbox.config import SandboxConfig
from rupa_desk.sandbox.server import SandboxServer, SandboxStartError
from tests.fixtures.sandbox import small_config

ROOT = Path(__file__).resolve().parents[2]


def server_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("rupa-sandbox-")]


def refuses_connections(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(2)
        return probe.connect_ex(("127.0.0.1", port)) != 0


def test_the_context_manager_serves_then_stops_and_joins() -> None:
    with SandboxServer(small_config()) as server:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url)
        assert server.running
        home = httpx.get(server.url + "/")
        assert home.status_code == 200
        assert "Rupa simulator" in home.text
        port = server.port
    assert not server.running
    assert f"rupa-sandbox-{port}" not in server_threads()
    assert refuses_connections(port)
    server.stop()  # a second stop is harmless


def test_a_busy_port_is_a_clear_error() -> None:
    with (
        SandboxServer(small_config()) as server,
        pytest.raises(SandboxStartError, match="cannot listen"),
    ):
        SandboxServer(small_config(port=server.port))


def test_start_false_only_binds_until_started() -> None:
    server = SandboxServer(small_config(), start=False)
    try:
        assert not server.running
        server.start()
        assert httpx.get(server.url + "/_sim/info").json()["base_url"] == server.url
    finally:
        server.stop()
    assert not server.running


def test_bad_configurations_are_refused() -> None:
    with pytest.raises(ValueError, match="fault rates"):
        SandboxConfig(fault_5xx_rate=0.7, drop_rate=0.7)
    with pytest.raises(ValueError, match="lab_tests"):
        SandboxConfig(lab_tests=-1)


def test_info_tells_the_app_what_it_needs(sandbox: SandboxServer) -> None:
    info = httpx.get(sandbox.url + "/_sim/info").json()
    assert info["authorize_url"] == sandbox.url + "/oauth/authorize"
    assert info["token_url"] == sandbox.url + "/oauth/token"
    assert info["revoke_url"] == sandbox.url + "/oauth/revoke_token"
    assert info["api_base"] == sandbox.url
    assert info["client_id"] == "rupa-desk-demo"
    assert info["demo_login"] == {"email": "demo@rupa-desk.test", "password": "demo"}
    assert info["config"]["lab_tests"] == 300
    assert "client_secret" not in str(info)


def test_command_line_options_map_to_the_configuration() -> None:
    args = parse_args(
        [
            "--port",
            "0",
            "--lab-tests",
            "1234",
            "--seed",
            "9",
            "--drop-rate",
            "0.1",
            "--clock-speed",
            "0",
            "--answer-delay-ms",
            "250",
        ]
    )
    config = config_from(args)
    assert (config.port, config.lab_tests, config.seed) == (0, 1234, 9)
    assert config.drop_rate == 0.1
    assert config.answer_delay_ms == 250
    assert config.clock_speed == 0
    assert parse_args([]).port == 8765


def test_banner_prints_login_client_id_and_urls(sandbox: SandboxServer) -> None:
    text = banner(sandbox, 0.5)
    for expected in (
        "demo@rupa-desk.test / demo",
        "rupa-desk-demo",
        sandbox.url + "/oauth/authorize",
        sandbox.url + "/oauth/token",
        sandbox.url + "/_sim/info",
    ):
        assert expected in text


def run_command(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "rupa_desk.sandbox", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.timeout(120)
def test_the_command_serves_on_loopback_until_stopped() -> None:
    process = run_command("--port", "0", "--lab-tests", "200", "--clock-speed", "0")
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", first_line)
        assert match, first_line
        info = httpx.get(match.group(0) + "/_sim/info", timeout=10).json()
        assert info["counts"]["lab_tests"] == 200
    finally:
        process.terminate()
        process.communicate(timeout=30)
    assert process.returncode is not None


@pytest.mark.timeout(120)
def test_the_command_reports_a_busy_port() -> None:
    with SandboxServer(small_config()) as server:
        process = run_command("--port", str(server.port), "--lab-tests", "10")
        _, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "cannot listen" in err
