"""`rupa-desk report pipeline|late|turnaround|popularity|revenue`: the practice reports.

    rupa-desk report REPORT [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--practitioner ID]
                            [--company C] [--csv] [--download] [--env ENV] [--demo-url URL]

The same numbers as the Reports pane (`services.reports.PracticeReports` computes both),
from the local database, so it works offline; `--download` first brings the order history
up to date. `--csv` prints CSV (UTF-8, a header, one row per item, ISO dates); otherwise a
table. The range defaults to the last 365 days. Exit codes: see `rupa_desk.cli.exit_codes`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import fields
from datetime import date
from typing import TextIO

from rupa_desk.cli.catalog import _account_id, _company_id
from rupa_desk.cli.exit_codes import EXIT_OK, UsageError, run_command
from rupa_desk.cli.session import open_session
from rupa_desk.core.reports import ReportFilters, Row, default_range, row_type_of
from rupa_desk.paths import AppPaths
from rupa_desk.services.errors import NotSignedIn
from rupa_desk.services.order_history import OrderHistoryDownload
from rupa_desk.services.reports import PracticeReports
from rupa_desk.services.store import Store, StoreError


def run(
    args: argparse.Namespace, *, paths: AppPaths | None = None, out: TextIO | None = None
) -> int:
    """Run `report`; returns the exit code."""
    stdout = out if out is not None else sys.stdout
    return run_command(
        lambda: _run(args, paths, stdout),
        failures=(StoreError,),
        interrupted="interrupted; the order history downloaded so far is kept.",
    )


async def _run(args: argparse.Namespace, paths: AppPaths | None, out: TextIO) -> int:
    async with open_session(args, paths=paths) as session:
        if not session.auth.has_session:
            raise NotSignedIn(f"You are not signed in. Run `{session.command('signin')}` first.")
        account = await _account_id(session, needs_network=args.download)
        with Store.for_account(session.paths, session.environment.name, account) as store:
            if args.download:
                await OrderHistoryDownload(
                    session.client, store.orders, store.order_history, patients=store.patients
                ).run()
            return print_report(
                PracticeReports(store),
                args.report,
                start=args.start,
                end=args.end,
                practitioner=args.practitioner,
                company=_company_id(store, args.company) if args.company else None,
                as_csv=args.csv,
                out=out,
            )


def print_report(
    reports: PracticeReports,
    report: str,
    *,
    start: str | None,
    end: str | None,
    practitioner: str | None = None,
    company: str | None = None,
    as_csv: bool = False,
    out: TextIO,
) -> int:
    """Print one report as a table or as CSV."""
    first, last = default_range(reports.today())
    try:
        filters = ReportFilters(
            _day(start, "--from") if start else first,
            _day(end, "--to") if end else last,
            practitioner_id=practitioner,
            lab_company_id=company,
        )
    except ValueError as exc:
        raise UsageError(f"{exc}: check --from and --to.") from None
    if as_csv:
        _write_utf8(reports.csv(report, filters), out)
        return EXIT_OK
    rows = reports.run(report, filters)
    print(f"{report.capitalize()} from {filters.start} to {filters.end}", file=out)
    if not rows:
        print("Nothing to report in this range.", file=out)
        return EXIT_OK
    print(_table(rows, row_type_of(report)), file=out)
    return EXIT_OK


def _write_utf8(text: str, out: TextIO) -> None:
    """CSV is UTF-8 whatever the console's encoding (a terminal's, or a redirect's)."""
    binary = getattr(out, "buffer", None)
    if binary is None:
        out.write(text)
        return
    out.flush()
    binary.write(text.encode("utf-8"))
    binary.flush()


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} takes a date such as 2026-01-31.") from None


def _table(rows: Sequence[Row], row_type: type[Row]) -> str:
    names = [f.name for f in fields(row_type)]
    cells = [[_text(getattr(row, n)) for n in names] for row in rows]
    widths = [max(len(n), *(len(c[i]) for c in cells)) for i, n in enumerate(names)]
    lines = ["  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
