"""`rupa-desk catalog sync | search`: the offline catalog, for admins and diagnostics.

    rupa-desk catalog sync   [--env ENV] [--demo-url URL]
    rupa-desk catalog search QUERY [--company C] [--sample-type S] [--limit N] [--json]

`sync` downloads the whole catalog of the signed-in account into its local database, with a
text progress bar; `search` searches that database offline (no network), as the catalog pane
does. Exit codes: see `rupa_desk.cli.exit_codes`.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from rupa_desk.cli.exit_codes import EXIT_OK, UsageError, run_command
from rupa_desk.cli.session import CliSession, open_session
from rupa_desk.paths import AppPaths
from rupa_desk.services.errors import NotSignedIn
from rupa_desk.services.store import CatalogFilters, SearchHit, Store, StoreError
from rupa_desk.services.sync import CatalogSource, CatalogSync, CatalogSyncResult
from rupa_desk.settings import ClientLimits

BAR_WIDTH = 30


def run(
    args: argparse.Namespace, *, paths: AppPaths | None = None, out: TextIO | None = None
) -> int:
    """Run `catalog sync` or `catalog search` (`args.catalog_command`); returns the exit code."""
    stdout = out if out is not None else sys.stdout
    return run_command(
        lambda: _run(args, paths, stdout),
        failures=(StoreError,),
        interrupted="interrupted; the previous catalog is kept.",
    )


async def _run(args: argparse.Namespace, paths: AppPaths | None, out: TextIO) -> int:
    async with open_session(args, paths=paths) as session:
        if not session.auth.has_session:
            raise NotSignedIn(f"You are not signed in. Run `{session.command('signin')}` first.")
        account = await _account_id(session, needs_network=args.catalog_command == "sync")
        with Store.for_account(session.paths, session.environment.name, account) as store:
            if args.catalog_command == "sync":
                await sync_catalog(session.client, store, out, limits=session.environment.limits)
                return EXIT_OK
            return search_catalog(
                store,
                args.query,
                company=args.company,
                sample_type=args.sample_type,
                limit=args.limit,
                as_json=args.json,
                out=out,
            )


async def _account_id(session: CliSession, *, needs_network: bool) -> str:
    """The account whose database to use; `search` works offline once it is remembered."""
    if session.auth.account_id is not None or needs_network:
        return await session.account_id()
    raise NotSignedIn(
        "This computer does not know which account is signed in yet. Run "
        f"`{session.command('whoami')}` once while online."
    )


async def sync_catalog(
    source: CatalogSource, store: Store, out: TextIO, *, limits: ClientLimits | None = None
) -> CatalogSyncResult:
    """Download the catalog into `store`, drawing a progress bar on `out`."""
    if store.path is None:
        raise ValueError("the catalog sync needs a database file")
    bar = _ProgressBar(out)
    sync = CatalogSync(source, store.path, account_db=store.db, limits=limits)
    result = await sync.run(bar.update)
    bar.finish()
    print(
        f"Catalog synced: {result.test_count:,} tests from {result.company_count} lab companies "
        f"in {result.download_s + result.build_s:.1f} s ({result.pages} pages).",
        file=out,
    )
    if result.skipped_message is not None:
        print(result.skipped_message, file=out)
    return result


class _ProgressBar:
    """`[######------]  1,234 / 5,000 tests`, redrawn in place on a terminal, else every 10%.

    With no total (the server sent no count), a terminal shows the count so far, and a log
    gets only the summary line printed at the end.
    """

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._tty = out.isatty()
        self._last_tenth = -1

    def update(self, done: int, total: int) -> None:
        if not total:  # the total is not known (yet): no bar, a count
            if self._tty:
                print(f"\r{done:>7,} tests so far", end="", file=self._out, flush=True)
            return
        share = done / total
        filled = int(share * BAR_WIDTH)
        line = f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {done:>7,} / {total:,} tests"
        if self._tty:
            print("\r" + line, end="", file=self._out, flush=True)
        elif int(share * 10) > self._last_tenth:
            self._last_tenth = int(share * 10)
            print(line, file=self._out, flush=True)

    def finish(self) -> None:
        if self._tty:
            print(file=self._out)


def search_catalog(
    store: Store,
    query: str,
    *,
    company: str | None = None,
    sample_type: str | None = None,
    limit: int = 20,
    as_json: bool = False,
    out: TextIO,
) -> int:
    """Print the first `limit` matches of `query` (a table, or JSON lines with `as_json`)."""
    if limit < 1:
        raise UsageError("--limit must be at least 1.")
    _check_text(query, "The search text")
    _check_text(company, "--company")
    _check_text(sample_type, "--sample-type")
    filters = CatalogFilters(
        lab_company_id=_company_id(store, company) if company else None,
        sample_type=sample_type,
    )
    page = store.catalog.search(query, filters, limit=limit)
    if as_json:
        for hit in page.hits:
            print(json.dumps(_hit_json(hit), ensure_ascii=False), file=out)
        return EXIT_OK
    synced = store.catalog.last_synced()
    if synced is None:
        print("The catalog has not been downloaded yet: run `rupa-desk catalog sync`.", file=out)
        return EXIT_OK
    print(f"Catalog as of {synced.astimezone():%Y-%m-%d %H:%M}.", file=out)
    if not page.hits:
        print("No lab test matches.", file=out)
        return EXIT_OK
    for hit in page.hits:
        price = f"${hit.price:,.2f}" if hit.price is not None else "no price"
        print(
            f"{hit.name}  ·  {hit.lab_company_name}  ·  {price}  ·  "
            f"{', '.join(hit.sample_types)}  ·  {hit.id}",
            file=out,
        )
    if page.has_more:
        print(f"(more matches: raise --limit above {limit})", file=out)
    return EXIT_OK


def _check_text(value: str | None, what: str) -> None:
    """Refuse an argument holding bytes that are not UTF-8 (Python decodes them as lone
    surrogates, "surrogateescape"): they can be neither searched for nor printed.

    Raises:
        UsageError: saying so, without repeating the argument.
    """
    if value is None:
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(
            f"{what} holds characters that are not valid text; set the terminal to UTF-8 "
            "and type it again."
        ) from None


def _company_id(store: Store, wanted: str) -> str:
    """The id of the lab company named `wanted` (its id, name or short name, any case)."""
    key = wanted.strip().casefold()
    companies = store.catalog.companies()
    for company in companies:
        if key in (company.id.casefold(), company.name.casefold(), company.short_name.casefold()):
            return company.id
    partial = [c for c in companies if key in c.name.casefold()]
    if len(partial) == 1:
        return partial[0].id
    if partial:
        names = ", ".join(c.name for c in partial[:5])
        raise UsageError(f"--company {wanted!r} matches several lab companies: {names}.")
    raise UsageError(
        f"No lab company {wanted!r} in the local catalog (run `rupa-desk catalog sync`?)."
    )


def _hit_json(hit: SearchHit) -> dict[str, Any]:
    return {
        "id": hit.id,
        "name": hit.name,
        "lab_company_id": hit.lab_company_id,
        "lab_company": hit.lab_company_name,
        "price": None if hit.price is None else str(hit.price),
        "sample_types": list(hit.sample_types),
        "turnaround_days": hit.turnaround_days,
        "matched": hit.matched.value,
        "name_spans": [list(span) for span in hit.name_spans],
        "matched_biomarkers": list(hit.matched_biomarkers),
    }
