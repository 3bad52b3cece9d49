"""`rupa-desk results show ORDER_ID [--json]`: an order's structured results, for support.

Reads the local database only (what the tracker fetched; no network), and prints each
ordered test's results with the same words, rows and cells the Orders pane shows
(`OrderedTestResults.summary`, `ResultRow.cells`, `COLUMNS`): a table, or with `--json` one JSON
object per ordered test. Exit codes: see `rupa_desk.cli.exit_codes`.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from rupa_desk.cli.exit_codes import EXIT_OK, UsageError, run_command
from rupa_desk.cli.session import open_session
from rupa_desk.core.hl7_results import COLUMNS
from rupa_desk.core.jsonapi import is_safe_id
from rupa_desk.paths import AppPaths
from rupa_desk.services.errors import NotSignedIn
from rupa_desk.services.store import Store, StoreError
from rupa_desk.services.store.lab_results import OrderedTestResults


def run(
    args: argparse.Namespace, *, paths: AppPaths | None = None, out: TextIO | None = None
) -> int:
    """Run `results show`; returns the exit code."""
    stdout = out if out is not None else sys.stdout
    return run_command(lambda: _run(args, paths, stdout), failures=(StoreError,))


async def _run(args: argparse.Namespace, paths: AppPaths | None, out: TextIO) -> int:
    if not is_safe_id(args.order_id):
        raise UsageError("That is not an order id (letters, digits, - and _ only).")
    async with open_session(args, paths=paths) as session:
        if session.auth.account_id is None:
            raise NotSignedIn(
                "This computer does not know which account is signed in yet. Run "
                f"`{session.command('whoami')}` once while online."
            )
        account = session.auth.account_id
        with Store.for_account(session.paths, session.environment.name, account) as store:
            return show_results(store, args.order_id, as_json=args.json, out=out)


def show_results(store: Store, order_id: str, *, as_json: bool, out: TextIO) -> int:
    """Print the structured results of an order's tests as the Orders pane shows them."""
    tests = store.orders.ordered_tests(order_id)
    if not tests:
        raise UsageError("This order is not on this computer: open it in Rupa Desk first.")
    for test in tests:
        results = store.lab_results.results(test.id)
        name = test.name or "Lab test"
        if as_json:
            print(json.dumps(_as_json(name, results), ensure_ascii=False), file=out)
            continue
        print(name, file=out)
        if results is None:
            print("  No result values yet.", file=out)
            continue
        print(f"  {results.summary}", file=out)
        if results.rows:
            _print_table(results, out)
    return EXIT_OK


def _as_json(name: str, results: OrderedTestResults | None) -> dict[str, object]:
    if results is None:
        return {"test": name, "summary": "No result values yet.", "rows": []}
    return {
        "test": name,
        "ordered_test_id": results.ordered_test_id,
        "status": results.status,
        "summary": results.summary,
        "pending": list(results.pending),
        "error": results.error,
        "rows": [row.as_dict() for row in results.rows],
    }


def _print_table(results: OrderedTestResults, out: TextIO) -> None:
    table = [COLUMNS, *(tuple(c.replace("\n", " / ") for c in r.cells()) for r in results.rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    for line in table:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip(),
              file=out)  # fmt: skip
    comments = [(r.analyte, r.comments) for r in results.rows if r.comments]
    for analyte, comment in comments:
        print(f"  {analyte}: {comment.replace(chr(10), ' / ')}", file=out)
