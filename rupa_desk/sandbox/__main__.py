"""`rupa-desk-sandbox`: run the Rupa simulator alone on 127.0.0.1 until Ctrl+C.

rupa-desk-sandbox --port 8765 --lab-tests 100000 --seed 7
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from rupa_desk.sandbox.config import (
    DEMO_CLIENT_ID,
    DEMO_CLOCK_SPEED,
    DEMO_LOGIN_EMAIL,
    DEMO_LOGIN_PASSWORD,
    SandboxConfig,
)
from rupa_desk.sandbox.server import SandboxServer, SandboxStartError


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    defaults = SandboxConfig()
    parser = argparse.ArgumentParser(
        prog="rupa-desk-sandbox",
        description="Run the built-in Rupa simulator on 127.0.0.1 (Ctrl+C stops it).",
    )
    parser.add_argument("--port", type=int, default=8765, help="TCP port; 0 = any free port")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="seed of the fake data")
    parser.add_argument("--lab-tests", type=int, default=defaults.lab_tests, help="catalog size")
    parser.add_argument("--lab-companies", type=int, default=defaults.lab_companies)
    parser.add_argument("--practitioners", type=int, default=defaults.practitioners)
    parser.add_argument("--patients", type=int, default=defaults.patients)
    parser.add_argument("--orders", type=int, default=defaults.orders)
    parser.add_argument(
        "--open-orders",
        type=int,
        default=defaults.open_orders,
        help="extra orders in non-terminal statuses (e.g. 500 for a polling benchmark)",
    )
    parser.add_argument(
        "--clock-speed",
        type=float,
        default=DEMO_CLOCK_SPEED,
        help="simulated seconds per real second for order progress; 0 = only on demand "
        f"(default {DEMO_CLOCK_SPEED:g}: an order completes in a few minutes)",
    )
    parser.add_argument(
        "--history-orders",
        type=int,
        default=defaults.history_orders,
        help="a clinic history of this many orders (e.g. 3000 for the reports)",
    )
    parser.add_argument("--history-days", type=int, default=defaults.history_days)
    parser.add_argument("--rate-limit", type=float, default=defaults.rate_limit_per_s)
    parser.add_argument("--rate-burst", type=int, default=defaults.rate_burst)
    parser.add_argument(
        "--latency-ms",
        type=int,
        default=defaults.latency_ms,
        help="delay before each API request is handled (a client that gives up changes nothing)",
    )
    parser.add_argument(
        "--answer-delay-ms",
        type=int,
        default=defaults.answer_delay_ms,
        help="delay after each API request is handled, before its answer is sent (a client "
        "that gives up has still changed things, e.g. created an order intent)",
    )
    parser.add_argument("--fault-5xx-rate", type=float, default=defaults.fault_5xx_rate)
    parser.add_argument("--fault-429-rate", type=float, default=defaults.fault_429_rate)
    parser.add_argument("--drop-rate", type=float, default=defaults.drop_rate)
    parser.add_argument(
        "--faults-on-token-endpoint",
        action="store_true",
        help="also inject faults into /oauth/token and /oauth/revoke_token",
    )
    parser.add_argument("--access-token-ttl", type=int, default=defaults.access_token_ttl_s)
    parser.add_argument("--code-ttl", type=int, default=defaults.code_ttl_s)
    parser.add_argument(
        "--refresh-token-reuse-protection",
        action="store_true",
        help="a rotated refresh token used again revokes its whole chain (RFC 9700)",
    )
    parser.add_argument(
        "--oauth-redirect-status",
        type=int,
        default=defaults.oauth_redirect_status,
        help="answer token and revoke POSTs with this 3xx to the path plus a slash (0: off)",
    )
    parser.add_argument(
        "--hl7-correction-rate",
        type=float,
        default=defaults.hl7_correction_rate,
        help="share of completed tests whose results are corrected a simulated day later",
    )
    for flag, text in (
        ("--hl7-malformed", "results_hl7 messages have no MSH header"),
        ("--hl7-unknown-segments", "results_hl7 messages carry Z-segments"),
        ("--hl7-wrong-charset", "results_hl7 messages are Latin-1 under a UTF-8 header"),
    ):
        parser.add_argument(flag, action="store_true", help=text)
    return parser.parse_args(argv)


def config_from(args: argparse.Namespace) -> SandboxConfig:
    return SandboxConfig(
        seed=args.seed,
        lab_tests=args.lab_tests,
        lab_companies=args.lab_companies,
        practitioners=args.practitioners,
        patients=args.patients,
        orders=args.orders,
        open_orders=args.open_orders,
        history_orders=args.history_orders,
        history_days=args.history_days,
        clock_speed=args.clock_speed,
        rate_limit_per_s=args.rate_limit,
        rate_burst=args.rate_burst,
        latency_ms=args.latency_ms,
        answer_delay_ms=args.answer_delay_ms,
        fault_5xx_rate=args.fault_5xx_rate,
        fault_429_rate=args.fault_429_rate,
        drop_rate=args.drop_rate,
        faults_on_token_endpoint=args.faults_on_token_endpoint,
        access_token_ttl_s=args.access_token_ttl,
        code_ttl_s=args.code_ttl,
        refresh_token_reuse_protection=args.refresh_token_reuse_protection,
        oauth_redirect_status=args.oauth_redirect_status,
        hl7_correction_rate=args.hl7_correction_rate,
        hl7_malformed=args.hl7_malformed,
        hl7_unknown_segments=args.hl7_unknown_segments,
        hl7_wrong_charset=args.hl7_wrong_charset,
        port=args.port,
    )


def banner(server: SandboxServer, seconds: float) -> str:
    url = server.url
    config = server.config
    return "\n".join(
        [
            f"Rupa simulator ready in {seconds:.1f}s at {url}",
            f"  {config.lab_tests} lab tests from {config.lab_companies} labs, seed {config.seed}",
            f"  demo login:   {DEMO_LOGIN_EMAIL} / {DEMO_LOGIN_PASSWORD}",
            f"  client id:    {DEMO_CLIENT_ID} (public client, PKCE S256)",
            f"  authorize:    {url}/oauth/authorize",
            f"  token:        {url}/oauth/token",
            f"  revoke:       {url}/oauth/revoke_token",
            f"  API base:     {url}",
            f"  control API:  {url}/_sim/info",
            "Press Ctrl+C to stop.",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    try:
        server = SandboxServer(config_from(args), start=False)
    except (SandboxStartError, ValueError) as exc:
        print(f"rupa-desk-sandbox: {exc}", file=sys.stderr)
        return 2
    print(banner(server, time.perf_counter() - started), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    print("Rupa simulator stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
