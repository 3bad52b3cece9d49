"""Filing an order's result PDFs to the patient's Epic chart, from the order's detail or by
itself.

`EpicFilingPresenter` says where an order stands with Epic (not linked to an Epic patient,
not filed, filed, failed) and files its downloaded result PDFs with `ResultFiling`, which
never files one twice.

With "File results to Epic automatically" on, a result PDF that arrives for a linked patient
is filed without anyone pressing "File to Epic". A filing that fails says so on the order and
is tried again when the next results arrive and at each polling interval, through the same
never-twice path (Epic is searched for the result before it is sent again).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, QTimer, Signal

from rupa_desk.services.epic.errors import EpicError
from rupa_desk.services.epic.filing import ResultFiling
from rupa_desk.services.store import OrderDetail, UnknownOrderError
from rupa_desk.services.store.epic_links import EpicLink, EpicLinks, Filing
from rupa_desk.services.store.errors import StoreError
from rupa_desk.ui.messages import MessageBridge
from rupa_desk.ui.tasks import BackgroundTasks, LatestTask, Superseded

log = logging.getLogger(__name__)

NOT_LINKED = (
    "This patient is not linked to an Epic patient. Use Find in Epic on Patients, then "
    "Use for Rupa, to link her."
)
#: Said after why an automatic filing failed, on the order and in the message.
TRIED_AGAIN = "Rupa Desk tries again by itself; File to Epic tries now."


class SavedOrders(Protocol):
    """The orders saved on this computer (`rupa_desk.services.store.Orders`)."""

    def detail(self, order_id: str) -> OrderDetail: ...


class EpicFilingPresenter(QObject):
    """The "File to Epic" of an order, and automatic filing.

    Args:
        filing: files one result, never twice.
        links: the Epic links and filing states.
        bridge: messages to the user.
        orders: the saved orders, for automatic filing (None: no automatic filing).
        tasks: where automatic filings run (None: no automatic filing).
        automatic: file results to Epic as they arrive.
        retry_interval_s: how often failed automatic filings are tried again.

    Signals:
        filing_changed(str): the order (id) whose filing state changed.
    """

    filing_changed = Signal(str)

    def __init__(
        self,
        filing: ResultFiling,
        links: EpicLinks,
        bridge: MessageBridge,
        *,
        orders: SavedOrders | None = None,
        tasks: BackgroundTasks | None = None,
        automatic: bool = False,
        retry_interval_s: float = 60.0,
    ) -> None:
        super().__init__()
        self._filing = filing
        self._links = links
        self._bridge = bridge
        self._orders = orders
        self._tasks = tasks
        self._run = LatestTask("epic-filing")
        self._automatic = False
        self._one_run = asyncio.Lock()
        self.retry_timer = QTimer(self)
        self.retry_timer.timeout.connect(self._on_retry_timer_timeout)
        self.set_retry_interval(retry_interval_s)
        self.set_automatic(automatic)

    @property
    def automatic(self) -> bool:
        """True when results are filed to Epic as they arrive."""
        return self._automatic

    def set_automatic(self, automatic: bool) -> None:
        """File results as they arrive from now on (results that came before are left to
        "File to Epic"), or stop doing so."""
        self._automatic = automatic and self._orders is not None and self._tasks is not None
        if self._automatic:
            self.retry_timer.start()
        else:
            self.retry_timer.stop()

    def set_retry_interval(self, seconds: float) -> None:
        """Try failed automatic filings again every `seconds` (the order polling interval)."""
        self.retry_timer.setInterval(max(1, round(seconds * 1000)))

    def results_arrived(self, order_id: str) -> None:
        """A result PDF of the order was downloaded: file it when filing is automatic."""
        if self._automatic and self._tasks is not None:
            self._tasks.spawn(self.file_automatically(order_id), name="epic-auto-filing")

    def _on_retry_timer_timeout(self) -> None:
        if self._automatic and self._tasks is not None and self._links.orders_to_retry():
            self._tasks.spawn(self.file_automatically(), name="epic-auto-filing")

    async def file_automatically(self, order_id: str | None = None) -> int:
        """File the order's results (and those whose filing failed before) that are not filed
        yet, for linked patients; the number filed now. Failures are kept on the order and
        said once, when a result first fails."""
        if self._orders is None:
            return 0
        async with self._one_run:  # arrivals in a burst: one run after the other
            order_ids = [order_id] if order_id is not None else []
            order_ids += [o for o in self._links.orders_to_retry() if o != order_id]
            filed = 0
            for one in order_ids:
                try:
                    detail = self._orders.detail(one)
                except UnknownOrderError:
                    continue
                filed += await self._file_by_itself(detail)
            return filed

    async def _file_by_itself(self, detail: OrderDetail) -> int:
        patient = detail.row.patient_id
        link = self._links.link_for(patient) if patient is not None else None
        if link is None:
            return 0  # the order says how to link her
        filed = 0
        for test_id, path in self._unfiled(detail):
            before = self._links.filing(test_id)
            try:
                await self._file_one(detail, test_id, path, link)
            except OSError as exc:
                log.warning("could not read a result PDF to file it: %s", type(exc).__name__)
                problem = "The result file could not be read. Download the results again."
                self._links.record(test_id, link.epic_patient_id, "failed", problem=problem)
                self._failed(before, problem)
            except EpicError as exc:  # recorded as failed by `ResultFiling`
                self._failed(before, exc.user_message)
            except StoreError as exc:
                self._bridge.known_error(exc, not_done="The results were not filed to Epic.")
            else:
                filed += 1
            finally:
                self.filing_changed.emit(detail.row.id)
        if filed:
            log.info("filed %d result(s) to Epic automatically", filed)
        return filed

    def _unfiled(self, detail: OrderDetail) -> list[tuple[str, Path]]:
        """(ordered test id, result PDF) of the order's downloaded results not filed yet."""
        unfiled = []
        for test in detail.ordered_tests:
            filing = self._links.filing(test.id)
            if test.results_file is not None and (filing is None or filing.state != "filed"):
                unfiled.append((test.id, test.results_file))
        return unfiled

    async def _file_one(
        self, detail: OrderDetail, test_id: str, path: Path, link: EpicLink
    ) -> None:
        """File one result PDF to her chart (never twice: `ResultFiling`).

        Raises:
            OSError: the PDF could not be read.
            EpicError: Epic refused or could not be reached (recorded as failed).
            StoreError: the filing state could not be saved.
        """
        pdf = await asyncio.to_thread(path.read_bytes)
        await self._filing.file(
            ordered_test_id=test_id,
            epic_patient_id=link.epic_patient_id,
            title=path.name,
            pdf=pdf,
            when=detail.date_completed or datetime.now(UTC),
        )

    def _failed(self, before: Filing | None, problem: str) -> None:
        """Say a failure once: not again at each retry."""
        if before is None or before.state != "failed":
            self._bridge.warning(
                f"A result could not be filed to Epic automatically: {problem} {TRIED_AGAIN}"
            )

    def state(self, detail: OrderDetail) -> tuple[bool, str]:
        """(whether "File to Epic" can be pressed, what to say about the order and Epic)."""
        files = [t for t in detail.ordered_tests if t.results_file is not None]
        if not files:
            return False, ""
        patient = detail.row.patient_id
        if patient is None or self._links.link_for(patient) is None:
            return False, NOT_LINKED
        states = [self._links.filing(t.id) for t in files]
        if all(s is not None and s.state == "filed" for s in states):
            return False, "The results are filed to the Epic chart."
        failed = next((s for s in states if s is not None and s.state == "failed"), None)
        if failed is not None:
            text = f"Filing to Epic did not work: {failed.problem or ''}".strip()
            return True, f"{text} {TRIED_AGAIN}" if self._automatic else text
        return True, "The results are not filed to the Epic chart yet."

    async def file(self, detail: OrderDetail) -> bool:
        """File the order's downloaded result PDFs that are not filed yet; True when all are."""
        try:
            return await self._run.run(self._file(detail))
        except Superseded:
            return False

    async def _file(self, detail: OrderDetail) -> bool:
        patient = detail.row.patient_id
        link = self._links.link_for(patient) if patient is not None else None
        if link is None:
            self._bridge.warning(NOT_LINKED)
            return False
        filed = 0
        for test_id, path in self._unfiled(detail):
            try:
                await self._file_one(detail, test_id, path, link)
                filed += 1
            except OSError as exc:
                log.warning("could not read a result PDF to file it: %s", type(exc).__name__)
                self._bridge.error(
                    f"The result file could not be read ({exc.strerror or exc}), so it was not "
                    "filed to Epic. Download the results again, then try again."
                )
            except (EpicError, StoreError) as exc:
                self._bridge.known_error(exc, not_done="The results were not filed to Epic.")
            finally:
                self.filing_changed.emit(detail.row.id)
        if filed:
            self._bridge.info("The results were filed to the patient's Epic chart.")
        return filed > 0

    def close(self) -> None:
        self._run.cancel()
        self.retry_timer.stop()
