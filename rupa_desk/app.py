"""The composition root: builds every service, injects it into the UI and runs qasync.

(Filled in by the desktop-app issue; until then it explains itself and exits.)
"""

from __future__ import annotations

import argparse
import sys


def run(args: argparse.Namespace) -> int:
    print("The desktop app is not built yet.", file=sys.stderr)
    return 2
