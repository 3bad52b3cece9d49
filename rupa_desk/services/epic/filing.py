"""Filing a Rupa result PDF to the patient's Epic chart, never twice.

The rule of order intents, applied to DocumentReference: the Rupa ordered-test id travels as
the document's `identifier`, Epic is searched by it before anything is created, and a create
whose answer was lost (`EpicOutcomeUnknown`) is resolved by that search before it is sent
again. The local state (`EpicLinks`) is written as `filing` before the create goes out, so a
crash in between is resolved the same way on the next attempt.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from rupa_desk.services.epic.client import EpicClient, lab_report_document
from rupa_desk.services.epic.errors import EpicError, EpicOutcomeUnknown
from rupa_desk.services.store.epic_links import EpicLinks

log = logging.getLogger(__name__)

#: The identifier system of Rupa ordered-test ids on the documents Rupa Desk files.
ORDERED_TEST_SYSTEM: Final = "urn:rupa-desk:rupa-ordered-test"


@dataclass(frozen=True)
class Filed:
    """A result in the Epic chart.

    Attributes:
        document_id: the DocumentReference's id.
        already_there: it was found by its identifier (filed before), not created now.
    """

    document_id: str
    already_there: bool


class ResultFiling:
    """Files result PDFs to Epic charts, once each.

    One filing at a time: "File to Epic" and automatic filing may reach the same result
    together, and the second must find the document the first created.

    Args:
        client: the Epic client.
        links: where the filing state is kept (the account's database).
    """

    def __init__(self, client: EpicClient, links: EpicLinks) -> None:
        self._client = client
        self._links = links
        self._one_at_a_time = asyncio.Lock()

    async def file(
        self,
        *,
        ordered_test_id: str,
        epic_patient_id: str,
        title: str,
        pdf: bytes,
        when: datetime,
    ) -> Filed:
        """File one ordered test's result PDF to the Epic patient's chart.

        Raises:
            EpicError: it could not be filed now (the state says `failed`; try again later:
                the search by identifier keeps a retry from filing twice).
        """
        try:
            async with self._one_at_a_time:
                filed = await self._file(ordered_test_id, epic_patient_id, title, pdf, when)
        except EpicError as exc:
            self._links.record(ordered_test_id, epic_patient_id, "failed", problem=exc.user_message)
            raise
        self._links.record(ordered_test_id, epic_patient_id, "filed", document_id=filed.document_id)
        return filed

    async def _file(
        self, ordered_test_id: str, epic_patient_id: str, title: str, pdf: bytes, when: datetime
    ) -> Filed:
        found = await self._find(ordered_test_id)
        if found is not None:
            log.info("the result is in the Epic chart already; not filed again")
            return Filed(found, already_there=True)
        document = lab_report_document(
            patient_id=epic_patient_id,
            identifier_system=ORDERED_TEST_SYSTEM,
            identifier_value=ordered_test_id,
            title=title,
            pdf=pdf,
            when=when.isoformat(timespec="seconds"),
        )
        self._links.record(ordered_test_id, epic_patient_id, "filing")
        try:
            return Filed(await self._client.create_document(document), already_there=False)
        except EpicOutcomeUnknown:
            log.info("the answer to filing a result was lost; looking for it in Epic")
            found = await self._find(ordered_test_id)
            if found is not None:
                return Filed(found, already_there=False)
            # Epic has no such document: the create surely did not happen; send it once more.
            return Filed(await self._client.create_document(document), already_there=False)

    async def _find(self, ordered_test_id: str) -> str | None:
        found = await self._client.documents_with_identifier(ORDERED_TEST_SYSTEM, ordered_test_id)
        if len(found) > 1:
            log.warning("the result is filed %d times in the Epic chart", len(found))
        return found[0] if found else None
