"""`rupa-desk-epic-sandbox`: run the Epic simulator alone on 127.0.0.1 until Ctrl+C.

    rupa-desk-epic-sandbox --port 8766
    rupa-desk epic connect --fhir-base http://127.0.0.1:8766/api/FHIR/R4 \\
        --client-id rupa-desk-epic-demo
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence

from rupa_desk.epic_sandbox.config import (
    DEMO_CLIENT_ID,
    REFRESH_CLIENT_ID,
    TEST_PASSWORD,
    TEST_USER,
    EpicConfig,
)
from rupa_desk.epic_sandbox.server import EpicServer
from rupa_desk.sandbox.server import SandboxStartError


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    defaults = EpicConfig()
    parser = argparse.ArgumentParser(
        prog="rupa-desk-epic-sandbox",
        description="Run the built-in Epic simulator (FHIR R4) on 127.0.0.1 (Ctrl+C stops it).",
    )
    parser.add_argument("--port", type=int, default=8766, help="TCP port; 0 = any free port")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="seed of the fake data")
    parser.add_argument("--patients", type=int, default=defaults.generated_patients)
    parser.add_argument("--appointments", type=int, default=defaults.appointments_today)
    return parser.parse_args(argv)


def banner(server: EpicServer) -> str:
    """What to connect with."""
    return "\n".join(
        (
            f"Epic simulator on {server.url}",
            f"  FHIR base:  {server.fhir_base}",
            f"  client ids: {DEMO_CLIENT_ID} (no refresh tokens), {REFRESH_CLIENT_ID} (refresh)",
            f"  sign-in:    {TEST_USER} / {TEST_PASSWORD}",
            "Ctrl+C stops it.",
        )
    )


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    config = EpicConfig(
        port=options.port,
        seed=options.seed,
        generated_patients=options.patients,
        appointments_today=options.appointments,
    )
    try:
        server = EpicServer(config, start=False)
    except SandboxStartError as exc:
        print(f"rupa-desk-epic-sandbox: {exc}", file=sys.stderr)
        return 2
    print(banner(server), flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
