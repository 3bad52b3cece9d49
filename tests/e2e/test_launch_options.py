"""The desktop app's command line: `--demo` and `--lab-tests` reach the demo's simulator."""

from __future__ import annotations

import httpx

from rupa_desk import demo
from rupa_desk.__main__ import build_parser
from rupa_desk.app import LaunchOptions


def test_demo_options_from_the_command_line() -> None:
    assert LaunchOptions.from_args(build_parser().parse_args([])) == LaunchOptions(
        demo=False, lab_tests=2500, seed=7
    )
    big = LaunchOptions.from_args(build_parser().parse_args(["--demo", "--lab-tests", "100000"]))
    assert big == LaunchOptions(demo=True, lab_tests=100_000, seed=7)


def test_the_demo_simulator_holds_the_catalog_size_asked_for() -> None:
    options = LaunchOptions.from_args(
        build_parser().parse_args(["--demo", "--lab-tests", "321", "--seed", "3"])
    )
    server = demo.start_simulator(lab_tests=options.lab_tests, seed=options.seed)
    try:
        assert server.url.startswith("http://127.0.0.1:")
        info = httpx.get(server.url + "/_sim/info", timeout=10).json()
    finally:
        server.stop()
    assert info["counts"]["lab_tests"] == 321
    assert info["config"]["seed"] == 3


def test_the_demo_simulator_is_strict_about_reused_refresh_tokens() -> None:
    """Demo mode runs against reuse protection (RFC 9700), as a strict Rupa server would."""
    server = demo.start_simulator(lab_tests=10, seed=1)
    try:
        info = httpx.get(server.url + "/_sim/info", timeout=10).json()
    finally:
        server.stop()
    assert info["faults"]["refresh_token_reuse_protection"] is True
