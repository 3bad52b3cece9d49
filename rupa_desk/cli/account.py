"""The `rupa-desk account` commands (filled in by their issue; until then they explain and exit)."""

from __future__ import annotations

import argparse
import sys


def run(args: argparse.Namespace) -> int:
    print("This command is not built yet.", file=sys.stderr)
    return 2
