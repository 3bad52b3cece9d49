"""The `rupa-desk` command: the desktop app, and a few commands for admins and diagnostics.

    rupa-desk                       start the app with the saved settings
    rupa-desk --demo                start the built-in simulator and the app against it
    rupa-desk --version             print the version
    rupa-desk --self-check          run the app in demo mode, offscreen, through sign-in,
                                    catalog sync, checkout and a result PDF (an install's test)
    rupa-desk signin|whoami|signout [--env ENV] [--demo-url URL]
    rupa-desk catalog sync|search ...
    rupa-desk results show ORDER_ID [--json]
    rupa-desk report pipeline|late|turnaround|popularity|revenue [--from D] [--to D] [--csv]
    rupa-desk epic connect|whoami|search|schedule ...

Each command's module is imported only when that command runs, so `rupa-desk whoami` never
loads Qt and the app never loads what only the command line needs.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from rupa_desk import __version__
from rupa_desk.cli.epic_options import add_parser as add_epic_parser
from rupa_desk.settings import ENVIRONMENT_NAMES

#: `rupa_desk.core.reports.REPORTS` (not imported: the app never loads the reports for this)
REPORT_NAMES = ("pipeline", "late", "turnaround", "popularity", "revenue")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rupa-desk",
        description="Order specialty lab tests through Rupa Health.",
    )
    parser.add_argument("--version", action="version", version=f"Rupa Desk {__version__}")
    parser.add_argument(
        "--self-check",
        action="store_true",
        help="check this installation: run the app in demo mode offscreen (temporary "
        "profile, nothing of yours touched) through sign-in, catalog sync, checkout and a "
        "result PDF; one PASS/FAIL line per step, exit code 0 when all passed",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="start the built-in Rupa simulator on a free loopback port and use it",
    )
    parser.add_argument(
        "--lab-tests",
        type=int,
        default=2500,
        metavar="N",
        help="demo mode: how many lab tests the simulator's catalog holds (default 2500)",
    )
    parser.add_argument("--seed", type=int, default=7, help="demo mode: the simulator's data seed")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add_env_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--env",
            choices=ENVIRONMENT_NAMES,
            default=None,
            help="the Rupa environment (default: the one in the saved settings)",
        )
        sub.add_argument(
            "--demo-url",
            default=None,
            metavar="URL",
            help="with --env demo: the simulator's base URL, e.g. http://127.0.0.1:8765",
        )

    for name, text in (
        ("signin", "sign in with Rupa in the system browser"),
        ("whoami", "show the signed-in practitioner"),
        ("signout", "revoke the session and forget its tokens"),
    ):
        add_env_options(commands.add_parser(name, help=text, description=text))

    catalog = commands.add_parser("catalog", help="the offline lab-test catalog")
    catalog_commands = catalog.add_subparsers(dest="catalog_command", metavar="ACTION")
    catalog_commands.required = True
    sync = catalog_commands.add_parser("sync", help="download the whole catalog")
    add_env_options(sync)
    search = catalog_commands.add_parser("search", help="search the local catalog")
    add_env_options(search)
    search.add_argument("query", help="words, a prefix or a part of a word")
    search.add_argument("--company", default=None, help="only this lab company (name or id)")
    search.add_argument("--sample-type", default=None, help="only tests with this sample type")
    search.add_argument("--limit", type=int, default=20, help="how many results (default 20)")
    search.add_argument("--json", action="store_true", help="print JSON lines")

    results = commands.add_parser("results", help="structured results on this computer")
    results_commands = results.add_subparsers(dest="results_command", metavar="ACTION")
    results_commands.required = True
    show = results_commands.add_parser(
        "show", help="an order's result values, as the Orders pane shows them"
    )
    add_env_options(show)
    show.add_argument("order_id", help="the order's id (ord_…)")
    show.add_argument("--json", action="store_true", help="one JSON object per ordered test")

    report = commands.add_parser("report", help="practice reports from the local order history")
    add_env_options(report)
    report.add_argument("report", choices=REPORT_NAMES, help="which report")
    report.add_argument("--from", dest="start", default=None, metavar="YYYY-MM-DD")
    report.add_argument("--to", dest="end", default=None, metavar="YYYY-MM-DD")
    report.add_argument("--practitioner", default=None, help="one practitioner's orders (id)")
    report.add_argument("--company", default=None, help="one lab company (name or id)")
    report.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    report.add_argument(
        "--download", action="store_true", help="bring the order history up to date first"
    )

    add_epic_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `rupa-desk` console script.

    When whoever reads the output stops early (`rupa-desk catalog search --json | head`),
    the command ends quietly with exit code 1 instead of a BrokenPipeError traceback; the
    standard output is pointed at the null device so that Python's own flush at exit does
    not fail too (the recipe of the Python documentation, "Note on SIGPIPE").
    """
    try:
        code = _run(argv)
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return code


def _run(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    if args.self_check:
        from rupa_desk import self_check

        return self_check.run()
    if args.command in ("signin", "whoami", "signout"):
        from rupa_desk.cli import account

        return account.run(args)
    if args.command == "catalog":
        from rupa_desk.cli import catalog

        return catalog.run(args)
    if args.command == "results":
        from rupa_desk.cli import results

        return results.run(args)
    if args.command == "report":
        from rupa_desk.cli import report

        return report.run(args)
    if args.command == "epic":
        from rupa_desk.cli import epic

        return epic.run(args)
    from rupa_desk import app
    from rupa_desk.cli.exit_codes import EXIT_FAILED
    from rupa_desk.paths import AppPaths

    try:
        paths = AppPaths.for_user().ensure()
    except OSError as exc:
        # Nothing is written or lost; said plainly instead of a traceback.
        print(
            f"Rupa Desk cannot create its folder {exc.filename or ''} "
            f"({exc.strerror or exc}). Your files are untouched. Make sure your user can "
            "write to its home folder (or to XDG_DATA_HOME, XDG_CONFIG_HOME, XDG_STATE_HOME "
            "and XDG_CACHE_HOME where they are set), then start Rupa Desk again.",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return app.run(args, paths=paths)


if __name__ == "__main__":
    sys.exit(main())
