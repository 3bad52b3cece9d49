"""Filing an order's result PDFs to the patient's Epic chart, from the order's detail.

`EpicFilingPresenter` says where an order stands with Epic (not linked to an Epic patient,
not filed, filed, failed) and files its downloaded result PDFs with `ResultFiling`, which
never files one twice.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from PySide6.QtCore import QObject, Signal

from rupa_desk.services.epic.errors import EpicError
from rupa_desk.services.epic.filing import ResultFiling
from rupa_desk.services.store import OrderDetail
from rupa_desk.services.store.epic_links import EpicLinks
from rupa_desk.services.store.errors import StoreError
from rupa_desk.ui.messages import MessageBridge
from rupa_desk.ui.tasks import LatestTask, Superseded

log = logging.getLogger(__name__)

NOT_LINKED = (
    "This patient is not linked to an Epic patient. Use Find in Epic on Patients, then "
    "Use for Rupa, to link her."
)


class EpicFilingPresenter(QObject):
    """The "File to Epic" of an order.

    Signals:
        filing_changed(str): the order (id) whose filing state changed.
    """

    filing_changed = Signal(str)

    def __init__(self, filing: ResultFiling, links: EpicLinks, bridge: MessageBridge) -> None:
        super().__init__()
        self._filing = filing
        self._links = links
        self._bridge = bridge
        self._run = LatestTask("epic-filing")

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
            return True, f"Filing to Epic did not work: {failed.problem or ''}".strip()
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
        when = detail.date_completed or datetime.now(UTC)
        filed = 0
        for test in detail.ordered_tests:
            path = test.results_file
            if path is None:
                continue
            try:
                pdf = await asyncio.to_thread(path.read_bytes)
                await self._filing.file(
                    ordered_test_id=test.id,
                    epic_patient_id=link.epic_patient_id,
                    title=path.name,
                    pdf=pdf,
                    when=when,
                )
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
